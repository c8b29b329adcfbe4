"""Class activation maps at any conv layer: Grad-CAM and Grad-CAM++.

* :func:`grad_cam` -- ReLU of the gradient-weighted channels of a layer,
  upsampled to 48x48 (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations
  from Deep Networks via Gradient-based Localization"); >= 0;
* :func:`grad_cam_plus_plus` -- Grad-CAM with pixel-wise channel weights
  (Chattopadhyay et al. 2018, "Grad-CAM++: Generalized Gradient-based Visual
  Explanations for Deep Convolutional Networks"); >= 0.

Inputs, targets and batching as in :mod:`fer_core.vis.gradients`; both return
``float32 (N, 48, 48)``, not normalized (units of the layer's activations).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from fer_core.errors import FerError
from fer_core.labels import IMAGE_SIZE
from fer_core.vis.gradients import PIXELS_SPEC, TARGETS_SPEC, resolve_targets
from fer_core.vis.probes import as_model_input, cached, cam_layer, in_batches, probe


def _layer_gradient_fn(model: keras.Model, layer: str) -> Callable:
    def make():
        net = probe(model, layer)

        @tf.function(input_signature=[PIXELS_SPEC, TARGETS_SPEC])
        def gradient(x, target):
            with tf.GradientTape() as tape:
                activations, logits = net(x, training=False)
                score = tf.gather(logits, target, batch_dims=1)
            gradient = tape.gradient(score, activations)
            return tf.cast(activations, tf.float32), tf.cast(gradient, tf.float32)

        return gradient

    return cached(model, ("layer_gradient", layer), make)


def _upsample(cams: np.ndarray) -> np.ndarray:
    """``float32 (N, h, w)`` -> ``(N, 48, 48)``, bilinear (keeps values >= 0)."""
    resized = tf.image.resize(cams[..., None], (IMAGE_SIZE, IMAGE_SIZE), method="bilinear")
    return resized.numpy()[..., 0].astype(np.float32)


def _cam(model, images, target, layer, batch_size, weighted_sum) -> np.ndarray:
    """``relu(weighted_sum(A, dScore/dA))`` upsampled to 48x48 (``(N, h, w, K)`` twice -> ``(N, h, w)`` summed)."""
    x = as_model_input(images)
    layer = layer or cam_layer(model)
    shape = probe(model, layer).outputs[0].shape
    if len(shape) != 4:
        raise FerError(f"layer '{layer}' has output shape {tuple(shape)} (expected (N, h, w, channels))")
    targets = resolve_targets(model, x, target)
    run = _layer_gradient_fn(model, layer)
    cams = np.zeros((len(x), shape[1], shape[2]), np.float32)
    for s in in_batches(len(x), batch_size):
        activations, gradients = (t.numpy() for t in run(tf.constant(x[s]), tf.constant(targets[s])))
        cams[s] = np.maximum(weighted_sum(activations, gradients), 0.0)
    return _upsample(cams)


def _grad_cam_sum(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Selvaraju et al.'s ``sum_k alpha_k A_k``, alpha_k the spatial mean of the gradient: ``(N, h, w)``."""
    return (gradients.mean(axis=(1, 2), keepdims=True) * activations).sum(axis=-1)


def _plus_plus_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Chattopadhyay et al.'s ``w_k = sum_ij alpha_ij^k relu(g_ij^k)`` for ``activations >= 0``: ``(N, 1, 1, K)``.

    For Y = exp(S) and a score S linear in A beyond the layer (exact for a
    piecewise-linear head), dY/dA = Y g, d2Y/dA2 = Y g^2, d3Y/dA3 = Y g^3
    (the paper's eq. 19), so alpha = g^2 / (2 g^2 + sum_ab A_ab g^3) =
    1 / (2 + g sum_ab A_ab) where g != 0. Written that way no square or cube of
    a small gradient is formed (the cube of a 1e-13 gradient is 0 in float32,
    which made the textbook form 0/0), and for A >= 0 every alpha that counts (g > 0) lies in (0, 1/2]. The common
    factor Y of the weights only scales the map and is dropped.
    """
    channel_sums = activations.sum(axis=(1, 2), keepdims=True)
    positive = gradients > 0
    alpha = np.divide(1.0, 2.0 + gradients * channel_sums, out=np.zeros_like(gradients), where=positive)
    return (alpha * np.maximum(gradients, 0.0)).sum(axis=(1, 2), keepdims=True)


def _grad_cam_plus_plus_sum(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM++'s ``sum_k w_k A_k`` over the layer's two non-negative halves: ``(N, h, w)``.

    The paper derives its weights for non-negative (post-ReLU) feature maps. A
    signed layer (LeakyReLU, a raw conv) is rewritten without changing the
    network as ``A = A+ - A-`` with ``A+ = max(A, 0)`` and ``A- = max(-A, 0)``:
    2K non-negative maps whose gradients are ``g`` and ``-g``. Grad-CAM++ on
    those is the paper's method exactly, and on a ReLU layer (A- = 0) it is the
    paper's method on A itself. Applied to A directly, a LeakyReLU layer that is
    mostly negative (the seed CNN's act6: 87 % of its values) gives positive
    weights times negative maps, a sum below zero at every pixel, and after
    the final ReLU a blank map.
    """
    positive, negative = np.maximum(activations, 0.0), np.maximum(-activations, 0.0)
    return (_plus_plus_weights(positive, gradients) * positive
            + _plus_plus_weights(negative, -gradients) * negative).sum(axis=-1)


def grad_cam(
    model: keras.Model, images: np.ndarray, target=None, *, layer: str | None = None, batch_size: int = 64
) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) at any layer with a ``(N, h, w, K)`` output.

    ``relu(sum_k alpha_k A_k)`` with ``alpha_k`` the spatial mean of
    d logit[target] / d A_k, upsampled bilinearly to 48x48. ``layer`` defaults to
    the last conv block's rectified output (:func:`fer_core.vis.probes.cam_layer`).

    Returns:
        ``float32 (N, 48, 48)``, >= 0, not normalized (units of the layer's activations).
    """
    return _cam(model, images, target, layer, batch_size, _grad_cam_sum)


def grad_cam_plus_plus(
    model: keras.Model, images: np.ndarray, target=None, *, layer: str | None = None, batch_size: int = 64
) -> np.ndarray:
    """Grad-CAM++ (Chattopadhyay et al. 2018) at any layer with a ``(N, h, w, K)`` output.

    Like :func:`grad_cam` but each channel's weight is a pixel-weighted sum of
    its positive gradients, the pixel weights from the 2nd and 3rd derivatives
    of exp(logit[target]) (:func:`_plus_plus_weights`); a layer with negative
    values is read as its positive and negative halves
    (:func:`_grad_cam_plus_plus_sum`).

    Returns:
        ``float32 (N, 48, 48)``, >= 0, not normalized.
    """
    return _cam(model, images, target, layer, batch_size, _grad_cam_plus_plus_sum)
