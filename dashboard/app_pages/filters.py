"""Filters: every filter of a conv layer by gradient ascent; one filter up close, its stability and its faces."""

import math
from pathlib import Path

import catalog
import charts
import numpy as np
import guards
import state
import streamlit as st
import widgets

from fer_core.evaluation.compare import matching_layer
from fer_core.vis import render

PER_PAGE = catalog.FILTERS_PER_PAGE
GRID_PAD = 2  # pixels between the grid's tiles

key = guards.require_model()
st.caption(
    "Each image is the input that maximizes one filter's mean activation (gradient ascent with a Fourier "
    "parameterization and small random transforms; Olah et al. 2017). Computed once per model and cached."
)

layers = state.conv_layers(key)
layer = st.selectbox("Conv layer", layers, index=catalog.report_layer(layers), key="flt_layer")

count = state.channel_count(key, layer)
pages = math.ceil(count / PER_PAGE)
page = st.number_input(f"Filters page (of {pages})", 1, pages, 1, key="flt_page") if pages > 1 else 1
first, last = (page - 1) * PER_PAGE, min(page * PER_PAGE, count)


def layer_grid(
    model: state.ModelKey, layer: str, first: int, last: int, count: int, name: str = "", pick: bool = False
) -> None:
    """Filters ``first..last-1`` of ``layer`` in ``model`` (of ``count``), computed with a progress bar if new;
    with ``pick``, a click on a filter shows it up close below."""
    if state.filter_images_cached(model, layer, first, last):
        images = state.filter_images(model, layer, first, last)
    else:
        bar = st.progress(0.0, text=f"Gradient ascent on filters {first}–{last - 1} of {layer}{name}…")
        images = state.filter_images(model, layer, first, last, lambda done: bar.progress(done, text=f"{done:.0%}"))
        bar.empty()
    some = f"filters {first}–{last - 1} of {count}" if first or last < count else f"all {count} filters"
    columns, title = min(len(images), 16), f"{layer}{name}: {some}"
    picture = render.filter_grid(images, columns=columns, factor=2, pad=GRID_PAD)
    file_name, button = f"{Path(model.path).parent.name}-{layer}-{first}-{last}.png", f"flt_grid_png_{model.path}"
    if not pick:
        widgets.figure(picture, title, file_name, button)
        return
    tile = 2 * images.shape[1]  # pixels of one enlarged filter image; tiles are GRID_PAD apart
    corners = [(GRID_PAD + (tile + GRID_PAD) * (i % columns), GRID_PAD + (tile + GRID_PAD) * (i // columns))
               for i in range(len(images))]
    centres = [(x + tile / 2, y + tile / 2) for x, y in corners]
    figure = charts.image_picker(widgets.data_uri(picture), (picture.shape[1], picture.shape[0]), centres,
                                 [f"filter {first + i}" for i in range(len(images))], f"{title} · click one")
    event = st.plotly_chart(figure, key="flt_picker", on_select="rerun", selection_mode="points")
    points = event.selection.points if event else []
    clicked = (layer, first, points[0]["point_index"]) if points and points[0].get("curve_number") == 1 else None
    if clicked is not None and clicked != st.session_state.get("flt_clicked"):
        st.session_state["flt_clicked"] = clicked
        st.session_state["flt_index"] = first + clicked[2]
    widgets.png_download(picture, file_name, button)


other = guards.compared_model()
name, other_name = (f" of {state.model_label(key)}", f" of {state.model_label(other)}") if other else ("", "")
layer_grid(key, layer, first, last, count, name, pick=True)
if other is not None:
    other_layers = state.conv_layers(other)
    twin = matching_layer(layer, other_layers)  # the same name, or the same under an ensemble member's prefix
    if twin is None:
        shared = [name for name in layers if matching_layer(name, other_layers)]
        st.info(
            f"{state.model_label(other)} has no layer named `{layer}`. "
            + (f"Layers both models have: {', '.join(f'`{n}`' for n in shared)}." if shared else "The two models "
               "share no conv layer name.")
        )
    elif first >= (other_count := state.channel_count(other, twin)):
        st.caption(f"{twin}{other_name} has only {other_count} filters.")
    else:
        layer_grid(other, twin, first, min(last, other_count), other_count, other_name)

st.session_state["flt_index"] = min(st.session_state.get("flt_index", first), count - 1)  # a click sets it too
index = st.number_input("Filter", 0, count - 1, key="flt_index")
with st.spinner("Ascending from three seeds…"):
    large = state.filter_images(key, layer, int(index), int(index) + 1)[0]
    seeds, score = state.filter_seeds(key, layer, int(index))
left, right = st.columns([1, 2])
widgets.figure(render.upscale(large, 6), f"{layer} filter {index}", f"{layer}-{index}.png", "flt_large_png", left)
widgets.figure(render.filter_grid(seeds, columns=len(seeds), factor=3), "seeds 0, 1, 2", f"{layer}-{index}-seeds.png",
               "flt_seeds_png", right)
right.metric("Stability (mean correlation across seeds at the best shift, -1..1)", f"{score:.2f}")

split = state.evaluation_split()
if split is None:
    st.info(
        "With FER2013 (`FER_DATA`) this page also shows the faces that activate the filter most "
        "and its mean activation per emotion."
    )
    st.stop()
with st.spinner(f"Running every PublicTest face through {layer}…"):
    dossier = state.filter_dossier(key, layer, state.data_source())
top = dossier["top_indices"][index]
st.subheader("Faces that activate it most")
widgets.figure(
    render.grid(np.stack([render.upscale(split.images[i], 2) for i in top]), columns=len(top), pad=2),
    "",
    f"{layer}-{index}-top-faces.png",
    "flt_top_png",
)
st.plotly_chart(
    charts.per_emotion_bars(dossier["per_emotion"][index], "Mean activation per true emotion"), key="flt_emotions"
)
