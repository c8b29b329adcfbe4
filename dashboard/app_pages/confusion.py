"""Confusion matrix: click a cell to see that (true, predicted) pair's faces and where the model looked."""

import charts
import numpy as np
import state
import streamlit as st

from fer_core.evaluate import confused_pairs, confusion_matrix, confusion_sentences
from fer_core.labels import EMOTIONS
from fer_core.misclassified import confusion_pair
from fer_core.vis import render

split = state.require_data()
key = state.require_model()
source = state.data_source()
st.title("Confusion matrix")

frame = state.predictions_frame(key, source)
matrix = confusion_matrix(frame["true"].to_numpy(), frame["predicted"].to_numpy())
st.markdown("; ".join(confusion_sentences(matrix)) or "No confusions: every face is right.")

normalized = st.toggle("Row-normalized (fraction of each true class)", value=True, key="cm_normalized")
event = st.plotly_chart(
    charts.confusion_heatmap(matrix, normalized), key="cm_chart", on_select="rerun", selection_mode="points"
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
    st.image(
        render.grid(np.stack([render.upscale(split.images[r], 2) for r in shown.index]), columns=10, pad=2),
        caption="most confident first (up to 40)",
        output_format="PNG",
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
    columns = st.columns(3)
    columns[0].image(
        render.upscale(render.colorize(mean_pair, "inferno", 0, 1), 4),
        caption=f"{true} read as {predicted}",
        output_format="PNG",
    )
    columns[1].image(
        render.upscale(render.colorize(mean_correct, "inferno", 0, 1), 4),
        caption=f"{true} read correctly",
        output_format="PNG",
    )
    columns[2].image(
        render.upscale(render.colorize_signed(mean_pair - mean_correct), 4),
        caption="difference (red: looked at more when wrong)",
        output_format="PNG",
    )
    st.caption("Mean of each face's map scaled to 0..1, over up to 32 faces per set, each for its predicted class.")
else:
    st.caption("Pick an off-diagonal cell with faces (and a class with correct faces) to compare saliency.")
