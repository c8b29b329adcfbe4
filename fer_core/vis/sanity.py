"""Sanity checks for saliency maps (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

A method that explains what the model learned must change when the weights
are re-initialized: :func:`randomization_check` (all weights at once) and
:func:`cascading_randomization` (layer by layer from the output down) compare
the maps by Spearman rank correlation (:func:`rank_correlation`).
"""

from __future__ import annotations

import keras
import numpy as np

from fer_core.vis.gradients import resolve_targets
from fer_core.vis.methods import saliency


def weighted_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Leaf layers with trainable weights, input to output, nested models included."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += weighted_layers(layer)
        elif layer.trainable_weights:
            found.append(layer)
    return found


def _initializer(layer: keras.layers.Layer, variable, seed: int):
    """The layer's own initializer for ``variable`` (e.g. ``kernel_initializer``), seeded."""
    init = getattr(layer, f"{variable.name}_initializer", None)
    if init is None:
        if len(variable.shape) < 2:
            return None
        init = keras.initializers.GlorotUniform()
    config = init.get_config()
    return init.__class__.from_config({**config, "seed": seed}) if "seed" in config else init


def reinitialize(layer: keras.layers.Layer, seed: int = 0) -> None:
    """Re-draw ``layer``'s trainable weights from its initializers, in place.

    Non-trainable state (BatchNorm moving statistics) is kept, as in Adebayo et
    al.; a weight without a known initializer is re-drawn Glorot-uniform (2-D and
    more) or kept (1-D).
    """
    for i, variable in enumerate(layer.trainable_weights):
        init = _initializer(layer, variable, seed * 1000 + i)
        if init is not None:
            variable.assign(init(variable.shape, dtype=variable.dtype))


def copy_model(model: keras.Model) -> keras.Model:
    """An independent copy of ``model`` with the same weights."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def randomized_copy(model: keras.Model, layers: list[str] | None = None, seed: int = 0) -> keras.Model:
    """A copy of ``model`` whose named layers (default: all weighted layers) are re-initialized."""
    copy = copy_model(model)
    for j, layer in enumerate(weighted_layers(copy)):
        if layers is None or layer.name in layers:
            reinitialize(layer, seed + j)
    return copy


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of a 1-D array, ties sharing their average rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts
    return (first + (counts + 1) / 2.0)[inverse]


def rank_correlation(maps_a: np.ndarray, maps_b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each pair of maps.

    Args:
        maps_a, maps_b: ``(N, H, W)`` real arrays.

    Returns:
        ``float32 (N,)`` in -1..1; ``nan`` where a map is constant.
    """
    a = np.asarray(maps_a, np.float64).reshape(len(maps_a), -1)
    b = np.asarray(maps_b, np.float64).reshape(len(maps_b), -1)
    out = np.full(len(a), np.nan, np.float32)
    for i in range(len(a)):
        ra, rb = _average_ranks(a[i]) - (a.shape[1] + 1) / 2.0, _average_ranks(b[i]) - (a.shape[1] + 1) / 2.0
        norm = np.sqrt((ra**2).sum() * (rb**2).sum())
        if norm > 0:
            out[i] = (ra * rb).sum() / norm
    return out


def randomization_check(
    model: keras.Model,
    images: np.ndarray,
    method: str = "vanilla",
    *,
    target=None,
    layer: str | None = None,
    against: keras.Model | None = None,
    seed: int = 0,
    **options,
) -> np.ndarray:
    """Model-parameter randomization test, full randomization (Adebayo et al. 2018).

    Compares each image's map on ``model`` with its map on ``against`` (default:
    a copy with *all* trainable weights re-initialized, :func:`randomized_copy`)
    by Spearman rank correlation of the absolute maps. The explained class is
    fixed by ``model`` (its prediction when ``target`` is ``None``), so both maps
    explain the same class. A method that depends on what the model learned
    gives a low correlation; a method that acts like an edge detector stays high.
    Passing an unrandomized copy as ``against`` gives 1.0.

    Returns:
        ``float32 (N,)`` correlations in -1..1 (``nan`` for a constant map).
    """
    targets = resolve_targets(model, images, target)
    other = against if against is not None else randomized_copy(model, seed=seed)
    trained = saliency(model, images, method, targets, layer, **options)
    return rank_correlation(np.abs(trained), np.abs(saliency(other, images, method, targets, layer, **options)))


def cascading_randomization(
    model: keras.Model,
    images: np.ndarray,
    method: str = "vanilla",
    *,
    target=None,
    layer: str | None = None,
    seed: int = 0,
    **options,
) -> tuple[list[str], np.ndarray]:
    """Cascading randomization (Adebayo et al. 2018): re-initialize layers from the top down.

    Step ``k`` re-initializes the ``k+1`` weighted layers nearest the output (on
    one copy, cumulatively) and compares the maps with the trained model's.

    Returns:
        ``(names, correlations)``: the layer randomized at each step, output
        first, and ``float32 (steps, N)`` Spearman correlations of absolute maps.
    """
    targets = resolve_targets(model, images, target)
    trained = np.abs(saliency(model, images, method, targets, layer, **options))
    copy = copy_model(model)
    names, rows = [], []
    for j, layer_ in enumerate(reversed(weighted_layers(copy))):
        reinitialize(layer_, seed + j)
        names.append(layer_.name)
        rows.append(rank_correlation(trained, np.abs(saliency(copy, images, method, targets, layer, **options))))
    return names, np.stack(rows) if rows else np.zeros((0, len(targets)), np.float32)
