"""A filter's dossier: the faces that activate it most and its mean activation per emotion.

Zeiler & Fergus 2014 ("Visualizing and Understanding Convolutional Networks")
show each unit with the dataset images that activate it most; beside the
gradient-ascent image (:mod:`fer_core.vis.ascent`) this says what a filter
responds to in real faces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import keras
import numpy as np

from fer_core.errors import FerError
from fer_core.labels import EMOTIONS
from fer_core.vis.ascent import filter_indices
from fer_core.vis.feature_maps import mean_activations

class Dossier(NamedTuple):
    """What a filter responds to in the data.

    Attributes:
        filters: ``int64 (K,)``, the filter indices described.
        top_indices: ``int64 (K, k)``, indices into ``images`` of the faces with
            the highest mean activation, highest first.
        top_activations: ``float32 (K, k)``, those mean activations.
        per_emotion: ``float32 (K, 7)``, mean activation over the faces of each
            true emotion (``EMOTIONS`` order; ``nan`` where no face has it).
    """

    filters: np.ndarray
    top_indices: np.ndarray
    top_activations: np.ndarray
    per_emotion: np.ndarray


def filter_dossier(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    layer: str,
    filters: Sequence[int] | np.ndarray | int | None = None,
    *,
    top_k: int = 9,
    batch_size: int = 64,
) -> Dossier:
    """Top-activating faces and mean activation per emotion for each chosen filter.

    Args:
        images: ``uint8 (N, 48, 48)``, raw pixels 0..255 (e.g. a split's images).
        labels: ``int (N,)`` emotions 0..6.
        layer, filters: as in :func:`gradient_ascent` (default: all filters).
        top_k: faces to keep per filter (fewer if ``N`` is smaller).

    Returns:
        :class:`Dossier`; activation = the filter's spatial mean on a face.
    """
    labels = np.asarray(labels)
    if len(labels) != len(images):
        raise FerError(f"{len(labels)} labels for {len(images)} images (expected one label per image)")
    chosen = filter_indices(model, layer, filters)
    return dossier_from_activations(mean_activations(model, images, layer, batch_size), labels, chosen, top_k=top_k)


def dossier_from_activations(means: np.ndarray, labels: np.ndarray, filters: np.ndarray, *, top_k: int = 9) -> Dossier:
    """:func:`filter_dossier` from activations measured already.

    Args:
        means: ``float32 (N, C)``, each face's spatial mean of every channel
            (:func:`fer_core.vis.feature_maps.mean_activations`).
        labels: ``int (N,)`` emotions 0..6.
        filters: ``int (K,)`` channel indices to describe.
    """
    chosen = np.asarray(filters, np.int64)
    means = np.asarray(means, np.float32)[:, chosen].T  # (K, N)
    top = np.argsort(-means, axis=1, kind="stable")[:, :top_k]
    per_emotion = np.full((len(chosen), len(EMOTIONS)), np.nan, np.float32)
    for e in range(len(EMOTIONS)):
        if np.any(labels == e):
            per_emotion[:, e] = means[:, labels == e].mean(axis=1)
    return Dossier(chosen, top.astype(np.int64), np.take_along_axis(means, top, axis=1).astype(np.float32), per_emotion)
