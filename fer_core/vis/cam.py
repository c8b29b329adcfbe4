"""Class activation maps at any conv layer: Grad-CAM and Grad-CAM++.

* :func:`grad_cam` -- ReLU of the gradient-weighted channels of a layer,
  upsampled to 48x48 (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations
  from Deep Networks via Gradient-based Localization"); >= 0;
* :func:`grad_cam_plus_plus` -- Grad-CAM with pixel-wise channel weights
  (Chattopadhyay et al. 2018, "Grad-CAM++"); >= 0.

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


def _cam(model, images, target, layer, batch_size, channel_weights) -> np.ndarray:
    """``relu(sum_k w_k A_k)`` upsampled to 48x48, with ``w = channel_weights(A, dScore/dA)``."""
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
        cams[s] = np.maximum((channel_weights(activations, gradients) * activations).sum(axis=-1), 0.0)
    return _upsample(cams)


def _grad_cam_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Selvaraju et al.'s alpha_k: the spatial mean of the gradient, ``(N, 1, 1, K)``."""
    return gradients.mean(axis=(1, 2), keepdims=True)


def _grad_cam_plus_plus_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Chattopadhyay et al.'s w_k = sum_ij alpha_ij^k relu(g_ij^k), ``(N, 1, 1, K)``.

    With the exponential of the score, the paper's 2nd and 3rd derivatives are
    powers of the 1st (eq. 19): alpha = g^2 / (2 g^2 + sum_ab A_ab g^3). The
    common factor exp(score) of the weights only scales the map and is dropped.
    """
    g2, g3 = gradients**2, gradients**3
    denominator = 2.0 * g2 + activations.sum(axis=(1, 2), keepdims=True) * g3
    alpha = np.divide(g2, denominator, out=np.zeros_like(g2), where=denominator != 0)
    return (alpha * np.maximum(gradients, 0.0)).sum(axis=(1, 2), keepdims=True)


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
    return _cam(model, images, target, layer, batch_size, _grad_cam_weights)


def grad_cam_plus_plus(
    model: keras.Model, images: np.ndarray, target=None, *, layer: str | None = None, batch_size: int = 64
) -> np.ndarray:
    """Grad-CAM++ (Chattopadhyay et al. 2018) at any layer with a ``(N, h, w, K)`` output.

    Like :func:`grad_cam` but each channel's weight is a pixel-weighted sum of
    the positive gradients (see :func:`_grad_cam_plus_plus_weights`).

    Returns:
        ``float32 (N, 48, 48)``, >= 0, not normalized.
    """
    return _cam(model, images, target, layer, batch_size, _grad_cam_plus_plus_weights)
