"""Model builders, registered by name.

Every model takes raw pixels ``float32 (N, 48, 48, 1)`` in 0..255 and returns
``float32 (N, 7)`` softmax probabilities. Normalization lives inside the model;
training-only layers (GaussianNoise, Dropout) are inactive at inference. Only
built-in Keras layers are used, so ``keras.models.load_model`` alone (with
``safe_mode`` on) loads any saved model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
from keras import layers

from fer_core.config import NORMALIZATIONS
from fer_core.errors import FerError
from fer_core.labels import INPUT_SHAPE, NUM_CLASSES
from fer_core.paths import keras_archive_config, model_file

MODELS: dict[str, Callable[..., keras.Model]] = {}


def register(name: str) -> Callable:
    """Decorator: make a builder available to :func:`build_model` as ``name``."""

    def wrap(builder: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
        MODELS[name] = builder
        return builder

    return wrap


def pixel_statistics(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and variance of ``uint8 (N, 48, 48)`` images, each ``float32 (48, 48, 1)``."""
    x = images.reshape(len(images), *INPUT_SHAPE).astype(np.float64)
    return x.mean(axis=0).astype(np.float32), x.var(axis=0).astype(np.float32)


def input_stage(inputs, normalization: str, train_images: np.ndarray | None = None, *, per_pixel: bool = True):
    """The model's first layer, its input normalization (no layer for ``none``).

    * ``none``: raw values 0..255.
    * ``standardize``: subtract the mean and divide by the standard deviation
      fitted on ``train_images`` (``uint8 (N, 48, 48)``): per pixel (the seed
      report's), or one scalar pair with ``per_pixel=False`` (for models that
      see shifted crops, where a pixel has no fixed place).
    * ``per_image``: each face to mean 0 and standard deviation 1 on its own, so
      a face's brightness and contrast do not matter.

    Returns:
        The normalized tensor (``inputs`` itself for ``none``).
    """
    if normalization not in NORMALIZATIONS:
        raise FerError(f"unknown normalization '{normalization}' (expected one of {', '.join(NORMALIZATIONS)})")
    x = inputs
    if normalization == "per_image":
        # Each face's own mean and variance over all pixels; epsilon 1.0 (variance is ~10^3) keeps blank faces finite.
        x = layers.LayerNormalization(axis=(1, 2, 3), center=False, scale=False, epsilon=1.0, name="per_image")(x)
    elif normalization == "standardize":
        if train_images is None or len(train_images) == 0:
            raise FerError("normalization 'standardize' needs the training images to fit its mean and std")
        mean, variance = pixel_statistics(train_images)
        if per_pixel:
            x = layers.Normalization(axis=(1, 2, 3), mean=mean, variance=variance, name="standardize")(x)
        else:
            total = float(variance.mean() + mean.var())  # law of total variance over pixels
            x = layers.Normalization(axis=None, mean=float(mean.mean()), variance=total, name="standardize")(x)
    return x


def input_normalization(model: keras.Model) -> str:
    """The :func:`input_stage` a built model has, told by its layer's name: ``none``, ``standardize`` or
    ``per_image`` (the normalization layers hold no weights, so comparing weights cannot tell them apart)."""
    names = {layer.name for layer in flat_layers(model)}
    return next((kind for kind in ("standardize", "per_image") if kind in names), "none")


def _conv_block(x, index: int, filters: int, *, noise: float = 0.0, pool: bool, dropout: float, bn_momentum: float):
    x = layers.Conv2D(filters, 3, padding="same", name=f"conv{index}")(x)
    if noise:
        x = layers.GaussianNoise(noise, name=f"noise{index}")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name=f"bn{index}")(x)
    x = layers.LeakyReLU(negative_slope=0.3, name=f"act{index}")(x)
    if pool:
        x = layers.MaxPooling2D(2, name=f"pool{index}")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"drop{index}")(x)
    return x


