"""Training-time stand-ins for built-in layers: the same function, fewer passes over memory.

On this project's CPU a training step of the seed CNN spends more time in
BatchNormalization than in its convolutions (``benchmarks/train_speed.py
--profile``): Keras 3 computes batch moments, normalization and their
gradients as a dozen separate element-wise TensorFlow ops, each a full pass over
a ``(64, 48, 48, C)`` tensor. TensorFlow's ``FusedBatchNormV3`` (oneDNN on a
CPU) does the forward pass in two passes and the backward pass in two more:
2.9x faster on conv3's 48x48x64 activations here.

:func:`fused_model` swaps every 4-D BatchNormalization of a model for
:class:`FusedBatchNormalization` (a subclass: same weights, same moving-average
update) for training; :func:`builtin_config` swaps them back, so saved
inference models hold only built-in Keras layers.
"""

from __future__ import annotations

import keras

FUSED_NAME = "fer_lens>FusedBatchNormalization"


@keras.saving.register_keras_serializable(package="fer_lens")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` whose training call is one ``FusedBatchNormV3`` op (Ioffe & Szegedy 2015).

    Same variables and the same update as the built-in layer: the batch mean and
    biased variance over all axes but the last normalize the batch, and
    ``moving = momentum * moving + (1 - momentum) * batch``. TensorFlow's op
    returns the Bessel-corrected variance, which is scaled back by ``(n - 1) / n``.
    Inference, masks, renorm, other axes and other backends run the built-in code.
    """

    def _fusable(self, inputs, training, mask) -> bool:
        return (bool(training) and self.trainable and mask is None and not self.renorm
                and keras.config.backend() == "tensorflow" and len(inputs.shape) == 4
                and self.axis in (-1, 3))

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        # The op takes float32 or bfloat16 activations (statistics in float32 either way); float16 is upcast.
        x = inputs if inputs.dtype in (tf.float32, tf.bfloat16) else tf.cast(inputs, "float32")
        channels = x.shape[-1]
        gamma = self.gamma if self.scale else tf.ones([channels])
        beta = self.beta if self.center else tf.zeros([channels])
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x, tf.cast(gamma, "float32"), tf.cast(beta, "float32"), epsilon=self.epsilon, is_training=True)[:3]
        count = tf.cast(tf.size(x) // channels, "float32")
        biased = variance * (count - 1.0) / count
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + biased * (1.0 - self.momentum))
        return tf.cast(y, self.compute_dtype)


def _swap_batch_norm(config, to_fused: bool):
    """A copy of a model config with 4-D BatchNormalization layers swapped (fused <-> built-in)."""
    if isinstance(config, list):
        return [_swap_batch_norm(item, to_fused) for item in config]
    if not isinstance(config, dict):
        return config
    if to_fused and config.get("class_name") == "BatchNormalization" and _is_4d(config):
        return {**config, "class_name": "FusedBatchNormalization", "module": None, "registered_name": FUSED_NAME}
    if not to_fused and config.get("class_name") == "FusedBatchNormalization":
        return {**config, "class_name": "BatchNormalization", "module": "keras.layers", "registered_name": None}
    return {k: _swap_batch_norm(v, to_fused) for k, v in config.items()}


def _is_4d(layer_config: dict) -> bool:
    shape = (layer_config.get("build_config") or {}).get("input_shape")
    return shape is not None and len(shape) == 4


def builtin_config(config):
    """A copy of a model config with every :class:`FusedBatchNormalization` back as the built-in layer."""
    return _swap_batch_norm(config, to_fused=False)


def fused_model(model: keras.Model) -> keras.Model:
    """A copy of ``model`` (same weights) whose 4-D BatchNormalization layers are :class:`FusedBatchNormalization`.

    Only under the TensorFlow backend; elsewhere ``model`` itself.
    """
    if keras.config.backend() != "tensorflow":
        return model
    config = keras.saving.serialize_keras_object(model)
    clone = keras.saving.deserialize_keras_object(_swap_batch_norm(config, to_fused=True))
    clone.set_weights(model.get_weights())
    return clone


def batch_norm_count(model: keras.Model) -> int:
    """How many of the model's layers (nested ones included) are :class:`FusedBatchNormalization`."""
    return sum(batch_norm_count(layer) if isinstance(layer, keras.Model) else isinstance(layer, FusedBatchNormalization)
               for layer in model.layers)

