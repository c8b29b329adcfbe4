"""Training a model into a run folder: input pipeline and augmentation, the loop, resume and heartbeat,
multi-device distribution, PreciseBN and weight averaging, and the precision/XLA choice."""

from fer_core.training.loop import train
from fer_core.training.precise_bn import calibrate_run
from fer_core.training.resume import clear_training

__all__ = ["calibrate_run", "clear_training", "train"]
