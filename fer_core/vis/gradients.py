"""Gradient attributions on the input pixels: vanilla gradient, SmoothGrad, Integrated Gradients.

``images`` are raw faces, ``uint8 (N, 48, 48)`` or ``(N, 48, 48, 1)`` with values
0..255 (the model normalizes inside). ``target`` is the class whose score is
explained: ``None`` for each image's predicted class, an ``int`` for the same
class everywhere, or an ``int (N,)`` array. Scores are the model's logits (the
input of its final softmax, see :mod:`fer_core.vis.probes`). Every method is
batched (``batch_size`` images per forward/backward pass) and its result does
not depend on the batch size. All return ``float32 (N, 48, 48)``:

* :func:`vanilla_gradient` -- |d score / d pixel| (Simonyan, Vedaldi & Zisserman
  2013, "Deep Inside Convolutional Networks"); signed with ``absolute=False``;
* :func:`smoothgrad` -- the mean of any attribution method over noisy copies of
  the image (Smilkov et al. 2017, "SmoothGrad: removing noise by adding noise"),
  a wrapper like captum's ``NoiseTunnel``; by default over the signed gradient;
* :func:`integrated_gradients` -- (x - baseline) times the mean gradient along
  the straight path from the baseline (Sundararajan, Taly & Yan 2017,
  "Axiomatic Attribution for Deep Networks"); signed, sums to
  score(x) - score(baseline).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from fer_core.errors import FerError
from fer_core.labels import IMAGE_SIZE
from fer_core.vis.probes import as_model_input, cached, in_batches, probe
from fer_core.vis.transforms import gaussian_blur

Attribution = Callable[..., np.ndarray]
"""``(model, images, target, *, batch_size, **options) -> float32 (N, 48, 48)``: any saliency method."""

PIXELS_SPEC = tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 1], tf.float32)
TARGETS_SPEC = tf.TensorSpec([None], tf.int32)

# ----------------------------------------------------------------------------- compiled passes


def _logits_fn(model: keras.Model) -> Callable:
    def make():
        net = probe(model)
        return tf.function(lambda x: net(x, training=False), input_signature=[PIXELS_SPEC])

    return cached(model, ("logits",), make)


def _input_gradient_fn(model: keras.Model) -> Callable:
    def make():
        net = probe(model)

        @tf.function(input_signature=[PIXELS_SPEC, TARGETS_SPEC])
        def gradient(x, target):
            with tf.GradientTape() as tape:
                tape.watch(x)
                score = tf.gather(net(x, training=False), target, batch_dims=1)
            return tape.gradient(score, x)

        return gradient

    return cached(model, ("input_gradient",), make)


def logits(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's pre-softmax scores: ``float32 (N, C)`` for ``uint8 (N, 48, 48[, 1])`` faces."""
    x = as_model_input(images)
    run = _logits_fn(model)
    parts = [run(tf.constant(x[s])).numpy() for s in in_batches(len(x), batch_size)]
    if not parts:
        return np.zeros((0, int(probe(model).outputs[0].shape[-1])), np.float32)
    return np.concatenate(parts).astype(np.float32)


def probabilities(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """``float32 (N, C)``: the softmax of :func:`logits`, rows summing to 1."""
    scores = logits(model, images, batch_size)
    scores = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)


def resolve_targets(model: keras.Model, images: np.ndarray, target, batch_size: int = 256) -> np.ndarray:
    """``int32 (N,)`` classes to explain: predicted ones for ``None``, else ``target`` broadcast."""
    x = as_model_input(images)
    if target is None:
        return logits(model, x, batch_size).argmax(axis=1).astype(np.int32)
    classes = int(probe(model).outputs[0].shape[-1])
    t = np.asarray(target)
    if t.dtype.kind not in "iu" or t.size == 0 or t.min() < 0 or t.max() >= classes or t.ndim > 1:
        raise FerError(f"target {t.tolist()} is not a class index (expected integers 0..{classes - 1})")
    if t.ndim == 1 and len(t) != len(x):
        raise FerError(f"target has {len(t)} classes for {len(x)} images (expected one int or one per image)")
    return np.broadcast_to(t, (len(x),)).astype(np.int32)


