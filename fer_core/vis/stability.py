"""How alike a filter's gradient-ascent images are from seed to seed.

A feature visualization is only worth reading if it does not depend on the
random start (Olah et al. 2017 show several seeds side by side). The score is
the correlation of the images at the best circular shift, so the same pattern
found at another place or phase still counts as the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from fer_core.errors import FerError
from fer_core.labels import IMAGE_SIZE
from fer_core.vis.ascent import filter_indices, gradient_ascent

def shifted_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """The best Pearson correlation of two ``(H, W)`` images over all circular shifts of one against the other.

    Computed for every shift at once with the FFT (the cross-correlation theorem).
    A grating and the same grating at another phase score about 1, where their
    plain correlation can be 0 or negative; two unrelated noise images score near 0
    (the best of H*W chance correlations). ``nan`` if either image is flat.
    """
    a = a.astype(np.float64) - a.mean()
    b = b.astype(np.float64) - b.mean()
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    if norm == 0:
        return float("nan")
    correlations = np.fft.irfft2(np.fft.rfft2(a) * np.conj(np.fft.rfft2(b)), s=a.shape)
    return float(correlations.max() / norm)


def seed_similarity(images: np.ndarray) -> float:
    """Mean :func:`shifted_correlation` over all pairs of ``(S, H, W)`` images of one filter from S seeds."""
    pairs = [(i, j) for i in range(len(images)) for j in range(i + 1, len(images))]
    return float(np.mean([shifted_correlation(images[i], images[j]) for i, j in pairs]))


def stability(
    model: keras.Model,
    layer: str,
    filters: Sequence[int] | np.ndarray | int | None = None,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    **options,
) -> np.ndarray:
    """How alike a filter's gradient-ascent images are from seed to seed.

    Runs :func:`gradient_ascent` (``options`` go to it) for every filter and
    seed in one batch, then scores each filter's images with :func:`seed_similarity`:
    the correlation over all pairs of seeds, at the best circular shift, so the
    same pattern found at another place or phase still counts as the same.

    Returns:
        ``float32 (K,)`` in -1..1: near 1 means the same image whatever the seed.
    """
    if len(seeds) < 2:
        raise FerError(f"stability needs at least 2 seeds ({len(seeds)} given)")
    chosen = filter_indices(model, layer, filters)
    rows = gradient_ascent(model, layer, np.tile(chosen, len(seeds)), seed=np.repeat(seeds, len(chosen)), **options)
    per_seed = rows.images.reshape(len(seeds), len(chosen), IMAGE_SIZE, IMAGE_SIZE)
    return np.array([seed_similarity(per_seed[:, k]) for k in range(len(chosen))], np.float32)
