"""The networks: builders by name, loading a saved model, ensembles, and the training-time fused layers."""

from fer_core.models.builders import MODELS, build_model, conv_layer_names, flat_layers, layer_summary, load_model

__all__ = ["MODELS", "build_model", "conv_layer_names", "flat_layers", "layer_summary", "load_model"]
