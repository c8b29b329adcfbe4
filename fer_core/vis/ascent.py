"""Gradient ascent (activation maximization) for any layer and filter.

Erhan et al. 2009 ("Visualizing Higher-Layer Features of a Deep Network") and
Simonyan et al. 2013 find an input that maximizes a unit by gradient ascent;
Olah, Mordvintsev & Schubert 2017 ("Feature Visualization", Distill) show which
regularizers turn the result from high-frequency noise into a readable image:
the 1/f Fourier parameterization (:mod:`fer_core.vis.parameterization`) and
small random transforms each step (:mod:`fer_core.vis.transforms`).

All chosen filters are optimized in ONE batched run: image ``k`` maximizes the
mean activation of filter ``filters[k]``; Adam updates each element on its own,
so a row does not depend on the others. Each row's start noise and transform
draws come from a generator seeded by ``(seed, filter)``: a result is
reproducible and does not depend on which other filters share the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from fer_core.errors import FerError
from fer_core.vis.feature_maps import mean_activations
from fer_core.vis.parameterization import DEFAULT_PARAMETERIZATION, Parameterization
from fer_core.vis.probes import cached, find_layer, in_batches, input_probe, probe
from fer_core.vis.transforms import DEFAULT_TRANSFORM, RANDOM_COLUMNS, Penalty, Transform, identity

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


def filter_indices(model: keras.Model, layer: str, filters) -> np.ndarray:
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
    chosen = filter_indices(model, layer, filters)
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
            transform or identity,
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
