"""Confusion matrix: click a cell to see that (true, predicted) pair's faces and where the model looked."""

import charts
import numpy as np
import pandas as pd
import guards
import state
import streamlit as st
import widgets

from fer_core.evaluation.compare import change_sentences, confusion_change
from fer_core.evaluation.confusion import confused_pairs, confusion_matrix, confusion_sentences
from fer_core.evaluation.label_noise import annotator_confusion, shared_confusion_sentences
from fer_core.labels import EMOTIONS
from fer_core.evaluation.misclassified import confusion_pair
from fer_core.vis import render

split = guards.require_data()
key = guards.require_model()
source = state.data_source()

frame = state.predictions_frame(key, source)
matrix = confusion_matrix(frame["true"].to_numpy(), frame["predicted"].to_numpy())
st.markdown("; ".join(confusion_sentences(matrix)) or "No confusions: every face is right.")
widgets.csv_download(
    pd.DataFrame(matrix, index=pd.Index(EMOTIONS, name="true"), columns=EMOTIONS).reset_index(),
    "confusion-matrix.csv", "cm_matrix_csv",
)

normalized = st.toggle("Row-normalized (fraction of each true class)", value=True, key="cm_normalized")
other = guards.compared_model()
voted = widgets.votes_shown(split)
here, there = st.columns(2) if other is not None or voted else (st.container(), None)
event = here.plotly_chart(
    charts.confusion_heatmap(matrix, normalized, state.model_label(key) if other is not None else ""),
    key="cm_chart",
    on_select="rerun",
    selection_mode="points",
)
if other is not None:
    other_frame = state.predictions_frame(other, source)
    other_matrix = confusion_matrix(other_frame["true"].to_numpy(), other_frame["predicted"].to_numpy())
    there.plotly_chart(
        charts.confusion_heatmap(other_matrix, normalized, state.model_label(other), clickable=False),
        key="cm_other_chart",
    )
    points, gain = confusion_change(matrix, other_matrix)
    st.subheader(f"{state.model_label(other)} against {state.model_label(key)}")
    accuracy, other_accuracy = np.trace(matrix) / matrix.sum(), np.trace(other_matrix) / other_matrix.sum()
    st.caption(
        f"PublicTest accuracy {accuracy:.1%} → {other_accuracy:.1%} ({100 * (other_accuracy - accuracy):+.1f} "
        "points). Each cell: the second model's share of the true class minus the first's, in points; green "
        "where it got better (more right on the diagonal, fewer mistakes elsewhere), red where worse."
    )
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.change_heatmap(points, gain), key="cm_change")
    right.markdown("\n".join(f"- {line}" for line in change_sentences(matrix, other_matrix)) or "No cell moved.")
    changes = pd.DataFrame(points, index=pd.Index(EMOTIONS, name="true"), columns=EMOTIONS).reset_index()
    widgets.csv_download(changes.round(2), "confusion-change.csv", "cm_change_csv", right)
if voted and other is None:
    annotators = annotator_confusion(split.labels, split.votes)
    picked = there.plotly_chart(
        charts.confusion_heatmap(annotators, normalized, "FER+'s annotators", columns="FER+ majority"),
        key="cm_ann_chart", on_select="rerun", selection_mode="points",
    )
    here.caption(f"{state.model_label(key)}: FER2013 label (rows) against the model's class (columns).")
    there.caption(f"The ten annotators' majority (columns) against the FER2013 label (rows), "
                  f"{annotators.sum():,} faces with a majority.")
    st.markdown("\n".join(f"- {s}" for s in shared_confusion_sentences(confused_pairs(matrix, 3), annotators)))
    cells = picked.selection.points if picked else []
    if cells:
        label, majority = EMOTIONS.index(cells[0]["y"]), EMOTIONS.index(cells[0]["x"])
        faces = (split.labels == label) & (frame["ferplus"].to_numpy() == majority)
        rows = frame.index[faces][:40]
        st.subheader(f"Labeled {EMOTIONS[label]}, the annotators say {EMOTIONS[majority]}: {faces.sum():,} faces")
        if len(rows):
            widgets.figure(
                render.grid(np.stack([render.upscale(split.images[r], 2) for r in rows]), columns=10, pad=2),
                "first 40 in PublicTest order", f"{EMOTIONS[label]}-says-{EMOTIONS[majority]}.png", "cm_ann_png",
            )
points = event.selection.points if event else []
if points and (points[0]["y"], points[0]["x"]) != st.session_state.get("cm_clicked"):
    st.session_state["cm_clicked"] = (points[0]["y"], points[0]["x"])
    st.session_state["cm_true"], st.session_state["cm_predicted"] = points[0]["y"], points[0]["x"]

worst = (confused_pairs(matrix, 1) or [(EMOTIONS.index("fear"), EMOTIONS.index("sad"))])[0]
st.session_state.setdefault("cm_true", EMOTIONS[worst[0]])
st.session_state.setdefault("cm_predicted", EMOTIONS[worst[1]])
left, right = st.columns(2)
true = left.selectbox("True class", EMOTIONS, key="cm_true")
predicted = right.selectbox("Predicted class", EMOTIONS, key="cm_predicted")
pair = confusion_pair(frame, true, predicted)
st.subheader(f"True {true}, predicted {predicted}: {len(pair):,} faces")
if len(pair):
    shown = pair.sort_values("confidence", ascending=False).head(40)
    widgets.figure(
        render.grid(np.stack([render.upscale(split.images[r], 2) for r in shown.index]), columns=10, pad=2),
        "most confident first (up to 40)",
        f"{true}-as-{predicted}.png",
        "cm_faces_png",
    )

st.subheader("Where the model looks")
method = st.selectbox(
    "Saliency method", state.SALIENCY_METHODS, index=3, format_func=state.METHOD_TITLES.get, key="cm_method"
)
correct = confusion_pair(frame, true, true)
if len(pair) and len(correct) and true != predicted:
    with st.spinner("Averaging saliency maps…"):
        mean_pair = state.average_saliency(key, split.images[pair.index[:32]], method)
        mean_correct = state.average_saliency(key, split.images[correct.index[:32]], method)
    maps = {
        f"{true} read as {predicted}": render.colorize(mean_pair, "inferno", 0, 1),
        f"{true} read correctly": render.colorize(mean_correct, "inferno", 0, 1),
        "difference (red: looked at more when wrong)": render.colorize_signed(mean_pair - mean_correct),
    }
    for number, (column, (caption, image)) in enumerate(zip(st.columns(3), maps.items())):
        widgets.figure(render.upscale(image, 4), caption, f"{caption.split(' (')[0].replace(' ', '-')}.png",
                       f"cm_saliency_png_{number}", column)
    st.caption("Mean of each face's map scaled to 0..1, over up to 32 faces per set, each for its predicted class.")
else:
    st.caption("Pick an off-diagonal cell with faces (and a class with correct faces) to compare saliency.")
