"""Your photo: find the faces, level and crop each to 48x48 gray, predict, and show where the model looked."""

import charts
import guards
import state
import uploads
import streamlit as st
import widgets

from fer_core.data.faces import mark_faces
from fer_core.vis import render

key = guards.require_model()

use_camera = st.toggle("Use the camera", key="photo_use_camera")
if use_camera:
    uploaded = st.camera_input("Take a photo", key="photo_camera")
else:
    uploaded = st.file_uploader(
        f"A photo (up to {uploads.upload_limit_bytes() // 2**20} MB)", type=widgets.UPLOAD_TYPES, key="photo_upload"
    )
gray = widgets.read_upload(uploaded, "your photo" if use_camera else "")
if gray is None:
    st.stop()

with st.spinner("Finding faces (MTCNN, upright and turned 30 degrees either way)…"):
    found = uploads.faces_in(gray)  # the same call as `fer predict PHOTO`
boxes = [box for box, _ in found if box is not None]
st.image(
    mark_faces(gray, boxes),
    caption=f"{len(boxes)} face(s) found",
    width=min(640, gray.shape[1]),
    output_format="PNG",
)
if not boxes:
    st.warning("No face found (the finder needs a face of 20 pixels or more, seen from the front or nearly).")
    if not st.checkbox("Use the whole image as the face", key="photo_whole"):
        st.stop()

method = st.selectbox(
    "Saliency method", state.SALIENCY_METHODS, index=3, format_func=state.METHOD_TITLES.get, key="photo_method"
)
alpha = st.slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="photo_alpha")
for number, (_, face) in enumerate(found, start=1):
    with st.spinner("Predicting…"):
        probabilities = state.probabilities_of(key, face[None])[0]
        saliency = state.saliency_maps(key, face[None], method)[0]
    st.subheader(f"Face {number}: {widgets.top3_caption(probabilities)}")
    left, middle, right = st.columns([1, 1, 2])
    left.image(render.upscale(face, 4), caption="as the model sees it", output_format="PNG")
    widgets.saliency_overlay(middle, face, saliency, method, alpha)
    right.plotly_chart(charts.probability_bars(probabilities), key=f"photo_bars_{number}")
