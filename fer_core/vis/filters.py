"""Gradient ascent (activation maximization) for any layer and filter, and filter dossiers.

Erhan et al. 2009 ("Visualizing Higher-Layer Features of a Deep Network") and
Simonyan et al. 2013 find an input that maximizes a unit by gradient ascent;
Olah, Mordvintsev & Schubert 2017 ("Feature Visualization", Distill) show which
regularizers turn the result from high-frequency noise into a readable image:
a Fourier parameterization with a 1/f spectrum (a decorrelated space in which
plain gradient steps favour smooth images) and small random transforms each
step (jitter, scale, rotation), so that only features robust to them survive.

All chosen filters are optimized in ONE batched run: image ``k`` maximizes the
mean activation of filter ``filters[k]``; Adam updates each element on its own,
so a row does not depend on the others. Each row's start noise and transform
draws come from a generator seeded by ``(seed, filter)``: a result is
reproducible and does not depend on which other filters share the batch.

Regularizers are small closures, composable like lucid's:

* a transform is ``(images, u) -> images`` on ``float32 (K, 48, 48, 1)`` pixels
  0..255, where ``u`` is ``float32 (K, 4)``, uniform in -1..1 and fresh each
  step (column 0-1 jitter, 2 scale, 3 rotation); see :func:`jitter`,
  :func:`scale`, :func:`rotate`, :func:`blur`, :func:`compose`;
* a penalty is ``images -> float32 (K,)`` subtracted from the objective; see
  :func:`total_variation`, :func:`l2`.

The factories are memoized: ``jitter(2)`` is the same object every time, so a
compiled ascent is reused instead of traced again (about a second on CPU).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from fer_core.errors import FerError
from fer_core.labels import EMOTIONS, IMAGE_SIZE
from fer_core.vis.feature_maps import mean_activations
from fer_core.vis.probes import cached, find_layer, in_batches, input_probe, probe

Transform = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
Penalty = Callable[[tf.Tensor], tf.Tensor]
RANDOM_COLUMNS = 4
_CENTER = (IMAGE_SIZE - 1) / 2.0

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


def gaussian_kernel(sigma: float) -> np.ndarray:
    """``float32 (2r+1,)`` normalized 1-D Gaussian, ``r = ceil(2 sigma)``."""
    radius = max(1, math.ceil(2 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


@functools.lru_cache(maxsize=None)
def blur(sigma: float = 0.5) -> Transform:
    """Gaussian blur of standard deviation ``sigma`` pixels (reflected borders)."""
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


DEFAULT_TRANSFORM: Transform = compose(jitter(2), scale(0.05), rotate(5.0))

# ----------------------------------------------------------------------------- parameterizations


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

# ----------------------------------------------------------------------------- optimization


def _channel_means(activations: tf.Tensor, one_hot: tf.Tensor) -> tf.Tensor:
    """``(K,)``: row k's mean activation of its own channel (spatial mean for 4-D outputs)."""
    rank = len(activations.shape)
    means = tf.reduce_mean(activations, axis=list(range(1, rank - 1))) if rank > 2 else activations
    return tf.reduce_sum(means * one_hot, axis=-1)


# Activations that act on each value alone, so one channel can be computed without the others.
_ELEMENTWISE = frozenset({
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "swish", "mish", "tanh",
    "sigmoid", "hard_sigmoid", "hard_silu", "hard_swish", "softplus", "softsign", "exponential", "log_sigmoid",
})


def _sliceable(layer: keras.layers.Layer) -> bool:
    """Whether each output channel of ``layer`` can be computed alone from its input and kernel column."""
    return (
        isinstance(layer, keras.layers.Conv2D)
        and layer.groups == 1
        and layer.data_format == "channels_last"
        and getattr(layer.activation, "__name__", "") in _ELEMENTWISE
    )


def _channel_objective(model: keras.Model, layer: str, sliced: bool) -> tuple[Callable, Callable]:
    """``(select, value)``: ``select(one_hot)`` once per run, then ``value(images, selected) -> (K,)``.

    ``value`` is row k's mean activation of its own channel. With ``sliced``
    (fewer rows than channels) and a plain ``Conv2D`` layer with an elementwise
    activation, only the K chosen output channels are computed, from the
    layer's input and its kernel columns (a conv's channel depends on its own
    kernel column alone), in the layer's compute dtype: for one conv6 filter of
    the seed model, 1 channel instead of 512. Otherwise the layer runs whole.
    """
    target = find_layer(model, layer)
    if not (sliced and _sliceable(target)):
        net = probe(model, layer, logits=False)
        return (lambda one_hot: one_hot), lambda images, one_hot: _channel_means(
            tf.cast(net(images, training=False), tf.float32), one_hot
        )
    into, dtype = input_probe(model, layer), target.compute_dtype

    def column(weights, one_hot, axes):  # the rows' channels of a weight, selected exactly in float32
        return tf.cast(tf.tensordot(tf.cast(tf.convert_to_tensor(weights), tf.float32), one_hot, axes=axes), dtype)

    def select(one_hot):  # kernel (h, w, C, K) and bias (K,) of each row's channel
        bias = column(target.bias, one_hot, [[0], [1]]) if target.use_bias else tf.zeros([tf.shape(one_hot)[0]], dtype)
        return column(target.kernel, one_hot, [[3], [1]]), bias

    def value(images, selected):
        kernel, bias = selected
        x = tf.cast(into(images, training=False), dtype)
        out = tf.nn.convolution(x, kernel, target.strides, target.padding.upper(), dilations=target.dilation_rate)
        columns = tf.reduce_mean(tf.cast(target.activation(out + bias), tf.float32), axis=[1, 2])  # (K rows, K)
        return tf.linalg.diag_part(columns)

    return select, value


