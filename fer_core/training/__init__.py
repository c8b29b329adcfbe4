"""Training a model into a run folder: input pipeline and augmentation, the loop, resume and heartbeat,
multi-device distribution, PreciseBN and weight averaging, and the precision/XLA choice."""

from fer_core.training.loop import train

__all__ = ["train"]
