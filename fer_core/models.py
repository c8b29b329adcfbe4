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

from fer_core.errors import FerError
from fer_core.labels import INPUT_SHAPE, NUM_CLASSES

NORMALIZATIONS = ("none", "standardize")
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


def normalization_layer(
    normalization: str, train_images: np.ndarray | None = None
) -> keras.layers.Layer | None:
    """The input normalization step, or ``None`` for raw values.

    ``standardize`` subtracts the per-pixel mean and divides by the per-pixel
    standard deviation, both fitted on ``train_images`` (``uint8 (N, 48, 48)``).
    """
    if normalization not in NORMALIZATIONS:
        raise FerError(f"unknown normalization '{normalization}' (expected one of {', '.join(NORMALIZATIONS)})")
    if normalization == "none":
        return None
    if train_images is None or len(train_images) == 0:
        raise FerError("normalization 'standardize' needs the training images to fit its mean and std")
    mean, variance = pixel_statistics(train_images)
    return layers.Normalization(axis=(1, 2, 3), mean=mean, variance=variance, name="standardize")


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
        normalization: ``none`` or ``standardize`` (see :func:`normalization_layer`).
        train_images: ``uint8 (N, 48, 48)``, needed for ``standardize``.

    Returns:
        An uncompiled ``keras.Model`` named ``seed``: ``(N, 48, 48, 1)`` raw
        pixels 0..255 -> ``(N, 7)`` probabilities. The pre-softmax scores are
        the output of the layer named ``logits``.
    """
    inputs = keras.Input(INPUT_SHAPE, name="pixels")
    norm = normalization_layer(normalization, train_images)
    x = norm(inputs) if norm is not None else inputs
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


def build_model(name: str, **options) -> keras.Model:
    """Build a registered model by name (``seed``, ...); options go to its builder."""
    if name not in MODELS:
        raise FerError(f"unknown model '{name}' (expected one of {', '.join(sorted(MODELS))})")
    return MODELS[name](**options)


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the model's 2D conv layers in order, nested models included."""
    names = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            names += conv_layer_names(layer)
        elif isinstance(layer, layers.Conv2D):
            names.append(layer.name)
    return names


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


def load_model(path: str | Path, compile: bool = False) -> keras.Model:
    """Load a ``.keras`` model with ``safe_mode`` on.

    ``path`` may be a ``.keras`` file or a run directory holding ``model.keras``.

    Raises:
        FerError: one line naming the file when it is missing or not a Keras model.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model.keras"
    if not path.is_file():
        raise FerError(f"{path}: no such model file (train one with `fer train` or pass a .keras file)")
    if path.suffix != ".keras":
        raise FerError(f"{path}: not a .keras model file (only the Keras 3 .keras format is loaded)")
    try:
        return keras.models.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FerError(f"{path}: cannot load model ({first[:200]})") from None