@register("seed")
def build_seed(normalization: str = "standardize", train_images: np.ndarray | None = None) -> keras.Model:
    """The seed report's CNN, layer for layer.

    Six 3x3 "same" conv layers (the report gives no kernel size; 3x3 is our
    choice) of 16, 32, 64, 128, 256, 512 filters, each followed by
    BatchNormalization (momentum 0.5) and LeakyReLU(0.3); GaussianNoise(0.1)
    after conv2; 2x2 max-pooling after conv3..conv6 (48 -> 24 -> 12 -> 6 -> 3)
    with dropout 0.1, 0.2, 0.2, 0.2; then flatten (4608) -> dense 512 -> BN ->
    LeakyReLU -> dropout 0.5 -> dense 256 -> LeakyReLU -> dense 7 -> softmax.

    Args:
        normalization: ``none``, ``standardize`` or ``per_image`` (see :func:`input_stage`).
        train_images: ``uint8 (N, 48, 48)``, needed for ``standardize``.

    Returns:
        An uncompiled ``keras.Model`` named ``seed``: ``(N, 48, 48, 1)`` raw
        pixels 0..255 -> ``(N, 7)`` probabilities. The pre-softmax scores are
        the output of the layer named ``logits``.
    """
    inputs = keras.Input(INPUT_SHAPE, name="pixels")
    x = input_stage(inputs, normalization, train_images)
    x = _conv_block(x, 1, 16, pool=False, dropout=0.0, bn_momentum=0.5)
    x = _conv_block(x, 2, 32, noise=0.1, pool=False, dropout=0.0, bn_momentum=0.5)
    for index, filters, dropout in ((3, 64, 0.1), (4, 128, 0.2), (5, 256, 0.2), (6, 512, 0.2)):
        x = _conv_block(x, index, filters, pool=True, dropout=dropout, bn_momentum=0.5)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, name="dense1")(x)
    x = layers.BatchNormalization(momentum=0.5, name="bn_dense1")(x)
    x = layers.LeakyReLU(negative_slope=0.3, name="act_dense1")(x)
    x = layers.Dropout(0.5, name="drop_dense1")(x)
    x = layers.Dense(256, name="dense2")(x)
    x = layers.LeakyReLU(negative_slope=0.3, name="act_dense2")(x)
    x = layers.Dense(NUM_CLASSES, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name="seed")


VGG_WIDTHS = {"vgg": (32, 64, 128, 256), "vgg-wide": (64, 128, 256, 512)}


def _vgg_builder(name: str) -> Callable[..., keras.Model]:
    widths = VGG_WIDTHS[name]

    def build(normalization: str = "standardize", train_images: np.ndarray | None = None,
              input_size: int = 40) -> keras.Model:
        return build_vgg(widths, normalization, train_images, input_size, name=name.replace("-", "_"))

    build.__doc__ = f"VGG-style CNN with stage widths {widths} (see :func:`build_vgg`)."
    return build


