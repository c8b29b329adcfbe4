"""Random transforms and penalties for gradient ascent, as small composable closures (like lucid's).

Olah, Mordvintsev & Schubert 2017 ("Feature Visualization", Distill) show that
small random transforms each step (jitter, scale, rotation) keep only the
features robust to them, and that penalties such as total variation smooth the
result. Both are plain functions on ``float32 (K, 48, 48, 1)`` pixels 0..255:

* a transform is ``(images, u) -> images``, where ``u`` is ``float32 (K, 4)``,
  uniform in -1..1 and fresh each step (column 0-1 jitter, 2 scale, 3 rotation);
  see :func:`jitter`, :func:`scale`, :func:`rotate`, :func:`blur`, :func:`compose`;
* a penalty is ``images -> float32 (K,)`` subtracted from the objective; see
  :func:`total_variation`, :func:`l2`.

The factories are memoized: ``jitter(2)`` is the same object every time, so a
compiled ascent is reused instead of traced again (about a second on CPU).

The Gaussian kernel of the project (:func:`gaussian_kernel`) and its numpy
blur (:func:`gaussian_blur`) live here too.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from fer_core.labels import IMAGE_SIZE

Transform = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
Penalty = Callable[[tf.Tensor], tf.Tensor]
RANDOM_COLUMNS = 4
_CENTER = (IMAGE_SIZE - 1) / 2.0

# ----------------------------------------------------------------------------- Gaussian kernel


def gaussian_kernel(sigma: float, truncate: float = 2.0) -> np.ndarray:
    """``float32 (2r+1,)``: a normalized 1-D Gaussian of ``sigma`` pixels, ``r = max(1, ceil(truncate sigma))``."""
    radius = max(1, math.ceil(truncate * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


def gaussian_blur(x: np.ndarray, sigma: float, truncate: float = 3.0) -> np.ndarray:
    """Separable Gaussian blur of ``(N, H, W[, 1])`` images on axes 1 and 2, reflected at the borders.

    Returns:
        ``float32`` of the shape of ``x``; values stay in ``x``'s range.
    """
    kernel = gaussian_kernel(sigma, truncate).astype(np.float64)
    radius = len(kernel) // 2
    out = np.asarray(x, np.float32)
    for axis in (1, 2):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect")
        out = sum(w * np.take(padded, np.arange(k, k + out.shape[axis]), axis=axis) for k, w in enumerate(kernel))
    return out.astype(np.float32)


# ----------------------------------------------------------------------------- transforms


def _warp(images: tf.Tensor, a00, a01, a10, a11, shift_x=0.0, shift_y=0.0) -> tf.Tensor:
    """Resample ``images`` (bilinear, reflected borders); output pixel p reads input
    ``center + A (p - center) - shift`` with ``A = [[a00, a01], [a10, a11]]`` per image."""
    zeros = tf.zeros_like(a00)
    matrices = tf.stack(
        [
            a00,
            a01,
            _CENTER - a00 * _CENTER - a01 * _CENTER - shift_x,
            a10,
            a11,
            _CENTER - a10 * _CENTER - a11 * _CENTER - shift_y,
            zeros,
            zeros,
        ],
        axis=1,
    )
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=matrices,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )


@functools.lru_cache(maxsize=None)
def jitter(pixels: int = 2) -> Transform:
    """Shift each image by a random whole number of pixels, up to ``pixels`` each way."""

    def apply(images, u):
        shift = tf.round(u[:, :2] * pixels)
        ones = tf.ones_like(u[:, 0])
        return _warp(images, ones, 0 * ones, 0 * ones, ones, shift[:, 0], shift[:, 1])

    return apply


@functools.lru_cache(maxsize=None)
def scale(amount: float = 0.05) -> Transform:
    """Zoom each image about its center by a random factor in ``1 ± amount``."""

    def apply(images, u):
        inverse = 1.0 / (1.0 + amount * u[:, 2])
        return _warp(images, inverse, 0 * inverse, 0 * inverse, inverse)

    return apply


@functools.lru_cache(maxsize=None)
def rotate(degrees: float = 5.0) -> Transform:
    """Rotate each image about its center by a random angle in ``± degrees``."""

    def apply(images, u):
        angle = u[:, 3] * degrees * math.pi / 180.0
        cos, sin = tf.cos(angle), tf.sin(angle)
        return _warp(images, cos, -sin, sin, cos)

    return apply


@functools.lru_cache(maxsize=None)
def blur(sigma: float = 0.5) -> Transform:
    """Gaussian blur of standard deviation ``sigma`` pixels (reflected borders, kernel radius ``ceil(2 sigma)``)."""
    kernel = gaussian_kernel(sigma)
    radius = len(kernel) // 2
    rows, cols = kernel.reshape(-1, 1, 1, 1), kernel.reshape(1, -1, 1, 1)

    def apply(images, u):
        padded = tf.pad(images, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
        return tf.nn.conv2d(tf.nn.conv2d(padded, rows, 1, "VALID"), cols, 1, "VALID")

    return apply


@functools.lru_cache(maxsize=None)
def compose(*transforms: Transform) -> Transform:
    """Apply ``transforms`` in order, each with the same step's random ``u``."""

    def apply(images, u):
        for transform in transforms:
            images = transform(images, u)
        return images

    return apply


def identity(images, u):
    """The transform that changes nothing."""
    return images


DEFAULT_TRANSFORM: Transform = compose(jitter(2), scale(0.05), rotate(5.0))

# ----------------------------------------------------------------------------- penalties


@functools.lru_cache(maxsize=None)
def total_variation(weight: float) -> Penalty:
    """``weight`` times the mean absolute difference of neighbouring pixels (pixels scaled to 0..1)."""

    def penalty(images):
        x = images / 255.0
        dy = tf.reduce_mean(tf.abs(x[:, 1:] - x[:, :-1]), axis=[1, 2, 3])
        dx = tf.reduce_mean(tf.abs(x[:, :, 1:] - x[:, :, :-1]), axis=[1, 2, 3])
        return weight * (dx + dy)

    return penalty


@functools.lru_cache(maxsize=None)
def l2(weight: float) -> Penalty:
    """``weight`` times the mean squared distance from mid-gray (pixels scaled to -1..1)."""

    def penalty(images):
        return weight * tf.reduce_mean(tf.square(images / 127.5 - 1.0), axis=[1, 2, 3])

    return penalty
