"""Faithfulness of a saliency map: deletion and insertion curves (Petsiuk, Das & Saenko 2018, "RISE").

Pixels are removed (deletion) or restored (insertion) from the most salient
down, and the target class's softmax probability is recorded: a faithful map
makes it fall fast (low deletion AUC) or rise fast (high insertion AUC).
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np

from fer_core.errors import FerError
from fer_core.labels import IMAGE_SIZE
from fer_core.vis.gradients import baseline_images, probabilities, resolve_targets
from fer_core.vis.probes import as_model_input


class Curve(NamedTuple):
    """A deletion or insertion curve (Petsiuk et al. 2018).

    Attributes:
        fractions: ``float32 (S+1,)``, the fraction of pixels deleted or inserted, 0..1.
        scores: ``float32 (N, S+1)``, the target class's softmax probability at each fraction.
        auc: ``float32 (N,)``, area under ``scores`` over ``fractions`` (trapezoidal), 0..1.
            Deletion: lower is more faithful. Insertion: higher is more faithful.
    """

    fractions: np.ndarray
    scores: np.ndarray
    auc: np.ndarray


def _pixel_order(maps: np.ndarray) -> np.ndarray:
    """``int (N, 2304)``: pixel indices from the most to the least salient (stable)."""
    return np.argsort(-np.asarray(maps, np.float64).reshape(len(maps), -1), axis=1, kind="stable")


def _curve(model, images, maps, target, steps, substrate, deleting: bool, batch_size: int) -> Curve:
    x = as_model_input(images)
    if np.shape(maps) != x.shape[:3]:
        raise FerError(f"maps have shape {np.shape(maps)} (expected {x.shape[:3]}, one 48x48 map per image)")
    targets = resolve_targets(model, x, target)
    fill = baseline_images(x, substrate)
    fractions = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    counts = np.round(fractions * IMAGE_SIZE * IMAGE_SIZE).astype(int)
    scores = np.empty((len(x), steps + 1), np.float32)
    for i, order in enumerate(_pixel_order(maps)):
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        changed = rank[None, :] < counts[:, None]  # (S+1, 2304): pixel already deleted/inserted
        source, other = (fill[i], x[i]) if deleting else (x[i], fill[i])
        frames = np.where(changed.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1), source, other)
        scores[i] = probabilities(model, frames, batch_size)[:, targets[i]]
    auc = ((scores[:, 1:] + scores[:, :-1]) / 2 * np.diff(fractions)).sum(axis=1)
    return Curve(fractions, scores, auc.astype(np.float32))


def deletion_curve(
    model: keras.Model,
    images: np.ndarray,
    maps: np.ndarray,
    target=None,
    *,
    steps: int = 32,
    substrate="black",
    batch_size: int = 256,
) -> Curve:
    """Deletion curve (Petsiuk et al. 2018): remove the most salient pixels first.

    Pixels are replaced by ``substrate`` (``black`` as in the paper; ``gray``,
    ``blur``, a number or an array) in ``steps`` equal chunks, from the highest
    value of ``maps`` (``(N, 48, 48)``, any real dtype; pass ``abs`` of a signed
    map to rank by magnitude) down, and the target class probability is
    recorded. A faithful map makes it fall fast: low AUC.
    """
    return _curve(model, images, maps, target, steps, substrate, True, batch_size)


def insertion_curve(
    model: keras.Model,
    images: np.ndarray,
    maps: np.ndarray,
    target=None,
    *,
    steps: int = 32,
    substrate="blur",
    batch_size: int = 256,
) -> Curve:
    """Insertion curve (Petsiuk et al. 2018): restore the most salient pixels first.

    Starts from ``substrate`` (a blurred copy, as in the paper) and puts back the
    original pixels from the most salient down. A faithful map makes the target
    probability rise fast: high AUC.
    """
    return _curve(model, images, maps, target, steps, substrate, False, batch_size)
