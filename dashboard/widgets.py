"""Small UI pieces several pages share: a face picker, upload reading, a row of saliency overlays.

Widgets only; computing goes through :mod:`state`.
"""

from __future__ import annotations

import numpy as np
import state
import streamlit as st

from fer_core.data import Split
from fer_core.images import IMAGE_SUFFIXES, ImageError
from fer_core.labels import EMOTIONS
from fer_core.vis import render

UPLOAD_TYPES = [suffix.lstrip(".") for suffix in IMAGE_SUFFIXES]


def show_face(face: np.ndarray, caption: str = "", factor: int = 4) -> None:
    """A 48x48 face enlarged without blur."""
    st.image(render.upscale(face, factor), caption=caption or None, output_format="PNG")


def pick_dataset_face(split: Split, prefix: str) -> tuple[np.ndarray, str]:
    """Class and index widgets over PublicTest: ``(uint8 (48, 48) face, caption)``."""
    left, right = st.columns(2)
    emotion = left.selectbox("True class", EMOTIONS, key=f"{prefix}_class")
    rows = np.flatnonzero(split.labels == EMOTIONS.index(emotion))
    if len(rows) == 0:
        st.warning(f"No {emotion} face in this split.")
        st.stop()
    index = right.number_input(f"Index among {len(rows):,} {emotion} faces", 0, len(rows) - 1, 0, key=f"{prefix}_index")
    row = int(rows[int(index)])
    return split.images[row], f"PublicTest #{int(split.ids[row])} · true {emotion}"


def read_upload(uploaded, name: str = "") -> np.ndarray | None:
    """An uploaded file as ``uint8 (H, W)`` gray; on a bad file one ``st.error`` line and ``None``."""
    if uploaded is None:
        return None
    try:
        return state.decode_upload(uploaded.getvalue(), name or uploaded.name or "uploaded image")
    except ImageError as exc:
        st.error(f"Cannot use this file. {exc}")
        return None


def pick_uploaded_face(prefix: str) -> tuple[np.ndarray, str] | None:
    """An upload widget whose image is resized whole to 48x48 gray (no face detection)."""
    uploaded = st.file_uploader("An image of one face", type=UPLOAD_TYPES, key=f"{prefix}_upload")
    gray = read_upload(uploaded)
    return None if gray is None else (state.crop_face(gray), uploaded.name)


def target_picker(prefix: str) -> int | None:
    """Which class to explain: ``None`` for the predicted one, else its index."""
    choice = st.selectbox("Explain the score of", ["predicted class", *EMOTIONS], key=f"{prefix}_target")
    return None if choice == "predicted class" else EMOTIONS.index(choice)


def saliency_overlays(key: state.ModelKey, face: np.ndarray, target: int | None, alpha: float, factor: int = 4) -> None:
    """Every saliency method's map over the face, side by side."""
    with st.spinner("Computing saliency maps…"):
        maps = state.all_saliency(key, face, target)
    for column, (method, saliency) in zip(st.columns(len(maps)), maps.items()):
        column.image(
            render.overlay(face, saliency, alpha=alpha, factor=factor),
            caption=state.METHOD_TITLES[method],
            output_format="PNG",
        )


def number_table(frame, key: str, columns: tuple[str, ...], fmt: str = "%.3f") -> None:
    """A full-width table without index, ``columns`` shown as numbers in ``fmt``."""
    config = {c: st.column_config.NumberColumn(format=fmt) for c in columns}
    st.dataframe(frame, hide_index=True, width="stretch", key=key, column_config=config)


def top3_caption(probabilities: np.ndarray) -> str:
    order = np.argsort(-probabilities)[:3]
    return " · ".join(f"{EMOTIONS[c]} {probabilities[c]:.0%}" for c in order)
