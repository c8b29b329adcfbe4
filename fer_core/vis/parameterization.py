"""How gradient ascent's variable becomes pixels (Olah, Mordvintsev & Schubert 2017, "Feature Visualization").

A Fourier parameterization with a 1/f spectrum is a decorrelated space in which
plain gradient steps favour smooth images; :func:`pixels` is the plain one.
Both end in a sigmoid, so pixels stay in 0..255. The factories are memoized so
a compiled ascent is reused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from fer_core.labels import IMAGE_SIZE


def fourier_scale(decay: float = 1.0) -> np.ndarray:
    """``float32 (48, 25)``: the 1/f^decay weight of each ``rfft2`` coefficient, times sqrt(48*48)."""
    fy = np.fft.fftfreq(IMAGE_SIZE)[:, None]
    fx = np.fft.rfftfreq(IMAGE_SIZE)[None, :]
    frequency = np.sqrt(fx**2 + fy**2)
    return (IMAGE_SIZE / np.maximum(frequency, 1.0 / IMAGE_SIZE) ** decay).astype(np.float32)


class Parameterization(NamedTuple):
    """How the optimized variable becomes pixels.

    Attributes:
        shape: the variable's shape per image.
        to_pixels: ``(K, *shape)`` -> ``float32 (K, 48, 48, 1)`` pixels in 0..255.
    """

    shape: tuple[int, ...]
    to_pixels: Callable[[tf.Tensor], tf.Tensor]


@functools.lru_cache(maxsize=None)
def fourier(decay: float = 1.0) -> Parameterization:
    """Real and imaginary ``rfft2`` coefficients weighted by 1/f (Olah et al. 2017), then a sigmoid."""
    weights = tf.constant(fourier_scale(decay))

    def to_pixels(spectrum):
        coefficients = tf.complex(spectrum[..., 0] * weights, spectrum[..., 1] * weights)
        logits = tf.signal.irfft2d(coefficients, fft_length=[IMAGE_SIZE, IMAGE_SIZE]) / 4.0
        return 255.0 * tf.sigmoid(logits)[..., None]

    return Parameterization((IMAGE_SIZE, IMAGE_SIZE // 2 + 1, 2), to_pixels)


@functools.lru_cache(maxsize=None)
def pixels() -> Parameterization:
    """One logit per pixel, then a sigmoid: the plain parameterization."""
    return Parameterization((IMAGE_SIZE, IMAGE_SIZE, 1), lambda p: 255.0 * tf.sigmoid(p))


DEFAULT_PARAMETERIZATION = fourier()