def input_gradients(model: keras.Model, x: np.ndarray, targets: np.ndarray, batch_size: int) -> np.ndarray:
    """``float32 (N, 48, 48)``: d logit[target] / d pixel for ``float32 (N, 48, 48, 1)`` inputs."""
    run = _input_gradient_fn(model)
    parts = [run(tf.constant(x[s]), tf.constant(targets[s])).numpy()[..., 0] for s in in_batches(len(x), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32)


def groups(n: int, per_item: int, batch_size: int) -> list[slice]:
    """Groups of items whose ``per_item`` inputs each fill about one batch."""
    return in_batches(n, max(1, batch_size // per_item))


# ----------------------------------------------------------------------------- vanilla gradient


def vanilla_gradient(
    model: keras.Model, images: np.ndarray, target=None, *, absolute: bool = True, batch_size: int = 64
) -> np.ndarray:
    """Gradient of the target logit with respect to the input pixels (Simonyan et al. 2013).

    Args:
        images: ``uint8 (N, 48, 48)`` or ``(N, 48, 48, 1)``, raw pixels 0..255.
        target: ``None`` (predicted class), an ``int`` or ``int (N,)``.
        absolute: return ``|gradient|`` as in the paper (``False``: the signed gradient).

    Returns:
        ``float32 (N, 48, 48)``, >= 0 when ``absolute``; units: logit per pixel level.
    """
    x = as_model_input(images)
    gradient = input_gradients(model, x, resolve_targets(model, x, target), batch_size)
    return np.abs(gradient) if absolute else gradient


def signed_gradient(model: keras.Model, images: np.ndarray, target=None, *, batch_size: int = 64) -> np.ndarray:
    """:func:`vanilla_gradient` with ``absolute=False``: ``float32 (N, 48, 48)``, signed."""
    return vanilla_gradient(model, images, target, absolute=False, batch_size=batch_size)


# ----------------------------------------------------------------------------- SmoothGrad


def _noise_scale(x: np.ndarray, noise: float) -> float:
    """Smilkov et al.'s sigma: ``noise`` times the image's value range (255 for a flat image)."""
    spread = float(x.max() - x.min())
    return noise * (spread if spread > 0 else 255.0)


def _noisy_copies(image: np.ndarray, samples: int, noise: float, seed: int) -> np.ndarray:
    """``float32 (samples, 48, 48, 1)``: ``image`` plus Gaussian noise seeded by ``seed`` and the image's bytes."""
    rng = np.random.default_rng([seed, zlib.crc32(image.tobytes())])
    return image + rng.normal(0.0, _noise_scale(image, noise), (samples, *image.shape)).astype(np.float32)


def smoothgrad(
    model: keras.Model,
    images: np.ndarray,
    target=None,
    *,
    attribute: Attribution = signed_gradient,
    samples: int = 25,
    noise: float = 0.15,
    seed: int = 0,
    absolute: bool = True,
    batch_size: int = 128,
    **options,
) -> np.ndarray:
    """SmoothGrad (Smilkov et al. 2017): the mean of ``attribute``'s maps over noisy copies of each image.

    A wrapper over any attribution method, like captum's ``NoiseTunnel``: each
    image gets ``samples`` copies with Gaussian noise of standard deviation
    ``noise`` times its value range (the paper's 10-20%), drawn from a generator
    seeded by ``seed`` and the image's pixels, so a face's map does not depend
    on the batch size, on its position or on the other images. The target is
    chosen on the clean image.

    Args:
        attribute: the method smoothed (default :func:`signed_gradient`, the
            paper's); e.g. ``functools.partial(grad_cam, layer="conv5")``.
        absolute: average ``|map|`` (default) or the signed maps.
        batch_size: inputs per pass; passed on to ``attribute``.
        **options: more keyword options of ``attribute``.

    Returns:
        ``float32 (N, 48, 48)``, >= 0 when ``absolute``.
    """
    x = as_model_input(images)
    targets = resolve_targets(model, x, target)
    maps = np.empty((len(x), IMAGE_SIZE, IMAGE_SIZE), np.float32)
    for group in groups(len(x), samples, batch_size):
        indices = range(len(x))[group]
        noisy = np.concatenate([_noisy_copies(x[i], samples, noise, seed) for i in indices])
        found = attribute(model, noisy, np.repeat(targets[group], samples), batch_size=batch_size, **options)
        found = np.asarray(found).reshape(len(indices), samples, IMAGE_SIZE, IMAGE_SIZE)
        maps[group] = (np.abs(found) if absolute else found).mean(axis=1)
    return maps


# ----------------------------------------------------------------------------- Integrated Gradients


def baseline_images(x: np.ndarray, baseline) -> np.ndarray:
    """``float32`` like ``x`` ``(N, 48, 48, 1)``: ``black`` (0), ``gray`` (128), ``blur`` (Gaussian, sigma 5),
    a number or an array of one 48x48 image or one per input."""
    if isinstance(baseline, str):
        named = {
            "black": lambda: np.zeros_like(x),
            "gray": lambda: np.full_like(x, 128.0),
            "blur": lambda: gaussian_blur(x, 5.0),
        }
        if baseline not in named:
            raise FerError(f"unknown baseline '{baseline}' (expected black, gray, blur, a number or an array)")
        return named[baseline]()
    b = np.asarray(baseline, np.float32)
    if b.ndim == 0:
        return np.full_like(x, float(b))
    if b.size % (IMAGE_SIZE * IMAGE_SIZE) or b.size // (IMAGE_SIZE * IMAGE_SIZE) not in (1, len(x)):
        raise FerError(f"baseline has shape {b.shape} (expected (48, 48), (1, 48, 48) or one 48x48 image per input)")
    return np.broadcast_to(b.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1), x.shape).copy()


def integrated_gradients(
    model: keras.Model,
    images: np.ndarray,
    target=None,
    *,
    baseline="black",
    steps: int = 64,
    batch_size: int = 128,
) -> np.ndarray:
    """Integrated Gradients (Sundararajan et al. 2017).

    ``(x - x') * mean gradient`` on the straight path from the baseline ``x'`` to
    ``x``, integrated with the trapezoidal rule over ``steps`` intervals (the
    error shrinks about as 1/steps on ReLU networks: about 1% at 32 and 0.5% at
    64 on our test CNN; the paper advises 20 to 300 steps). The
    default baseline is a black image (all zeros), the paper's choice for images:
    it carries no face at all; ``gray``, ``blur`` (a heavily blurred copy), a
    number or a ``(N|1, 48, 48)`` array can be given instead.

    Returns:
        ``float32 (N, 48, 48)``, signed; each map sums to about
        ``logit(x) - logit(x')`` for the target (completeness).
    """
    x = as_model_input(images)
    targets = resolve_targets(model, x, target)
    start = baseline_images(x, baseline)
    weights = np.full(steps + 1, 1.0 / steps, np.float32)
    weights[[0, -1]] /= 2  # trapezoidal rule
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)[None, :, None, None, None]
    maps = np.empty((len(x), IMAGE_SIZE, IMAGE_SIZE), np.float32)
    for group in groups(len(x), steps + 1, batch_size):
        low, high = start[group][:, None], x[group][:, None]
        path = (low + alphas * (high - low)).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
        gradient = input_gradients(model, path, np.repeat(targets[group], steps + 1), batch_size)
        mean_gradient = np.tensordot(gradient.reshape(-1, steps + 1, IMAGE_SIZE, IMAGE_SIZE), weights, axes=([1], [0]))
        maps[group] = mean_gradient * (x[group] - start[group])[..., 0]
    return maps
