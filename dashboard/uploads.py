"""Photos a user uploads: size-checked, decoded to gray, their faces found, leveled and cropped, cached per
upload (the same calls as ``fer predict PHOTO``)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from fer_core.data import faces
from fer_core.data.faces import read_photo
from fer_core.data.images import ImageError


def upload_limit_bytes() -> int:
    return int(st.get_option("server.maxUploadSize")) * 1024 * 1024


@st.cache_data(show_spinner=False, max_entries=32)
def decode_upload(data: bytes, name: str) -> np.ndarray:
    """An uploaded image as ``uint8 (H, W)`` gray, at most 1024 px on its long side
    (:func:`fer_core.data.faces.read_photo`).

    Raises:
        ImageError: one line for a file over the upload limit, not an image,
            corrupt, or a decompression bomb (see ``fer_core.data.images``).
    """
    if len(data) > upload_limit_bytes():
        raise ImageError(
            f"{name}: {len(data) / 2**20:.1f} MB is over the {upload_limit_bytes() // 2**20} MB upload limit"
        )
    return read_photo(data, name)


@st.cache_data(show_spinner=False, max_entries=32)
def faces_in(gray: np.ndarray) -> list[tuple[tuple[int, int, int, int] | None, np.ndarray]]:
    """Every face of a ``uint8 (H, W)`` photo as ``(box, uint8 (48, 48) eyes-level crop)``, or
    ``[(None, whole photo)]`` (:func:`fer_core.data.faces.faces_in`, as ``fer predict`` does)."""
    return faces.faces_in(gray)
