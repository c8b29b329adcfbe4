"""Misclassified: the faces the model gets wrong, filtered, sorted and paged; open one for its saliency and feature maps."""

import math

import guards
import state
import streamlit as st
import widgets

from fer_core.evaluation.compare import WHO_IS_RIGHT, disagreements, wrong_models_side
from fer_core.evaluation.label_noise import SIDES, side_counts
from fer_core.labels import EMOTIONS
from fer_core.evaluation.misclassified import sort_samples
from fer_core.vis import render

PER_PAGE = 24
COLUMNS = 6
SORTS = {
    "confidence": "confidence",
    "margin": "margin",
    "true_probability": "true-class probability",
    "label_issue": "likely label error (cleanlab)",
    "id": "id",
}
SIDE_TITLES = {"any": "anyone", "model": "the model", "label": "the label", "split": "neither (split)"}

split = guards.require_data()
key = guards.require_model()


def first_page():
    st.session_state["mis_page"] = 1


def turn_page(step: int):
    st.session_state["mis_page"] = st.session_state.get("mis_page", 1) + step


def open_face(row: int):
    st.session_state["mis_selected"] = row


def verdict(name: str, sample) -> str:
    """``tiny-a: happy 80% ✓``: one model's prediction of a face and whether it is right."""
    mark = "✓" if sample.predicted == sample.true else "✗"
    return f"{name}: {sample.predicted_emotion} {sample.confidence:.0%} {mark}"


frame = state.predictions_frame(key, state.data_source())
wrong = frame[frame["true"] != frame["predicted"]]
other = guards.compared_model()
mode = "misclassified"
if other is not None:
    first_name, second_name = state.model_label(key), state.model_label(other)
    other_frame = state.predictions_frame(other, state.data_source())
    mode = st.radio(
        "Faces", ["misclassified", "disagreements"], horizontal=True, key="mis_mode", on_change=first_page,
        format_func={"misclassified": f"misclassified by {first_name}",
                     "disagreements": "disagreements: one model right, the other wrong"}.get,
    )
if mode == "disagreements":
    right_one = st.radio(
        "Right", WHO_IS_RIGHT, horizontal=True, key="mis_right", on_change=first_page,
        format_func={"either": "either", "first": f"only {first_name}", "second": f"only {second_name}"}.get,
    )
    rows = disagreements(frame["true"], frame["predicted"], other_frame["predicted"], right_one)
    wrong = frame.iloc[rows]
    if "side" in wrong:
        wrong = wrong.assign(side=wrong_models_side(wrong["true"], wrong["predicted"], wrong["side"],
                                                    other_frame["side"].iloc[rows]))
left, middle, right = st.columns(3)
trues = left.multiselect("True class", EMOTIONS, key="mis_true", on_change=first_page, placeholder="all")
predicteds = middle.multiselect(
    "Predicted class" if other is None else f"Predicted by {first_name}",
    EMOTIONS,
    key="mis_predicted",
    on_change=first_page,
    placeholder="all",
)
low, high = right.slider("Confidence", 0.0, 1.0, (0.0, 1.0), 0.05, key="mis_confidence", on_change=first_page)
order_by = left.selectbox("Sort by", list(SORTS), format_func=SORTS.get, key="mis_sort", on_change=first_page)
descending = middle.toggle("Highest first", value=True, key="mis_descending", on_change=first_page)
voted = widgets.votes_shown(split)
total, side = len(wrong), "any"  # the rate below is of all the mode's faces, whichever side is picked
if voted:
    counts = side_counts(wrong["side"])
    side = right.radio(
        "FER+'s ten annotators side with", ["any", *SIDES], horizontal=True, key="mis_side", on_change=first_page,
        format_func=lambda s: SIDE_TITLES[s] + (f" ({counts[s]:,})" if s in counts else ""),
        help="the model: more votes for the predicted class than for the FER2013 label; the label: the reverse",
    )
    wrong = wrong if side == "any" else wrong[wrong["side"] == side]
