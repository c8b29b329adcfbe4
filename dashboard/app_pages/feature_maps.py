"""Feature maps: a face and a layer -> the grid of that layer's outputs."""

import guards
import state
import streamlit as st
import widgets

from fer_core.vis import render

split = guards.require_data()
key = guards.require_model()

face, caption = widgets.pick_dataset_face(split, "fm")
layers = state.conv_layers(key)
layer = st.selectbox("Layer", layers, key="fm_layer")
colormap = st.selectbox("Colours", ["viridis", "inferno", "gray"], key="fm_cmap")

with st.spinner(f"Running the model up to {layer}…"):
    maps = state.feature_maps(key, face, layer)
left, right = st.columns([1, 5])
with left:
    widgets.show_face(face, caption)
with right:
    factor = max(1, 96 // maps.shape[0])
    widgets.figure(
        render.feature_map_grid(maps, factor=factor, cmap=None if colormap == "gray" else colormap),
        f"{layer}: {maps.shape[-1]} channels of {maps.shape[0]}x{maps.shape[1]}, each scaled on its own",
        f"feature-maps-{layer}.png",
        "fm_grid_png",
    )
