"""Saliency maps, their sanity check, their faithfulness, and their averages.

One call shape for every method::

    saliency(model, images, method="vanilla", target=None, layer=None, **options)
        -> float32 (N, 48, 48)

``images`` are raw faces, ``uint8 (N, 48, 48)`` or ``(N, 48, 48, 1)`` with values
0..255 (the model normalizes inside). ``target`` is the class whose score is
explained: ``None`` for each image's predicted class, an ``int`` for the same
class everywhere, or an ``int (N,)`` array. Scores are the model's logits (the
input of its final softmax, see :mod:`fer_core.vis.probes`). Every method is
batched (``batch_size`` images per forward/backward pass) and its result does
not depend on the batch size.

Methods (``METHODS``), all ``float32 (N, 48, 48)``:

* ``vanilla`` -- |d score / d pixel| (Simonyan, Vedaldi & Zisserman 2013,
  "Deep Inside Convolutional Networks"); >= 0, signed with ``absolute=False``.
* ``smoothgrad`` -- the mean of vanilla maps over noisy copies of the image
  (Smilkov et al. 2017, "SmoothGrad: removing noise by adding noise"); >= 0.
* ``integrated_gradients`` -- (x - baseline) times the mean gradient along the
  straight path from the baseline (Sundararajan, Taly & Yan 2017, "Axiomatic
  Attribution for Deep Networks"); signed, sums to score(x) - score(baseline).
* ``grad_cam`` -- ReLU of the gradient-weighted channels of a conv layer,
  upsampled to 48x48 (Selvaraju et al. 2017, "Grad-CAM"); >= 0.
* ``grad_cam_plus_plus`` -- Grad-CAM with pixel-wise channel weights
  (Chattopadhyay et al. 2018, "Grad-CAM++"); >= 0.

Checks: :func:`randomization_check` and :func:`cascading_randomization` (Adebayo
et al. 2018, "Sanity Checks for Saliency Maps"), :func:`deletion_curve` and
:func:`insertion_curve` (Petsiuk, Das & Saenko 2018, "RISE"). Aggregates:
:func:`average_saliency` and :func:`saliency_difference`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from fer_core.errors import FerError
from fer_core.labels import IMAGE_SIZE
from fer_core.vis.probes import as_model_input, cached, in_batches, last_conv_layer, probe

# ----------------------------------------------------------------------------- compiled passes

_PIXELS = tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 1], tf.float32)
_TARGETS = tf.TensorSpec([None], tf.int32)


def _logits_fn(model: keras.Model) -> Callable:
    def make():
        net = probe(model)
        return tf.function(lambda x: net(x, training=False), input_signature=[_PIXELS])

    return cached(model, ("logits",), make)


def _input_gradient_fn(model: keras.Model) -> Callable:
    def make():
        net = probe(model)

        @tf.function(input_signature=[_PIXELS, _TARGETS])
        def gradient(x, target):
            with tf.GradientTape() as tape:
                tape.watch(x)
                score = tf.gather(net(x, training=False), target, batch_dims=1)
            return tape.gradient(score, x)

        return gradient

    return cached(model, ("input_gradient",), make)


def _layer_gradient_fn(model: keras.Model, layer: str) -> Callable:
    def make():
        net = probe(model, layer)

        @tf.function(input_signature=[_PIXELS, _TARGETS])
        def gradient(x, target):
            with tf.GradientTape() as tape:
                activations, logits = net(x, training=False)
                score = tf.gather(logits, target, batch_dims=1)
            gradient = tape.gradient(score, activations)
            return tf.cast(activations, tf.float32), tf.cast(gradient, tf.float32)

        return gradient

    return cached(model, ("layer_gradient", layer), make)


def logits(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's pre-softmax scores: ``float32 (N, C)`` for ``uint8 (N, 48, 48[, 1])`` faces."""
    x = as_model_input(images)
    run = _logits_fn(model)
    parts = [run(tf.constant(x[s])).numpy() for s in in_batches(len(x), batch_size)]
    if not parts:
        return np.zeros((0, int(probe(model).outputs[0].shape[-1])), np.float32)
    return np.concatenate(parts).astype(np.float32)