def _ascent_fn(model, layer, parameterization, transform, penalty, sliced) -> Callable:
    """A compiled ``(start, one_hot, u, learning_rate) -> (variable, trace)`` Adam ascent."""

    def make():
        select, channel_value = _channel_objective(model, layer, sliced)
        to_pixels = parameterization.to_pixels

        def objective(variable, selected, u):
            images = transform(to_pixels(variable), u)
            value = channel_value(images, selected)
            return value, value - (penalty(images) if penalty is not None else 0.0)

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, *parameterization.shape], tf.float32),
                tf.TensorSpec([None, None], tf.float32),
                tf.TensorSpec([None, None, RANDOM_COLUMNS], tf.float32),
                tf.TensorSpec([], tf.float32),
            ]
        )
        def ascend(start, one_hot, u, learning_rate):
            variable, m, v = start, tf.zeros_like(start), tf.zeros_like(start)
            selected = select(one_hot)
            steps = tf.shape(u)[0]
            trace = tf.TensorArray(tf.float32, size=steps)
            for step in tf.range(steps):
                with tf.GradientTape() as tape:
                    tape.watch(variable)
                    value, regularized = objective(variable, selected, u[step])
                gradient = tape.gradient(regularized, variable)
                variable, m, v = _adam_step(variable, gradient, m, v, step, learning_rate)
                trace = trace.write(step, value)
            return variable, trace.stack()

        return ascend

    return cached(model, ("ascent", layer, parameterization, transform, penalty, sliced), make)


