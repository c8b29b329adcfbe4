"""Small UI pieces several pages share: a face picker, upload reading, a row of saliency overlays.

Widgets only; computing goes through :mod:`state`.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pandas as pd
import state
import uploads
import streamlit as st
from PIL import Image

from fer_core.data.splits import Split
from fer_core.evaluation.scores import top_k_text
from fer_core.data.faces import crop_face
from fer_core.data.images import IMAGE_SUFFIXES, ImageError
from fer_core.evaluation.label_noise import votes_text
from fer_core.labels import EMOTIONS
from fer_core.vis import render

UPLOAD_TYPES = [suffix.lstrip(".") for suffix in IMAGE_SUFFIXES]
VOTES_HELP = (
    "FER+'s ten annotators' votes on every face appear here when `fer2013new.csv` (Microsoft's FER+, MIT "
    "License) lies beside the FER2013 CSV, or `FER_PLUS` names it; it needs the Kaggle `fer2013.csv`, "
    "whose row order aligns faces and votes."
)


def votes_shown(split: Split) -> bool:
    """Whether ``split`` carries FER+ votes; without them, one caption says where the file goes."""
    if split.votes is not None:
        return True
    st.caption(VOTES_HELP)
    return False


def png_bytes(image: np.ndarray) -> bytes:
    """A ``uint8 (H, W)`` gray or ``(H, W, 3)`` RGB image as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def data_uri(image: np.ndarray) -> str:
    """A ``uint8`` image as a ``data:image/png;base64,...`` URI (for a Plotly image)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def png_download(image: np.ndarray, file_name: str, key: str, where=st) -> None:
    """A button that downloads ``image`` as ``file_name`` (encoded only when clicked; no rerun)."""
    where.download_button(
        "PNG", lambda: png_bytes(image), file_name, "image/png", key=key, on_click="ignore",
        icon=":material/download:", help=f"Download this figure as {file_name}",
    )


def csv_download(frame: pd.DataFrame, file_name: str, key: str, where=st) -> None:
    """A button that downloads ``frame`` (without its index) as ``file_name`` (written only when clicked)."""
    where.download_button(
        "CSV", lambda: frame.to_csv(index=False), file_name, "text/csv", key=key, on_click="ignore",
        icon=":material/download:", help=f"Download this table as {file_name}",
    )


def figure(image: np.ndarray, caption: str, file_name: str, key: str, where=st) -> None:
    """``st.image`` of a ``uint8`` image, its caption, and a PNG download button under it."""
    where.image(image, caption=caption or None, output_format="PNG")
    png_download(image, file_name, key, where)


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
    votes = f" · FER+ votes: {votes_text(split.votes[row])}" if split.votes is not None else ""
    return split.images[row], f"PublicTest #{int(split.ids[row])} · true {emotion}{votes}"


def read_upload(uploaded, name: str = "") -> np.ndarray | None:
    """An uploaded file as ``uint8 (H, W)`` gray; on a bad file one ``st.error`` line and ``None``."""
    if uploaded is None:
        return None
    try:
        return uploads.decode_upload(uploaded.getvalue(), name or uploaded.name or "uploaded image")
    except ImageError as exc:
        st.error(f"Cannot use this file. {exc}")
        return None


def pick_uploaded_face(prefix: str) -> tuple[np.ndarray, str] | None:
    """An upload widget whose image is resized whole to 48x48 gray (no face detection)."""
    uploaded = st.file_uploader("An image of one face", type=UPLOAD_TYPES, key=f"{prefix}_upload")
    gray = read_upload(uploaded)
    return None if gray is None else (crop_face(gray), uploaded.name)


def target_picker(prefix: str) -> int | None:
    """Which class to explain: ``None`` for the predicted one, else its index."""
    choice = st.selectbox("Explain the score of", ["predicted class", *EMOTIONS], key=f"{prefix}_target")
    return None if choice == "predicted class" else EMOTIONS.index(choice)


def saliency_overlay(where, face: np.ndarray, saliency: np.ndarray, method: str, alpha: float, factor: int = 4):
    """One method's map over the face, titled; in words instead where the map is flat (nothing to draw).

    Returns the ``uint8`` tile shown, or the plain face for a flat map (for downloads).
    """
    title = state.METHOD_TITLES[method]
    if render.flat(saliency):
        where.caption(f"**{title}**: no map for this face (the method gives every pixel the same value)")
        return render.upscale(render.gray_to_rgb(face), factor)
    image = render.overlay(face, saliency, alpha=alpha, factor=factor)
    where.image(image, caption=title, output_format="PNG")
    return image


def saliency_overlays(key: state.ModelKey, face: np.ndarray, target: int | None, alpha: float, factor: int = 4) -> None:
    """Every saliency method's map over the face, side by side."""
    with st.spinner(f"Computing saliency maps of {state.model_label(key)}…"):
        maps = state.all_saliency(key, face, target)
    overlays = {method: saliency_overlay(column, face, saliency, method, alpha, factor)
                for column, (method, saliency) in zip(st.columns(len(maps)), maps.items())}
    name = Path(key.path).parent.name
    png_download(render.grid(np.stack(list(overlays.values())), columns=len(overlays), pad=4),
                 f"saliency-{name}.png", f"saliency_png_{key.path}")


def number_table(frame, key: str, columns: tuple[str, ...], fmt: str = "%.3f") -> None:
    """A full-width table without index, ``columns`` shown as numbers in ``fmt``."""
    config = {c: st.column_config.NumberColumn(format=fmt) for c in columns}
    st.dataframe(frame, hide_index=True, width="stretch", key=key, column_config=config)
    csv_download(frame, f"{key}.csv", f"{key}_csv")


def top3_caption(probabilities: np.ndarray) -> str:
    """``"happy 71% · neutral 12% · sad 9%"`` for one face's ``float (7,)`` probabilities."""
    return top_k_text(probabilities[None], 3, " · ")[0]
