"""The networks: builders by name, loading a saved model, ensembles, and the training-time fused layers
(and :mod:`~fer_core.models.inference`, which turns a training model back into the plain one that is saved)."""

from fer_core.models.builders import MODELS, build_model, conv_layer_names, flat_layers, layer_summary, load_model
from fer_core.models.inference import inference_model

__all__ = ["MODELS", "build_model", "conv_layer_names", "flat_layers", "inference_model", "layer_summary", "load_model"]
