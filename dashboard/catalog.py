"""Where the dashboard's models and runs come from, and what the pages open on.

Thin, uncached calls into :mod:`fer_core.runs` (a run started a second ago must show up):
the sidebar's model picker, the Compare runs and Training pages' folders, the ablation table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fer_core.evaluation.ablation import ablation_folder, ablation_rows
from fer_core.runs.discovery import default_model_index, find_all_runs, find_models, find_runs, search_folders

ROOT = Path(__file__).resolve().parents[1]
FILTERS_PER_PAGE = 64  # filter images in one page of the Filters grid


def model_files() -> dict[str, str]:
    """Every model the picker offers: ``{path: label}``, shipped models first (:func:`fer_core.runs.find_models`)."""
    return find_models(search_folders(ROOT))


def run_folders() -> dict[str, Path]:
    """Runs with a ``metrics.json`` or ``history.csv``: ``{name: folder}`` (:func:`fer_core.runs.find_runs`)."""
    return find_runs(search_folders(ROOT))


def training_folders() -> dict[str, tuple[str, Path]]:
    """Every run folder and shipped model: ``{label: (kind, folder)}`` (:func:`fer_core.runs.find_all_runs`)."""
    return find_all_runs(search_folders(ROOT))


def ablation_table() -> pd.DataFrame | None:
    """The 2x2 normalization x augmentation table (:func:`fer_core.evaluation.ablation.ablation_rows`), or ``None``
    without a folder."""
    folder = ablation_folder(ROOT)
    return pd.DataFrame(ablation_rows(folder)) if folder is not None else None


def report_layer(layers: list[str]) -> int:
    """Index of the layer the Filters page opens on: conv5, as in the seed report (an ensemble member's
    ``*_conv5`` too), else the middle conv layer."""
    return next((i for i, name in enumerate(layers) if name.rsplit("_", 1)[-1] == "conv5"), len(layers) // 2)


def default_model(models: dict[str, str]) -> str:
    """The model path the sidebar starts with (:func:`fer_core.runs.default_model_index`)."""
    return list(models)[default_model_index(models)]
