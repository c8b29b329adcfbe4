"""Filters: every filter of a conv layer by gradient ascent; one filter up close, its stability and its faces."""

import math

import charts
import numpy as np
import state
import streamlit as st

from fer_core.vis import render

PER_PAGE = 64

key = state.require_model()
st.title("Filters")
st.caption(
    "Each image is the input that maximizes one filter's mean activation (gradient ascent with a Fourier "
    "parameterization and small random transforms; Olah et al. 2017). Computed once per model and cached."
)

layers = state.conv_layers(key)
layer = st.selectbox("Conv layer", layers, index=None, placeholder="pick a layer", key="flt_layer")
if layer is None:
    st.stop()

count = state.channel_count(key, layer)
pages = math.ceil(count / PER_PAGE)
page = st.number_input(f"Filters page (of {pages})", 1, pages, 1, key="flt_page") if pages > 1 else 1
first, last = (page - 1) * PER_PAGE, min(page * PER_PAGE, count)
if state.filter_images_cached(key, layer, first, last):
    images = state.filter_images(key, layer, first, last)
else:
    bar = st.progress(0.0, text=f"Gradient ascent on filters {first}–{last - 1} of {layer}…")
    images = state.filter_images(key, layer, first, last, lambda done: bar.progress(done, text=f"{done:.0%}"))
    bar.empty()
st.image(
    render.filter_grid(images, columns=min(len(images), 16), factor=2),
    output_format="PNG",
    caption=f"{layer}: filters {first}–{last - 1} of {count}" if pages > 1 else f"{layer}: all {count} filters",
)

index = st.number_input("Filter", 0, count - 1, first, key="flt_index")
with st.spinner("Ascending from three seeds…"):
    large = state.filter_images(key, layer, int(index), int(index) + 1)[0]
    seeds, score = state.filter_seeds(key, layer, int(index))
left, right = st.columns([1, 2])
left.image(render.upscale(large, 6), caption=f"{layer} filter {index}", output_format="PNG")
right.image(render.filter_grid(seeds, columns=len(seeds), factor=3), caption="seeds 0, 1, 2", output_format="PNG")
right.metric("Stability (mean correlation across seeds, -1..1)", f"{score:.2f}")

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
st.image(
    render.grid(np.stack([render.upscale(split.images[i], 2) for i in top]), columns=len(top), pad=2),
    output_format="PNG",
)
st.plotly_chart(
    charts.per_emotion_bars(dossier["per_emotion"][index], "Mean activation per true emotion"), key="flt_emotions"
)
