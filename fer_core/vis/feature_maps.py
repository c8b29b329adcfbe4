"""A layer's outputs for given faces: the seed report's "output of conv layer 5".

Works for any layer of any functional or ``Sequential`` model, nested models
included (see :mod:`fer_core.vis.probes`); the network is run only up to the
layer, in inference mode (no dropout or noise, BatchNorm moving statistics).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from fer_core.labels import IMAGE_SIZE
from fer_core.vis.probes import as_model_input, cached, in_batches, output_probe, probe


def _layer_fn(model: keras.Model, layer: str) -> Callable:
    def make():
        net = probe(model, layer, logits=False)
        spec = tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 1], tf.float32)
        return tf.function(lambda x: net(x, training=False), input_signature=[spec])

    return cached(model, ("layer", layer), make)


def feature_maps(model: keras.Model, images: np.ndarray, layer: str, batch_size: int = 64) -> np.ndarray:
    """The output of ``layer`` for each face.

    Args:
        model: a Keras model taking ``(N, 48, 48, 1)`` raw pixels.
        images: ``uint8 (N, 48, 48)`` or ``(N, 48, 48, 1)``, raw pixels 0..255.
        layer: the layer's name (e.g. ``conv5``, or ``act5`` for after BatchNorm and LeakyReLU).
        batch_size: faces per forward pass; the result does not depend on it.

    Returns:
        ``float32 (N, H, W, C)`` for a conv-like layer (``(N, C)`` for a dense
        one): activations as the layer outputs them, unbounded.
    """
    x = as_model_input(images)
    run = _layer_fn(model, layer)
    shape = tuple(probe(model, layer, logits=False).outputs[0].shape[1:])
    parts = [run(tf.constant(x[s])).numpy() for s in in_batches(len(x), batch_size)]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, *shape), np.float32)


def _spatial_mean(x):
    """``float32 (N, C)``: each channel's mean over the spatial axes of ``(N, ..., C)``; ``(N, C)`` stays as is."""
    x = tf.cast(x, tf.float32)
    return tf.reduce_mean(x, axis=list(range(1, len(x.shape) - 1))) if len(x.shape) > 2 else x


def mean_activations(
    model: keras.Model,
    images: np.ndarray,
    layer: str,
    batch_size: int = 64,
    on_progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Each channel's mean over spatial positions, per face: ``float32 (N, C)``; the network runs only up to
    ``layer``. ``on_progress`` is called with the fraction done (0..1) after each batch.

    This is the quantity gradient ascent maximizes (:mod:`fer_core.vis.filters`).
    """

    def make():
        net = probe(model, layer, logits=False)
        spec = tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 1], tf.float32)
        return tf.function(lambda x: _spatial_mean(net(x, training=False)), input_signature=[spec])

    parts = _in_batches(cached(model, ("means", layer), make), as_model_input(images), batch_size, on_progress)
    if not parts:
        return np.zeros((0, int(probe(model, layer, logits=False).outputs[0].shape[-1])), np.float32)
    return np.concatenate([means for (means,) in parts])


def _in_batches(run: Callable, x: np.ndarray, batch_size: int, on_progress: Callable[[float], None] | None) -> list:
    """``run`` (a tf.function of one batch, returning a tensor or a tuple of them) on ``x`` batch by batch:
    one tuple of numpy arrays per batch; ``on_progress`` gets the fraction done after each."""
    parts, batches = [], in_batches(len(x), batch_size)
    for i, part in enumerate(batches):
        out = run(tf.constant(x[part]))
        parts.append(tuple(t.numpy() for t in (out if isinstance(out, tuple | list) else (out,))))
        if on_progress is not None:
            on_progress((i + 1) / len(batches))
    return parts


def mean_activations_and_outputs(
    model: keras.Model,
    images: np.ndarray,
    layer: str,
    batch_size: int = 256,
    on_progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One forward pass, two answers: :func:`mean_activations` of ``layer`` and the model's outputs.

    The dashboard scores PublicTest and ranks every filter's faces with it, at half the cost of two passes.

    Args:
        images: ``uint8 (N, 48, 48)`` or ``(N, 48, 48, 1)``, raw pixels 0..255.
        on_progress: called with the fraction done (0..1) after each batch.

    Returns:
        ``(float32 (N, C) channel means, float32 (N, K) outputs)``; the outputs are ``model.predict``'s
        (7 probabilities for a FER Lens model), from the same layers.
    """

    def make():
        net = output_probe(model, layer)
        spec = tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 1], tf.float32)

        def means_and_outputs(x):
            maps, output = net(x, training=False)
            return _spatial_mean(maps), tf.cast(output, tf.float32)

        return tf.function(means_and_outputs, input_signature=[spec])

    parts = _in_batches(cached(model, ("means and outputs", layer), make), as_model_input(images), batch_size,
                        on_progress)
    if not parts:
        return tuple(np.zeros((0, int(out.shape[-1])), np.float32) for out in output_probe(model, layer).outputs)
    means, outputs = zip(*parts)
    return np.concatenate(means), np.concatenate(outputs)
