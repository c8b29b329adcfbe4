"""Fused training layers compute what the built-in ones do, and saved models hold only built-in layers."""

import keras
import numpy as np
import pytest

from fer_core.models.builders import build_model
from fer_core.models.fused import FusedBatchNormalization, builtin_config, fused_model
from fer_core.models.inference import save_inference_model
from fer_core.runs.folder import Run


@pytest.mark.parametrize("center, scale", [(True, True), (False, False)])
def test_fused_batch_norm_step_equals_the_builtin_layer(center, scale):
    x = np.random.default_rng(0).normal(2.0, 3.0, (8, 12, 12, 5)).astype("float32")
    layers = [cls(momentum=0.5, center=center, scale=scale) for cls in (keras.layers.BatchNormalization,
                                                                        FusedBatchNormalization)]
    for layer in layers:
        layer.build(x.shape)
        layer.set_weights([np.full(w.shape, 0.5 + i, "float32") for i, w in enumerate(layers[0].get_weights())])
    outputs = [layer(x, training=True).numpy() for layer in layers]
    np.testing.assert_allclose(outputs[1], outputs[0], atol=1e-5)
    for builtin, fused in zip(layers[0].non_trainable_weights, layers[1].non_trainable_weights):
        np.testing.assert_allclose(fused.numpy(), builtin.numpy(), rtol=1e-5)  # moving mean, biased variance
    np.testing.assert_allclose(layers[1](x, training=False).numpy(), layers[0](x, training=False).numpy(), atol=1e-5)


def test_fused_batch_norm_gradients_equal_the_builtin_layer():
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(1).normal(0, 1, (4, 6, 6, 3)).astype("float32"))
    upstream = tf.constant(np.random.default_rng(2).normal(0, 1, (4, 6, 6, 3)).astype("float32"))
    grads = []
    for cls in (keras.layers.BatchNormalization, FusedBatchNormalization):
        layer = cls()
        layer.build(x.shape)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) * upstream)
        grads.append([g.numpy() for g in tape.gradient(loss, [x, *layer.trainable_weights])])
    for fused, builtin in zip(grads[1], grads[0]):
        np.testing.assert_allclose(fused, builtin, atol=1e-4)


def test_fused_model_swaps_conv_batch_norms_only_and_saves_builtin_layers(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (16, 48, 48), np.uint8)
    model = build_model("seed", train_images=images)
    fused = fused_model(model)
    kinds = {layer.name: type(layer) for layer in fused.layers}
    assert all(kinds[f"bn{i}"] is FusedBatchNormalization for i in range(1, 7))
    assert kinds["bn_dense1"] is keras.layers.BatchNormalization  # 2-D: left built-in
    x = images[..., None].astype("float32")
    np.testing.assert_allclose(fused.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    path = Run(tmp_path).model_file
    save_inference_model(fused, path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert not any(isinstance(layer, FusedBatchNormalization) for layer in loaded.layers)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    config = keras.saving.serialize_keras_object(fused)
    assert "FusedBatchNormalization" not in str(builtin_config(config))


def test_a_model_trained_in_bfloat16_is_saved_as_its_float32_evaluation(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (16, 48, 48), np.uint8)
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        trained = fused_model(build_model("seed", train_images=images))
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    path = Run(tmp_path).model_file
    save_inference_model(trained, path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
    reference = build_model("seed", train_images=images)  # float32, built-in layers, the same weights
    reference.set_weights(trained.get_weights())
    x = images[..., None].astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), reference.predict(x, verbose=0), atol=1e-6)