if order_by == "label_issue":
    wrong = wrong.assign(label_issue=state.label_issue_scores(key, state.data_source())[wrong.index])

shown = wrong[wrong["confidence"].between(low, high)]
shown = shown[shown["true_emotion"].isin(trues or EMOTIONS) & shown["predicted_emotion"].isin(predicteds or EMOTIONS)]
shown = sort_samples(shown, order_by, descending)
pages = max(1, math.ceil(len(shown) / PER_PAGE))
st.session_state["mis_page"] = min(max(1, st.session_state.get("mis_page", 1)), pages)
page = st.session_state["mis_page"]
noun = "misclassified faces" if mode == "misclassified" else "disagreements"
of_all = f"{total / max(1, len(frame)):.1%} of {len(frame):,}"
if side != "any":
    noun, of_all = f"{noun} where the annotators side with {SIDE_TITLES[side]}", f"of {total:,}: {of_all}"
right.caption(f"{len(shown):,} of {len(wrong):,} {noun} ({of_all}) · page {page} of {pages}")

listed = shown.drop(columns=["top1", "top2", "top3"])
if mode == "disagreements":
    listed = listed.join(other_frame[["predicted_emotion", "confidence"]].add_prefix("second_"))
widgets.csv_download(listed, f"{mode}.csv", "mis_csv", right)

previous, counter, following = st.columns([1, 4, 1])
previous.button("◀ Previous", key="mis_previous", on_click=turn_page, args=(-1,), disabled=page <= 1)
counter.markdown(f"<div style='text-align:center'>Page {page} of {pages}</div>", unsafe_allow_html=True)
following.button("Next ▶", key="mis_next", on_click=turn_page, args=(1,), disabled=page >= pages)

tiles = shown.iloc[(page - 1) * PER_PAGE : page * PER_PAGE]
for start in range(0, len(tiles), COLUMNS):
    for column, (row, sample) in zip(st.columns(COLUMNS), tiles.iloc[start : start + COLUMNS].iterrows()):
        column.image(render.upscale(split.images[row], 3), output_format="PNG")
        if mode == "disagreements":
            column.caption(f"**true {sample.true_emotion}**  \n{verdict(first_name, sample)}  \n"
                           f"{verdict(second_name, other_frame.loc[row])}")
        else:
            votes = f"  \nFER+: {sample.votes_text}" if voted else ""
            column.caption(f"**{sample.true_emotion} → {sample.predicted_emotion}** {sample.confidence:.0%}  \n"
                           f"{sample.top3_text}{votes}")
        column.button("Details", key=f"mis_open_{row}", on_click=open_face, args=(row,))

row = st.session_state.get("mis_selected")
if row is not None and row in frame.index:
    sample = frame.loc[row]
    st.divider()
    st.subheader(f"PublicTest #{sample.id}: true {sample.true_emotion}, predicted {sample.predicted_emotion}")
    face = split.images[row]
    left, right = st.columns([1, 4])
    with left:
        widgets.show_face(face, sample.top3_text + (f" · FER+ votes: {sample.votes_text}" if voted else ""))
    with right:
        alpha = st.slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="mis_alpha")
        if other is not None:
            st.caption(verdict(first_name, sample))
        widgets.saliency_overlays(key, face, None, alpha, factor=3)
        if other is not None:
            st.caption(verdict(second_name, other_frame.loc[row]))
            widgets.saliency_overlays(other, face, None, alpha, factor=3)
    layers = state.conv_layers(key)
    layer = st.selectbox("Feature maps of layer", layers, index=len(layers) // 2, key="mis_layer")
    with st.spinner("Computing feature maps…"):
        maps = state.feature_maps(key, face, layer)
    widgets.figure(
        render.feature_map_grid(maps[..., :64], factor=max(1, 96 // maps.shape[0]), cmap="viridis"),
        f"{layer}: first {min(64, maps.shape[-1])} of {maps.shape[-1]} channels",
        f"{sample.id}-{layer}.png",
        "mis_maps_png",
    )
