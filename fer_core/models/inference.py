"""A trained model as it is saved: float32, built-in layers only (no fused training layers), whole 48x48 faces in."""

from __future__ import annotations

from pathlib import Path

import keras

from fer_core.models.builders import with_center_crop
from fer_core.models.fused import builtin_config
from fer_core.runs.files import atomic_path


def policy_config(config, policy: str = "float32"):
    """A copy of a Keras model config computing in ``policy`` (``float32`` or ``mixed_bfloat16``): every layer's
    dtype policy set to it but the output ``softmax``'s, float32 under any policy as the builders make it; for
    float32, bfloat16 tensor dtypes too."""
    if isinstance(config, list):
        return [policy_config(item, policy) for item in config]
    if not isinstance(config, dict):
        return config
    if config.get("class_name") == "Activation" and config.get("config", {}).get("name") == "softmax":
        return config
    if config.get("class_name") == "DTypePolicy":
        return {**config, "config": {**config["config"], "name": policy}}
    return {k: ("float32" if k == "dtype" and v == "bfloat16" and policy == "float32" else policy_config(v, policy))
            for k, v in config.items()}


def inference_model(model: keras.Model) -> keras.Model:
    """``model`` (a training model or checkpoint) in float32 with built-in layers only, uncompiled, same weights.

    A model trained on crops comes behind a center crop, so it takes whole 48x48 faces.
    """
    clone = model.__class__.from_config(builtin_config(policy_config(model.get_config())))  # uncompiled
    clone.set_weights(model.get_weights())  # variables are float32 under mixed precision too
    return with_center_crop(clone)


def save_inference_model(model: keras.Model, path: Path) -> None:
    """Save :func:`inference_model` of ``model`` (no optimizer state) atomically."""
    with atomic_path(path) as tmp:
        inference_model(model).save(tmp)
