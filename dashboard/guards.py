"""What a page needs before it draws: a usable model, the data. Without one, a box says why and the page stops
(``st.stop``); a compared model that cannot be used only gets a warning."""

from __future__ import annotations

from pathlib import Path

import state
import streamlit as st

from fer_core.data.splits import Split
from fer_core.paths import data_from_env

DATA_HELP = (
    "**No FER2013 data.** This page needs the FER2013 faces. Get `fer2013.csv` from the Kaggle "
    "*Challenges in Representation Learning: Facial Expression Recognition* competition, then start the "
    "dashboard with `FER_DATA=/path/to/fer2013.csv` (or a folder holding it). The Model, Filters, "
    "Your photo and Compare runs pages work without it."
)


def require_model_file() -> state.ModelKey:
    """The selected model's file, not loaded yet; otherwise one info box and stop the page."""
    key = state.selected_model()
    if key is None:
        st.info(
            "**No model yet.** Train one with `fer train` (it lands in `runs/`), or put a `model.keras` "
            "under `assets/models/<name>/`; set `FER_RUNS` to look in another runs folder."
        )
        st.stop()
    return key


def require_model() -> state.ModelKey:
    """The selected model, loaded (a spinner says so while it loads); otherwise one box saying why not, and
    stop the page."""
    key = require_model_file()
    problem = state.model_problem(key)
    if problem is not None:
        st.error(f"**This model cannot be used.** {problem}")
        st.stop()
    state.load_model(key)  # at the page's top level, where its spinner shows
    return key


def compared_model() -> state.ModelKey | None:
    """The model chosen under "Compare with" (``None`` when none, gone, the same as the first, or one that
    cannot be used: then a warning says why)."""
    path = st.session_state.get("compare_model")
    if not path or path == st.session_state.get("model") or not Path(path).is_file():
        return None
    key = state.model_key(path)
    problem = state.model_problem(key)
    if problem is not None:
        st.warning(f"**Compare with:** this model cannot be used. {problem}")
        return None
    return key


def require_data() -> Split:
    """The labeled PublicTest split; otherwise one info box on how to get FER2013, and stop."""
    data, status = state.dataset()
    public = data.labeled("public") if data is not None else None
    if public is None:
        st.info(DATA_HELP if not data_from_env() else f"{DATA_HELP}\n\n{status}")
        st.stop()
    return public
