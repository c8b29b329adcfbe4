"""Taps into any Keras 3 model: its logits and the output of any inner layer.

Every visualization needs two things from a model: the class scores *before*
the final softmax (softmax gradients saturate and mix classes; Simonyan et al.
2013, Selvaraju et al. 2017 and Sundararajan et al. 2017 all differentiate the
pre-softmax score), and the output of a chosen inner layer (Grad-CAM, gradient
ascent, feature maps).

:func:`probe` rebuilds the model as a new functional graph over the model's own
layers, so weights are shared, never copied: a change to the model's weights is
seen by every probe. Nested models (a ``Sequential`` or functional sub-model
used as a layer) are inlined while rebuilding, so a layer inside a sub-model is
as reachable as a top-level one. The final softmax is dropped:

* an ``Activation("softmax")`` or ``Softmax`` layer last: its input is the logits;
* a ``Dense(..., activation="softmax")`` last: the logits are recomputed from the
  dense kernel and bias without the activation;
* anything else last: the model's output is taken as the scores as they are.

Probes are cached per model (weakly, :func:`cached`), so repeated calls do not
rebuild or retrace. Only functional and ``Sequential`` models with one input and one output
are supported; subclassed models are refused with a one-line error.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable

import keras
import numpy as np

from fer_core.errors import FerError
from fer_core.labels import INPUT_SHAPE
from fer_core.models.builders import conv_layer_names, flat_layers
from fer_core.quiet import RetracingNotice

_CACHE: weakref.WeakKeyDictionary[keras.Model, dict] = weakref.WeakKeyDictionary()
# Functions compiled per (model, layer) by :func:`cached` are each traced once, but TensorFlow counts the first
# traces of all functions made from the same code together and warns of "retracing": drop that notice.
logging.getLogger("tensorflow").addFilter(RetracingNotice())


# ----------------------------------------------------------------------------- inputs


def as_model_input(images: np.ndarray) -> np.ndarray:
    """Raw faces as the model takes them.

    Args:
        images: ``(N, 48, 48)`` or ``(N, 48, 48, 1)``, any real dtype (usually
            ``uint8``), raw pixel values 0..255.

    Returns:
        ``float32 (N, 48, 48, 1)``, values unchanged.

    Raises:
        FerError: when the shape is not one of the above.
    """
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:] != INPUT_SHAPE:
        raise FerError(f"images have shape {tuple(np.shape(images))} (expected (N, 48, 48) or (N, 48, 48, 1))")
    return x.astype(np.float32, copy=False)


def in_batches(n: int, batch_size: int) -> list[slice]:
    """Slices covering ``range(n)`` in chunks of at most ``batch_size``."""
    if batch_size < 1:
        raise FerError(f"batch_size is {batch_size} (expected a positive integer)")
    return [slice(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


# ----------------------------------------------------------------------------- layers


def find_layer(model: keras.Model, name: str) -> keras.layers.Layer:
    """The layer called ``name`` in ``model`` or in any model nested in it."""
    for layer in model.layers:
        if layer.name == name:
            return layer
        if isinstance(layer, keras.Model):
            try:
                return find_layer(layer, name)
            except FerError:
                pass
    raise FerError(
        f"model '{model.name}' has no layer named '{name}' (conv layers: {', '.join(conv_layer_names(model))})"
    )


def last_conv_layer(model: keras.Model) -> str:
    """Name of the model's last ``Conv2D`` layer (nested models included)."""
    names = conv_layer_names(model)
    if not names:
        raise FerError(f"model '{model.name}' has no Conv2D layer (pass layer= the name of a 4-D output layer)")
    return names[-1]


RECTIFIERS = (keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.PReLU)
BLOCK_ENDS = (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D, keras.layers.Flatten,
              keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D, keras.layers.Dense)


def cam_layer(model: keras.Model) -> str:
    """The layer class activation maps read by default: the rectified output of the last conv block.

    The last ``Conv2D``, or the activation layer that follows it before the next
    conv, pooling, flatten or dense layer (Conv -> BatchNormalization -> LeakyReLU
    gives the LeakyReLU): the feature maps CAMs are defined on (Chattopadhyay
    et al. 2018 assume them rectified; a LeakyReLU's negative part is handled in
    :func:`fer_core.vis.cam.grad_cam_plus_plus`).
    """
    layers = flat_layers(model)
    conv = last_conv_layer(model)
    start = next(i for i, layer in enumerate(layers) if layer.name == conv)
    chosen = conv
    for layer in layers[start + 1:]:
        if isinstance(layer, BLOCK_ENDS):
            break
        if isinstance(layer, RECTIFIERS) or (isinstance(layer, keras.layers.Activation)
                                             and not _is_softmax(layer.activation)):
            chosen = layer.name
    return chosen


def _is_softmax(function) -> bool:
    return function is keras.activations.softmax or getattr(function, "__name__", "") == "softmax"


def _is_model(layer) -> bool:
    return isinstance(layer, keras.Model)


# ----------------------------------------------------------------------------- replay


