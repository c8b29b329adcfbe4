"""The model a run trains: its architecture (fused for speed, ``--init`` weights), loss, optimizer and schedule."""

from __future__ import annotations

import keras

from fer_core.config import TrainConfig
from fer_core.data.splits import Split
from fer_core.errors import FerError
from fer_core.labels import IMAGE_SIZE
from fer_core.models.builders import build_model, flat_layers, input_normalization, load_model
from fer_core.models.fused import fused_model
from fer_core.training.accel import resolve_jit
from fer_core.training.pipeline import soft_targets


def learning_rate(config: TrainConfig, steps_per_epoch: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The peak rate, or a (warm-up +) cosine schedule over ``epochs * steps_per_epoch`` steps."""
    if config.schedule != "cosine":
        return config.learning_rate
    warmup = int(config.warmup_epochs * steps_per_epoch)
    total = max(config.epochs * steps_per_epoch - warmup, 1)
    if warmup:
        return keras.optimizers.schedules.CosineDecay(0.0, total, warmup_target=config.learning_rate, warmup_steps=warmup)
    return keras.optimizers.schedules.CosineDecay(config.learning_rate, total)


def make_optimizer(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The configured optimizer with its learning-rate schedule."""
    rate = learning_rate(config, steps_per_epoch)
    decay = config.weight_decay or None
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=0.9, nesterov=True, weight_decay=decay)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=config.weight_decay or 1e-4)
    return keras.optimizers.Adam(rate, weight_decay=decay)


def new_model(config: TrainConfig, train: Split, steps_per_epoch: int) -> keras.Model:
    """The configured architecture (taking ``config.crop`` crops if set), compiled.

    Its BatchNormalization layers are :class:`fer_core.models.fused.FusedBatchNormalization` for training speed.
    """
    model = fused_model(build_model(config.model, input_size=config.crop or IMAGE_SIZE,
                                    normalization=config.normalization, train_images=train.images))
    if config.init:
        copy_weights(load_model(config.init), model, config.init)
    if config.targets == "blend":  # the pipeline gives rows already smoothed toward the votes
        loss = keras.losses.CategoricalCrossentropy()
    elif soft_targets(config):  # the pipeline gives one-hot or vote rows; the loss smooths them (Szegedy et al. 2016)
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
    model.compile(optimizer=make_optimizer(config, steps_per_epoch), loss=loss, metrics=["accuracy"],
                  jit_compile=resolve_jit(config.jit))
    return model


def copy_weights(source: keras.Model, target: keras.Model, name: str) -> None:
    """Give every layer of ``target`` that has weights the weights of ``source``'s layer of the same name.

    Nested models (a crop wrapper) are looked into; ``source`` may be an inference
    model and ``target`` a fused training model: their layers hold the same variables.

    Raises:
        FerError: one line naming ``name`` and the first layer it lacks or whose shapes differ, or the
            input normalization when the two differ (weights trained on raw pixels would see standardized ones).
    """
    theirs, ours = input_normalization(source), input_normalization(target)
    if theirs != ours:
        raise FerError(f"{name}: --init model normalizes its input with '{theirs}', this run with '{ours}': "
                       f"pass --normalization {theirs}")
    by_name = {layer.name: layer for layer in flat_layers(source)}
    for layer in flat_layers(target):
        if not layer.weights:
            continue
        other = by_name.get(layer.name)
        shapes = [tuple(w.shape) for w in layer.weights]
        if other is None or [tuple(w.shape) for w in other.weights] != shapes:
            raise FerError(f"{name}: --init model has no layer {layer.name!r} with weights of shapes {shapes}: "
                           "it must be the same architecture")
        layer.set_weights(other.get_weights())
