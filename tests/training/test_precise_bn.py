"""Precise BatchNorm statistics: the moving mean and variance become plain averages over the faces given."""

import keras
import numpy as np

from fer_core.training.precise_bn import precise_batch_norm


def _tiny_model() -> keras.Model:
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(3, 3, name="conv")(inputs)
    x = keras.layers.GaussianNoise(0.9, name="noise")(x)
    x = keras.layers.BatchNormalization(momentum=0.5, name="bn")(x)
    x = keras.layers.Dropout(0.5, name="drop")(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x))


def test_moving_statistics_become_the_average_of_full_batch_statistics():
    keras.utils.set_random_seed(0)
    model = _tiny_model()
    images = np.random.default_rng(0).integers(0, 256, (70, 48, 48), np.uint8)
    weights = [w.copy() for w in model.get_weights()]
    assert precise_batch_norm(model, images, batch_size=32) == 1
    conv = keras.Model(model.inputs, model.get_layer("conv").output)
    outputs = conv(images[:64, ..., None].astype("float32")).numpy().reshape(2, -1, 3)  # 2 full batches; 6 left out
    bn = model.get_layer("bn")
    np.testing.assert_allclose(bn.moving_mean.numpy(), outputs.mean(axis=1).mean(axis=0), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(bn.moving_variance.numpy(), outputs.var(axis=1).mean(axis=0), rtol=1e-3)
    assert bn.momentum == 0.5 and model.get_layer("drop").rate == 0.5 and model.get_layer("noise").stddev == 0.9
    changed = [not np.array_equal(a, b) for a, b in zip(weights, model.get_weights())]
    assert sum(changed) == 2  # moving mean and variance only


def test_a_model_without_batch_norm_is_left_alone():
    inputs = keras.Input((48, 48, 1))
    model = keras.Model(inputs, keras.layers.Dense(7)(keras.layers.Flatten()(inputs)))
    assert precise_batch_norm(model, np.zeros((4, 48, 48), np.uint8)) == 0
