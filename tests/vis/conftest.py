"""Tiny Keras models for the visualization tests, built once per module (seeded)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from tests.conftest import make_faces


def _glorot(seed: int) -> keras.initializers.Initializer:
    return keras.initializers.GlorotUniform(seed=seed)


def tiny_cnn(dtype: str | None = None) -> keras.Model:
    """48x48x1 -> rescale -> conv c1 (4) -> BN -> LeakyReLU -> dropout -> pool -> conv c2 (6) -> LeakyReLU act2
    -> global average pooling -> logits -> softmax: the seed model's pattern in miniature."""
    inputs = keras.Input((48, 48, 1), name="pixels")
    x = layers.Rescaling(1 / 255.0, name="rescale")(inputs)
    x = layers.Conv2D(4, 3, padding="same", kernel_initializer=_glorot(1), name="c1", dtype=dtype)(x)
    x = layers.BatchNormalization(name="bn1", dtype=dtype)(x)
    x = layers.LeakyReLU(0.3, name="act1", dtype=dtype)(x)
    x = layers.Dropout(0.5, name="drop1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(6, 3, padding="same", kernel_initializer=_glorot(2), name="c2", dtype=dtype)(x)
    x = layers.LeakyReLU(0.3, name="act2", dtype=dtype)(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(7, kernel_initializer=_glorot(3), name="logits", dtype=dtype)(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name="tiny")


def linear_model(softmax_in_dense: bool = False) -> keras.Model:
    """logits = flatten(x) @ W + b: the gradient of logit c with respect to x is W[:, c]."""
    inputs = keras.Input((48, 48, 1))
    x = layers.Flatten()(inputs)
    if softmax_in_dense:
        outputs = layers.Dense(7, activation="softmax", kernel_initializer=_glorot(4), name="dense_softmax")(x)
    else:
        x = layers.Dense(7, kernel_initializer=_glorot(4), name="logits")(x)
        outputs = layers.Activation("softmax")(x)
    return keras.Model(inputs, outputs, name="linear")


def nested_model() -> keras.Model:
    """A Sequential whose first layer is a functional backbone (convs b1, b2) and whose head is Dense(softmax)."""
    inputs = keras.Input((48, 48, 1))
    x = layers.Rescaling(1 / 255.0)(inputs)
    x = layers.Conv2D(4, 3, padding="same", activation="relu", kernel_initializer=_glorot(5), name="b1")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(6, 3, padding="same", kernel_initializer=_glorot(6), name="b2")(x)
    x = layers.LeakyReLU(0.3, name="b2_act")(x)
    backbone = keras.Model(inputs, layers.GlobalAveragePooling2D()(x), name="backbone")
    head = layers.Dense(7, activation="softmax", kernel_initializer=_glorot(7), name="head")
    return keras.Sequential([keras.Input((48, 48, 1)), backbone, head], name="nested")


@pytest.fixture(scope="module")
def tiny() -> keras.Model:
    return tiny_cnn()


@pytest.fixture(scope="module")
def linear() -> keras.Model:
    return linear_model()


@pytest.fixture(scope="module")
def nested() -> keras.Model:
    return nested_model()


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    """``uint8 (6, 48, 48)`` random faces."""
    return make_faces(6, seed=3)[0]