def _probabilities(model: keras.Model, x: np.ndarray, batch_size: int) -> np.ndarray:
    scores = logits(model, x, batch_size)
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


# ----------------------------------------------------------------------------- gradient methods


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


def _noise_scale(x: np.ndarray, noise: float) -> float:
    """Smilkov et al.'s sigma: ``noise`` times the image's value range (255 for a flat image)."""
    spread = float(x.max() - x.min())
    return noise * (spread if spread > 0 else 255.0)


def _groups(n: int, per_item: int, batch_size: int) -> list[slice]:
    """Groups of items whose ``per_item`` inputs each fill about one batch."""
    return in_batches(n, max(1, batch_size // per_item))


def smoothgrad(
    model: keras.Model,
    images: np.ndarray,
    target=None,
    *,
    samples: int = 25,
    noise: float = 0.15,
    seed: int = 0,
    absolute: bool = True,
    batch_size: int = 128,
) -> np.ndarray:
    """Mean vanilla gradient over noisy copies of each image (Smilkov et al. 2017).

    Each image gets ``samples`` copies with Gaussian noise of standard deviation
    ``noise`` times its value range (the paper's 10-20%), drawn from a generator
    seeded by ``seed`` and the image's pixels, so a face's map does not depend on
    the batch size, on its position or on the other images. The target is chosen on the clean
    image. ``absolute`` averages ``|gradient|`` (default) or the signed gradient.

    Returns:
        ``float32 (N, 48, 48)``, >= 0 when ``absolute``.
    """
    x = as_model_input(images)
    targets = resolve_targets(model, x, target)
    maps = np.empty((len(x), IMAGE_SIZE, IMAGE_SIZE), np.float32)
    for group in _groups(len(x), samples, batch_size):
        indices = range(len(x))[group]
        noisy = np.concatenate([_noisy_copies(x[i], samples, noise, seed) for i in indices])
        gradient = input_gradients(model, noisy, np.repeat(targets[group], samples), batch_size)
        gradient = gradient.reshape(len(indices), samples, IMAGE_SIZE, IMAGE_SIZE)
        maps[group] = (np.abs(gradient) if absolute else gradient).mean(axis=1)
    return maps


def _noisy_copies(image: np.ndarray, samples: int, noise: float, seed: int) -> np.ndarray:
    """``float32 (samples, 48, 48, 1)``: ``image`` plus Gaussian noise seeded by ``seed`` and the image's bytes."""
    rng = np.random.default_rng([seed, zlib.crc32(image.tobytes())])
    return image + rng.normal(0.0, _noise_scale(image, noise), (samples, *image.shape)).astype(np.float32)


def _baseline(x: np.ndarray, baseline) -> np.ndarray:
    """``float32`` like ``x``: ``black`` (0), ``gray`` (128), ``blur`` (Gaussian, sigma 5), a number or an array."""
    if isinstance(baseline, str):
        named = {
            "black": lambda: np.zeros_like(x),
            "gray": lambda: np.full_like(x, 128.0),
            "blur": lambda: blur(x, 5.0),
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
    start = _baseline(x, baseline)
    weights = np.full(steps + 1, 1.0 / steps, np.float32)
    weights[[0, -1]] /= 2  # trapezoidal rule
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)[None, :, None, None, None]
    maps = np.empty((len(x), IMAGE_SIZE, IMAGE_SIZE), np.float32)
    for group in _groups(len(x), steps + 1, batch_size):
        low, high = start[group][:, None], x[group][:, None]
        path = (low + alphas * (high - low)).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
        gradient = input_gradients(model, path, np.repeat(targets[group], steps + 1), batch_size)
        mean_gradient = np.tensordot(gradient.reshape(-1, steps + 1, IMAGE_SIZE, IMAGE_SIZE), weights, axes=([1], [0]))
        maps[group] = mean_gradient * (x[group] - start[group])[..., 0]
    return maps


# ----------------------------------------------------------------------------- class activation maps


def _upsample(cams: np.ndarray) -> np.ndarray:
    """``float32 (N, h, w)`` -> ``(N, 48, 48)``, bilinear (keeps values >= 0)."""
    resized = tf.image.resize(cams[..., None], (IMAGE_SIZE, IMAGE_SIZE), method="bilinear")
    return resized.numpy()[..., 0].astype(np.float32)


def _cam(model, images, target, layer, batch_size, channel_weights) -> np.ndarray:
    """``relu(sum_k w_k A_k)`` upsampled to 48x48, with ``w = channel_weights(A, dScore/dA)``."""
    x = as_model_input(images)
    layer = layer or last_conv_layer(model)
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
    the last ``Conv2D`` layer.

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


# ----------------------------------------------------------------------------- one call shape

METHODS: dict[str, Callable[..., np.ndarray]] = {
    "vanilla": vanilla_gradient,
    "smoothgrad": smoothgrad,
    "integrated_gradients": integrated_gradients,
    "grad_cam": grad_cam,
    "grad_cam_plus_plus": grad_cam_plus_plus,
}
LAYER_METHODS = ("grad_cam", "grad_cam_plus_plus")


def saliency(
    model: keras.Model, images: np.ndarray, method: str = "vanilla", target=None, layer: str | None = None, **options
) -> np.ndarray:
    """Any method of :data:`METHODS` with one call shape.

    Args:
        model: a Keras model ``(N, 48, 48, 1)`` raw pixels -> class scores or probabilities.
        images: ``uint8 (N, 48, 48)`` or ``(N, 48, 48, 1)``, raw pixels 0..255.
        method: a key of :data:`METHODS`.
        target: ``None`` (each image's predicted class), an ``int`` or ``int (N,)``.
        layer: the layer for the Grad-CAM methods (default: the last ``Conv2D``).
        **options: the method's keyword options (``batch_size``, ``samples``, ``steps``, ...).

    Returns:
        ``float32 (N, 48, 48)``; see each method for its sign and units.
    """
    if method not in METHODS:
        raise FerError(f"unknown saliency method '{method}' (expected one of {', '.join(METHODS)})")
    if method in LAYER_METHODS:
        options["layer"] = layer
    elif layer is not None:
        raise FerError(f"method '{method}' works on the input and takes no layer (layer='{layer}' given)")
    return METHODS[method](model, images, target, **options)


# ----------------------------------------------------------------------------- sanity check


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


# ----------------------------------------------------------------------------- faithfulness


class Curve(NamedTuple):
    """A deletion or insertion curve (Petsiuk et al. 2018).

    Attributes:
        fractions: ``float32 (S+1,)``, the fraction of pixels deleted or inserted, 0..1.
        scores: ``float32 (N, S+1)``, the target class's softmax probability at each fraction.
        auc: ``float32 (N,)``, area under ``scores`` over ``fractions`` (trapezoidal), 0..1.
            Deletion: lower is more faithful. Insertion: higher is more faithful.
    """

    fractions: np.ndarray
    scores: np.ndarray
    auc: np.ndarray


def blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``float32 (N, 48, 48[, 1])`` images, reflected at the borders."""
    radius = max(1, int(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    out = np.asarray(x, np.float32)
    for axis in (1, 2):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect")
        out = sum(w * np.take(padded, np.arange(k, k + out.shape[axis]), axis=axis) for k, w in enumerate(kernel))
    return out.astype(np.float32)


def _pixel_order(maps: np.ndarray) -> np.ndarray:
    """``int (N, 2304)``: pixel indices from the most to the least salient (stable)."""
    return np.argsort(-np.asarray(maps, np.float64).reshape(len(maps), -1), axis=1, kind="stable")


def _curve(model, images, maps, target, steps, substrate, deleting: bool, batch_size: int) -> Curve:
    x = as_model_input(images)
    if np.shape(maps) != x.shape[:3]:
        raise FerError(f"maps have shape {np.shape(maps)} (expected {x.shape[:3]}, one 48x48 map per image)")
    targets = resolve_targets(model, x, target)
    fill = _baseline(x, substrate)
    fractions = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    counts = np.round(fractions * IMAGE_SIZE * IMAGE_SIZE).astype(int)
    scores = np.empty((len(x), steps + 1), np.float32)
    for i, order in enumerate(_pixel_order(maps)):
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        changed = rank[None, :] < counts[:, None]  # (S+1, 2304): pixel already deleted/inserted
        source, other = (fill[i], x[i]) if deleting else (x[i], fill[i])
        frames = np.where(changed.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1), source, other)
        scores[i] = _probabilities(model, frames, batch_size)[:, targets[i]]
    auc = ((scores[:, 1:] + scores[:, :-1]) / 2 * np.diff(fractions)).sum(axis=1)
    return Curve(fractions, scores, auc.astype(np.float32))


def deletion_curve(
    model: keras.Model,
    images: np.ndarray,
    maps: np.ndarray,
    target=None,
    *,
    steps: int = 32,
    substrate="black",
    batch_size: int = 256,
) -> Curve:
    """Deletion curve (Petsiuk et al. 2018): remove the most salient pixels first.

    Pixels are replaced by ``substrate`` (``black`` as in the paper; ``gray``,
    ``blur``, a number or an array) in ``steps`` equal chunks, from the highest
    value of ``maps`` (``(N, 48, 48)``, any real dtype; pass ``abs`` of a signed
    map to rank by magnitude) down, and the target class probability is
    recorded. A faithful map makes it fall fast: low AUC.
    """
    return _curve(model, images, maps, target, steps, substrate, True, batch_size)


def insertion_curve(
    model: keras.Model,
    images: np.ndarray,
    maps: np.ndarray,
    target=None,
    *,
    steps: int = 32,
    substrate="blur",
    batch_size: int = 256,
) -> Curve:
    """Insertion curve (Petsiuk et al. 2018): restore the most salient pixels first.

    Starts from ``substrate`` (a blurred copy, as in the paper) and puts back the
    original pixels from the most salient down. A faithful map makes the target
    probability rise fast: high AUC.
    """
    return _curve(model, images, maps, target, steps, substrate, False, batch_size)


# ----------------------------------------------------------------------------- aggregates


def normalize_maps(maps: np.ndarray) -> np.ndarray:
    """``float32 (N, H, W)``: each ``|map|`` divided by its maximum, so 0..1 (all-zero maps stay 0)."""
    a = np.abs(np.asarray(maps, np.float32))
    peak = a.reshape(len(a), -1).max(axis=1, initial=0.0)[:, None, None]
    return np.divide(a, peak, out=np.zeros_like(a), where=peak > 0)


def average_saliency(
    model: keras.Model,
    images: np.ndarray,
    method: str = "vanilla",
    target=None,
    layer: str | None = None,
    *,
    normalize: bool = True,
    **options,
) -> np.ndarray:
    """The mean map over a set of faces, e.g. all true-fear faces predicted surprise.

    With ``normalize`` (default) each map is first scaled to 0..1
    (:func:`normalize_maps`), so every face counts equally.

    Returns:
        ``float32 (48, 48)``; 0..1 when ``normalize``.

    Raises:
        FerError: for an empty set.
    """
    if len(images) == 0:
        raise FerError("no images to average (the selected set is empty)")
    maps = saliency(model, images, method, target, layer, **options)
    return (normalize_maps(maps) if normalize else maps).mean(axis=0).astype(np.float32)


def saliency_difference(
    model: keras.Model,
    images_a: np.ndarray,
    images_b: np.ndarray,
    method: str = "vanilla",
    target_a=None,
    target_b=None,
    layer: str | None = None,
    *,
    normalize: bool = True,
    **options,
) -> np.ndarray:
    """``average_saliency(a) - average_saliency(b)``, e.g. fear->surprise minus fear->fear.

    Returns:
        ``float32 (48, 48)``, signed; -1..1 when ``normalize``. Positive where set
        ``a`` looks more than set ``b``.
    """
    mean_a = average_saliency(model, images_a, method, target_a, layer, normalize=normalize, **options)
    mean_b = average_saliency(model, images_b, method, target_b, layer, normalize=normalize, **options)
    return mean_a - mean_b