def build_vgg(
    widths: tuple[int, ...],
    normalization: str = "standardize",
    train_images: np.ndarray | None = None,
    input_size: int = 40,
    name: str = "vgg",
) -> keras.Model:
    """A VGG-style CNN (Simonyan & Zisserman 2015) sized for FER2013 crops.

    As in the VGG nets that do best on FER2013 (Khaireddin & Chen 2021), trained
    on random ``input_size`` crops of the 48x48 face: per stage two 3x3 conv
    layers (``conv<stage>_1``, ``conv<stage>_2``), each with BatchNormalization
    and ReLU, then 2x2 max-pooling and dropout (all stages but the last);
    global average pooling, dropout 0.4 and the 7 logits. ``standardize`` uses
    one scalar mean and standard deviation (see :func:`input_stage`).

    Args:
        widths: filters per stage, e.g. ``(32, 64, 128, 256)``.
        normalization: ``none``, ``standardize`` or ``per_image``.
        train_images: ``uint8 (N, 48, 48)``, needed for ``standardize``.
        input_size: side of the square input (crop) in pixels.

    Returns:
        An uncompiled model ``float32 (N, input_size, input_size, 1)`` raw pixels
        0..255 -> ``(N, 7)`` probabilities; the layer ``logits`` holds the scores.
        Wrap it with :func:`with_center_crop` to take whole 48x48 faces.
    """
    inputs = keras.Input((input_size, input_size, 1), name="pixels")
    x = input_stage(inputs, normalization, train_images, per_pixel=False)
    for stage, filters in enumerate(widths, start=1):
        for conv in (1, 2):
            tag = f"{stage}_{conv}"
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{tag}")(x)
            x = layers.BatchNormalization(name=f"bn{tag}")(x)
            x = layers.ReLU(name=f"act{tag}")(x)
        if stage < len(widths):
            x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
            x = layers.Dropout(0.1 * min(stage, 3), name=f"drop{stage}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.4, name="drop_head")(x)
    x = layers.Dense(NUM_CLASSES, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


for _name in VGG_WIDTHS:
    register(_name)(_vgg_builder(_name))


def build_model(name: str, input_size: int = INPUT_SHAPE[0], **options) -> keras.Model:
    """Build a registered model by name (``seed``, ``vgg``, ...); options go to its builder.

    ``input_size`` below 48 builds a model for square crops of that side (models
    ending in global pooling only); wrap it with :func:`with_center_crop` for saving.
    """
    if name not in MODELS:
        raise FerError(f"unknown model '{name}' (expected one of {', '.join(sorted(MODELS))})")
    if name == "seed":
        if input_size != INPUT_SHAPE[0]:
            raise FerError(f"the seed CNN takes whole {INPUT_SHAPE[0]}x{INPUT_SHAPE[1]} faces (no --crop); "
                           f"use one of {', '.join(VGG_WIDTHS)}")
        return MODELS[name](**options)
    return MODELS[name](input_size=input_size, **options)


def with_center_crop(model: keras.Model) -> keras.Model:
    """``model`` (taking square crops) behind a center crop, so it takes whole faces.

    Returns:
        A model named ``<model name>_crop<side>`` from raw ``float32 (N, 48, 48, 1)``
        pixels to ``model``'s output (``model`` itself when it takes 48x48
        already); ``model`` is nested, weights shared.
    """
    size = model.inputs[0].shape[1]
    if size == INPUT_SHAPE[0]:
        return model
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.CenterCrop(size, size, name="center_crop")(inputs)
    return keras.Model(inputs, model(x), name=f"{model.name}_crop{size}")


def flat_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers in order, each nested model's layers inlined in its place."""
    return [inner for layer in model.layers
            for inner in (flat_layers(layer) if isinstance(layer, keras.Model) else [layer])]


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the model's 2D conv layers in order, nested models included."""
    return [layer.name for layer in flat_layers(model) if isinstance(layer, layers.Conv2D)]


def layer_summary(model: keras.Model) -> list[dict]:
    """One row per layer, as in a Keras summary, nested models inlined as ``outer/inner``.

    Returns:
        Dicts with ``layer`` (name), ``type`` (class name), ``output`` (shape
        without the batch axis, as text) and ``parameters`` (int); input layers are left out.
    """
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            rows += [{**row, "layer": f"{layer.name}/{row['layer']}"} for row in layer_summary(layer)]
        elif not isinstance(layer, layers.InputLayer):
            shape = str(tuple(layer.output.shape[1:]))
            rows.append({"layer": layer.name, "type": type(layer).__name__, "output": shape,
                         "parameters": int(layer.count_params())})
    return rows


PROBE_FACES = np.stack([np.full(INPUT_SHAPE, 128.0), np.tile(np.linspace(0.0, 255.0, INPUT_SHAPE[1])[None, :, None],
                                                               (INPUT_SHAPE[0], 1, 1))]).astype(np.float32)
CONTRACT = (f"FER Lens needs a model that takes {INPUT_SHAPE[0]}x{INPUT_SHAPE[1]}x{INPUT_SHAPE[2]} grayscale faces "
            f"(raw pixels 0..255) and returns {NUM_CLASSES} emotion probabilities (a softmax)")


def _shape_text(shapes: list[tuple]) -> str:
    """``64x64x1``, ``any x any x 1`` for unknown sides, several joined by ``and``."""
    return " and ".join("x".join("any" if d is None else str(d) for d in shape) or "scalar" for shape in shapes)


def check_contract(model: keras.Model, path: str | Path) -> None:
    """Raise unless ``model`` keeps the saved-model contract (see the module docstring).

    One input of shape ``(48, 48, 1)`` (a side left unknown fits too), one output of
    shape ``(7,)``, and on two probe faces (:data:`PROBE_FACES`: uniform gray, a
    horizontal ramp) 7 finite values per face in 0..1 that sum to 1 (a softmax).

    Raises:
        FerError: one line saying what the file takes and returns and what FER Lens needs.
    """
    takes = [tuple(t.shape[1:]) for t in model.inputs]
    returns = [tuple(t.shape[1:]) for t in model.outputs]
    fits = len(takes) == 1 and len(takes[0]) == len(INPUT_SHAPE) and all(
        d is None or d == want for d, want in zip(takes[0], INPUT_SHAPE))
    if not fits or returns != [(NUM_CLASSES,)]:
        raise FerError(f"{path}: takes {_shape_text(takes)} inputs and returns {_shape_text(returns)} values per face; "
                       f"{CONTRACT}")
    try:
        scores = keras.ops.convert_to_numpy(model(PROBE_FACES, training=False)).astype(np.float64)
    except Exception as exc:  # a layer that cannot run on a face: Keras raises many types
        raise FerError(f"{path}: fails on a {INPUT_SHAPE[0]}x{INPUT_SHAPE[1]} face ({exc}); {CONTRACT}") from None
    if not np.isfinite(scores).all():
        raise FerError(f"{path}: returns NaN or infinite values for a face (weights of a training run that "
                       f"diverged?); {CONTRACT}")
    sums = scores.sum(axis=1)
    if scores.min() < -1e-4 or scores.max() > 1 + 1e-4 or np.abs(sums - 1).max() > 1e-3:
        raise FerError(f"{path}: returns {NUM_CLASSES} values per face that are not probabilities (from "
                       f"{scores.min():.4g} to {scores.max():.4g}, summing to {sums[0]:.4g}); {CONTRACT}: "
                       "end the model with a softmax")


def _missing_class(entry: dict) -> str | None:
    """``'Weird' (registered as 'mine>Weird', layer 'weird')`` when a serialized object of a saved model config
    is of a class this Keras can neither build in nor find registered, else None."""
    name = entry.get("class_name")
    if "module" not in entry or not isinstance(name, str) or str(entry["module"] or "").startswith("keras"):
        return None
    registered = entry.get("registered_name") or name
    if keras.saving.get_registered_object(registered) is not None:
        return None
    layer = entry.get("name") or (entry.get("config") if isinstance(entry.get("config"), dict) else {}).get("name")
    return f"{name!r} (registered as {registered!r}" + (f", layer {layer!r})" if layer else ")")


def _missing_classes(config, found: list[str] | None = None) -> list[str]:
    """Every :func:`_missing_class` in a saved model config (nested dicts and lists), each once, in order."""
    found = [] if found is None else found
    if isinstance(config, dict):
        missing = _missing_class(config)
        if missing and missing not in found:
            found.append(missing)
    for value in config.values() if isinstance(config, dict) else config if isinstance(config, list) else ():
        _missing_classes(value, found)
    return found


def _load_failure(path: Path, exc: Exception) -> str:
    """The one-line reason a ``.keras`` archive (:func:`~fer_core.paths.keras_archive_config` passed) did not load."""
    missing = _missing_classes(keras_archive_config(path))
    if missing:
        return (f"{path}: cannot load model: it uses the class {', '.join(missing)}, which is neither a built-in "
                "Keras layer nor registered here; FER Lens loads models made of built-in Keras layers only")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{path}: cannot load model ({first})"


def load_model(path: str | Path, compile: bool = False, contract: bool = True) -> keras.Model:
    """Load a ``.keras`` model (a file or a run directory: :func:`~fer_core.paths.model_file`) with ``safe_mode`` on.

    With ``contract`` (the default) the model must keep the saved-model contract
    (:func:`check_contract`); a training checkpoint (crop inputs, fused layers) is loaded without it.

    Raises:
        FerError: one line naming the file when it is missing, not a Keras model, needs a layer class
        that is not here, or breaks the contract.
    """
    path = model_file(path)
    try:
        model = keras.models.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive
        raise FerError(_load_failure(path, exc)) from None
    if contract:
        check_contract(model, path)
    return model
