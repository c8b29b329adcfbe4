"""What a report shows, computed once: :class:`ReportData` and its sections' parts (no HTML, no Keras)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from fer_core.evaluation.ablation import Groups
from fer_core.runs.folder import Run


@dataclass(frozen=True)
class SaliencyFaces:
    """Section 4: ``rows`` are PublicTest rows; ``faces`` ``uint8 (F, 48, 48)``, ``labels`` ``int (F,)``,
    ``probabilities`` ``float32 (F, 7)``, ``maps[method]`` ``float32 (F, 48, 48)`` explaining the predicted class."""

    rows: list[int]
    faces: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray
    maps: dict[str, np.ndarray]
    smoothgrad_samples: int


@dataclass(frozen=True)
class FilterTiles:
    """Section 5a: ``images`` ``uint8 (K, 48, 48)`` maximize filters ``filters`` ``int (K,)`` of ``layer``
    after ``steps`` ascent steps; ``activations`` ``float32 (K,)`` is each filter's mean activation on its image."""

    layer: str
    filters: np.ndarray
    images: np.ndarray
    activations: np.ndarray
    steps: int


@dataclass(frozen=True)
class FeatureMapView:
    """Section 5b: ``layer``'s output ``maps`` (``float32 (1, h, w, c)`` for a conv layer) on PublicTest row
    ``index``; ``face`` ``uint8 (48, 48)``, ``probabilities`` ``float32 (7,)``, ``label`` the true class or ``None``."""

    layer: str
    index: int
    face: np.ndarray
    maps: np.ndarray
    probabilities: np.ndarray
    label: int | None


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows, computed once (see :func:`compute_report`)."""

    run: Run
    config: dict
    history: list[dict]
    best: dict | None
    model_name: str
    keras_name: str
    parameters: tuple[int, int]
    layers: list[dict]
    metrics: dict
    metrics_computed: bool
    data_source: str | None
    splits: object | None
    ablation: tuple[str | os.PathLike, Groups, list[str], list[str]] | None  # folder, groups, skipped, findings
    saliency: SaliencyFaces | None
    filters: FilterTiles
    feature_maps: FeatureMapView | None