def _adam_step(variable, gradient, m, v, step, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """One Adam *ascent* step (Kingma & Ba 2015), elementwise, so rows stay independent."""
    m = beta1 * m + (1 - beta1) * gradient
    v = beta2 * v + (1 - beta2) * gradient * gradient
    t = tf.cast(step + 1, tf.float32)
    update = (m / (1 - beta1**t)) / (tf.sqrt(v / (1 - beta2**t)) + epsilon)
    return variable + learning_rate * update, m, v


class FilterImages(NamedTuple):
    """The result of :func:`gradient_ascent`.

    Attributes:
        images: ``uint8 (K, 48, 48)``, raw pixels 0..255: image k maximizes filter ``filters[k]``.
        filters: ``int64 (K,)``, the filter (channel) index of each image.
        trace: ``float32 (steps, K)``, the objective of row k at each step: the
            filter's mean activation on that step's transformed image (no penalty).
        start: ``float32 (K,)``, the objective on the starting noise (no transform).
        final: ``float32 (K,)``, the objective on ``images`` as returned (no transform).
    """

    images: np.ndarray
    filters: np.ndarray
    trace: np.ndarray
    start: np.ndarray
    final: np.ndarray


def channel_count(model: keras.Model, layer: str) -> int:
    """Number of filters (channels) in ``layer``'s output."""
    return int(probe(model, layer, logits=False).outputs[0].shape[-1])


def _filter_indices(model: keras.Model, layer: str, filters) -> np.ndarray:
    count = channel_count(model, layer)
    chosen = np.arange(count) if filters is None else np.atleast_1d(np.asarray(filters))
    if chosen.dtype.kind not in "iu" or chosen.size == 0 or chosen.min() < 0 or chosen.max() >= count:
        raise FerError(
            f"filters {np.asarray(filters).tolist()} not in layer '{layer}' (expected integers 0..{count - 1})"
        )
    return chosen.astype(np.int64)


def _row_randomness(shape: tuple, filters: np.ndarray, seeds: np.ndarray, steps: int, noise: float):
    """Per row, from a generator seeded by ``(seed, filter)``: start noise and transform draws."""
    starts, draws = [], []
    for f, s in zip(filters, seeds):
        rng = np.random.default_rng([int(s), int(f)])
        starts.append(rng.normal(0.0, noise, shape))
        draws.append(rng.uniform(-1.0, 1.0, (steps, RANDOM_COLUMNS)))
    return np.asarray(starts, np.float32), np.asarray(draws, np.float32).transpose(1, 0, 2)


def objective_values(model: keras.Model, layer: str, images: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """``float32 (K,)``: mean activation of filter ``filters[k]`` on image k (``(K, 48, 48)`` raw pixels)."""
    means = mean_activations(model, images, layer)
    return means[np.arange(len(filters)), filters] if len(filters) else np.zeros(0, np.float32)


def _ascend_rows(model, layer, filters, seeds, steps, learning_rate, transform, penalty, parameterization, noise):
    """One batched ascent: ``(start pixels float32 (K, 48, 48), final uint8 (K, 48, 48), trace (steps, K))``."""
    starts, draws = _row_randomness(parameterization.shape, filters, seeds, steps, noise)
    count = channel_count(model, layer)
    one_hot = np.eye(count, dtype=np.float32)[filters]
    ascend = _ascent_fn(model, layer, parameterization, transform, penalty, sliced=len(filters) < count)
    variable, trace = ascend(
        tf.constant(starts), tf.constant(one_hot), tf.constant(draws), tf.constant(float(learning_rate))
    )
    first, last = parameterization.to_pixels(tf.constant(starts)).numpy(), parameterization.to_pixels(variable).numpy()
    return np.round(first[..., 0]).astype(np.uint8), np.round(last[..., 0]).astype(np.uint8), trace.numpy()


def _identity(images, u):
    return images


def gradient_ascent(
    model: keras.Model,
    layer: str,
    filters: Sequence[int] | np.ndarray | int | None = None,
    *,
    steps: int = 64,
    learning_rate: float = 0.05,
    seed: int | Sequence[int] | np.ndarray = 0,
    transform: Transform | None = DEFAULT_TRANSFORM,
    penalty: Penalty | None = None,
    parameterization: Parameterization = DEFAULT_PARAMETERIZATION,
    noise: float = 0.01,
    batch_size: int | None = None,
) -> FilterImages:
    """Images that maximize the mean activation of each chosen filter.

    Args:
        model: a Keras model taking ``(N, 48, 48, 1)`` raw pixels.
        layer: any layer; for conv layers the objective is a channel's spatial
            mean (``conv3`` is before BatchNorm; ``act3`` after BN and LeakyReLU).
        filters: channel indices, repeats allowed (default: all channels of ``layer``).
        steps, learning_rate: Adam ascent steps and step size on the parameterization.
        seed: an ``int``, or one per filter row; a row's start noise and
            transform draws are seeded by ``(seed, filter)``.
        transform: random transform each step (default jitter 2 px, scale ±5%,
            rotation ±5°); ``None`` for none.
        penalty: subtracted from the objective (e.g. ``total_variation(0.1)``); default none.
        parameterization: :func:`fourier` (default) or :func:`pixels`.
        noise: standard deviation of the start noise on the parameterization.
        batch_size: rows per optimization; ``None`` (default) optimizes all
            chosen filters in one batch; smaller saves memory, same results.

    Returns:
        :class:`FilterImages` (``uint8`` images plus the objective trace).
    """
    chosen = _filter_indices(model, layer, filters)
    seeds = np.broadcast_to(np.asarray(seed, np.int64), chosen.shape)
    if steps < 1:
        raise FerError(f"steps is {steps} (expected a positive integer)")
    parts = [
        _ascend_rows(
            model,
            layer,
            chosen[s],
            seeds[s],
            steps,
            learning_rate,
            transform or _identity,
            penalty,
            parameterization,
            noise,
        )
        for s in in_batches(len(chosen), batch_size or len(chosen))
    ]
    first, images = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    trace = np.concatenate([p[2] for p in parts], axis=1).astype(np.float32)
    start, final = objective_values(model, layer, first, chosen), objective_values(model, layer, images, chosen)
    return FilterImages(images, chosen, trace, start, final)


# ----------------------------------------------------------------------------- stability


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
    chosen = _filter_indices(model, layer, filters)
    rows = gradient_ascent(model, layer, np.tile(chosen, len(seeds)), seed=np.repeat(seeds, len(chosen)), **options)
    per_seed = rows.images.reshape(len(seeds), len(chosen), IMAGE_SIZE, IMAGE_SIZE)
    return np.array([seed_similarity(per_seed[:, k]) for k in range(len(chosen))], np.float32)


# ----------------------------------------------------------------------------- dossier


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
    chosen = _filter_indices(model, layer, filters)
    means = mean_activations(model, images, layer, batch_size)[:, chosen].T  # (K, N)
    top = np.argsort(-means, axis=1, kind="stable")[:, :top_k]
    per_emotion = np.full((len(chosen), len(EMOTIONS)), np.nan, np.float32)
    for e in range(len(EMOTIONS)):
        if np.any(labels == e):
            per_emotion[:, e] = means[:, labels == e].mean(axis=1)
    return Dossier(chosen, top.astype(np.int64), np.take_along_axis(means, top, axis=1).astype(np.float32), per_emotion)
