"""One call shape for every saliency method, and maps averaged over a set of faces.

::

    saliency(model, images, method="vanilla", target=None, layer=None, **options)
        -> float32 (N, 48, 48)

``images`` are raw faces, ``uint8 (N, 48, 48)`` or ``(N, 48, 48, 1)``, 0..255;
``target`` is ``None`` (each image's predicted class), an ``int`` or ``int (N,)``.
Methods (:data:`METHODS`): ``vanilla`` and ``smoothgrad`` and
``integrated_gradients`` (:mod:`fer_core.vis.gradients`; Simonyan et al. 2013,
Smilkov et al. 2017, Sundararajan et al. 2017), ``grad_cam`` and
``grad_cam_plus_plus`` (:mod:`fer_core.vis.cam`; Selvaraju et al. 2017,
Chattopadhyay et al. 2018). Aggregates: :func:`average_saliency` and
:func:`saliency_difference`.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from fer_core.errors import FerError
from fer_core.vis import SALIENCY_METHODS
from fer_core.vis.cam import grad_cam, grad_cam_plus_plus
from fer_core.vis.gradients import integrated_gradients, smoothgrad, vanilla_gradient

METHODS: dict[str, Callable[..., np.ndarray]] = {
    "vanilla": vanilla_gradient,
    "smoothgrad": smoothgrad,
    "integrated_gradients": integrated_gradients,
    "grad_cam": grad_cam,
    "grad_cam_plus_plus": grad_cam_plus_plus,
}
LAYER_METHODS = ("grad_cam", "grad_cam_plus_plus")
assert tuple(METHODS) == SALIENCY_METHODS, "fer_core.vis.SALIENCY_METHODS lists other methods"


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