class _Replay:
    """Calls a model's layers on new symbolic inputs, inlining nested models.

    Records the output of every leaf layer by name, and for every output tensor
    the layer and arguments that produced it. A layer called more than once (a
    shared sub-model, e.g. an ensemble member seeing several test-time views)
    keeps the output of its first call: the center view in :mod:`fer_core.models.ensemble`.
    """

    def __init__(self):
        self.outputs: dict[str, object] = {}
        self.producers: dict[int, tuple] = {}

    def run(self, model: keras.Model, x):
        if isinstance(model, keras.Sequential):
            for layer in model.layers:
                x = self.call(layer, x)
            return x
        if not hasattr(model, "_run_through_graph"):
            raise FerError(f"model '{model.name}' is a subclassed model (only functional and Sequential are supported)")
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise FerError(
                f"model '{model.name}' has {len(model.inputs)} inputs and {len(model.outputs)} outputs "
                "(expected 1 and 1)"
            )
        out = model._run_through_graph([x], operation_fn=lambda op: lambda *a, **k: self.call(op, *a, **k))
        return out[0] if isinstance(out, (list, tuple)) else out

    def call(self, layer, *args, **kwargs):
        if _is_model(layer):
            return self.run(layer, args[0])
        out = layer(*args, **kwargs)
        self.outputs.setdefault(layer.name, out)
        self.producers[id(out)] = (layer, args)
        return out


def _logits(replay: _Replay, output):
    """The pre-softmax scores behind ``output`` (see the module docstring)."""
    layer, args = replay.producers.get(id(output), (None, ()))
    if isinstance(layer, keras.layers.Softmax) or (
        isinstance(layer, keras.layers.Activation) and _is_softmax(layer.activation)
    ):
        return args[0]
    if isinstance(layer, keras.layers.Dense) and _is_softmax(layer.activation):
        scores = keras.ops.matmul(args[0], layer.kernel)
        return scores + layer.bias if layer.use_bias else scores
    if layer is not None and _is_softmax(getattr(layer, "activation", None)):
        raise FerError(
            f"layer '{layer.name}' applies softmax inside; cannot recover its logits "
            "(end the model with Activation('softmax'))"
        )
    return output


def cached(model: keras.Model, key: tuple, make: Callable):
    """``make()``, computed once per model and ``key`` (probes, compiled passes).

    Held weakly by the model: dropped with it. Values share the model's weights,
    so changing the weights needs no new entry.
    """
    cache = _CACHE.setdefault(model, {})
    if key not in cache:
        cache[key] = make()
    return cache[key]


def probe(model: keras.Model, layer: str | None = None, *, logits: bool = True) -> keras.Model:
    """A model that returns the logits, a layer's output, or both.

    Args:
        model: a functional or ``Sequential`` Keras model taking ``(N, 48, 48, 1)``.
        layer: name of any layer (nested models included), or ``None``.
        logits: include the logits; ``False`` stops at ``layer`` (faster).

    Returns:
        A ``keras.Model`` sharing ``model``'s weights, from ``float32 (N, 48, 48, 1)``
        raw pixels to: ``float32 (N, C)`` logits when ``layer`` is ``None``;
        the layer's output (in the layer's compute dtype, e.g. ``float16``
        under mixed precision) when ``logits`` is ``False``; else
        ``[layer output, logits]``. Call it with ``training=False``.
    """
    if layer is None and not logits:
        raise FerError("probe needs a layer, the logits or both")
    return cached(model, ("probe", layer, logits), lambda: _build_probe(model, layer, logits))


def input_probe(model: keras.Model, layer: str) -> keras.Model:
    """A model from ``float32 (N, 48, 48, 1)`` raw pixels to the input of ``layer`` (its first call), weights shared."""
    return cached(model, ("input", layer), lambda: _build_input_probe(model, layer))


def output_probe(model: keras.Model, layer: str) -> keras.Model:
    """A model from ``float32 (N, 48, 48, 1)`` raw pixels to ``[layer output, the model's own output]``, weights
    shared: one forward pass gives a layer's activations and the model's probabilities (the same ops as
    ``model.predict``, not a softmax of the logits)."""
    return cached(model, ("output", layer), lambda: _build_output_probe(model, layer))


def _replayed(model: keras.Model, layer: str | None):
    """``(inputs, replay, output)``: ``model`` called on new symbolic pixels, every layer recorded."""
    if layer is not None:
        find_layer(model, layer)  # a clear error for a wrong name
    inputs = keras.Input(INPUT_SHAPE, name="pixels")
    replay = _Replay()
    return inputs, replay, replay.run(model, inputs)


def _build_input_probe(model: keras.Model, layer: str) -> keras.Model:
    inputs, replay, _ = _replayed(model, layer)
    _, args = replay.producers[id(replay.outputs[layer])]
    return keras.Model(inputs, args[0], name=f"{model.name}_into_{layer}")


def _build_output_probe(model: keras.Model, layer: str) -> keras.Model:
    inputs, replay, output = _replayed(model, layer)
    return keras.Model(inputs, [replay.outputs[layer], output], name=f"{model.name}_{layer}_and_output")


def _build_probe(model: keras.Model, layer: str | None, with_logits: bool) -> keras.Model:
    inputs, replay, output = _replayed(model, layer)
    outputs = []
    if layer is not None:
        outputs.append(replay.outputs[layer])  # not cast: a cast copy would be off the path to the logits
    if with_logits:
        outputs.append(keras.ops.cast(_logits(replay, output), "float32"))
    return keras.Model(inputs, outputs[0] if len(outputs) == 1 else outputs, name=f"{model.name}_probe")
