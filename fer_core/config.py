"""Configuration, defined once: the training config and its option metadata.

Kept free of TensorFlow so ``fer --help`` and the dashboard can read it fast.
Field metadata (``help``, ``choices``) generates the ``fer train`` flags.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from fer_core.errors import FerError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine")
# Options that may differ when a run is resumed (everything else must match).
RESUMABLE_CHANGES = ("data", "out", "epochs", "precision", "jit", "precise_bn", "snapshots")
PRECISIONS = ("auto", "float32", "mixed_bfloat16")
JIT_CHOICES = ("auto", "on", "off")
TARGETS = ("labels", "ferplus", "blend")


def _opt(default, help: str, choices: tuple | None = None):
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass
class TrainConfig:
    """Everything that defines a training run; ``fer train`` flags mirror these fields."""

    data: str | None = _opt(None, "FER2013 file or folder (default: $FER_DATA)")
    out: str | None = _opt(None, "run directory (default: runs/<model>-<normalization>-<aug|noaug>-s<seed>)")
    model: str = _opt("seed", "architecture name")
    epochs: int = _opt(60, "number of epochs")
    batch_size: int = _opt(64, "images per training step")
    optimizer: str = _opt("adam", "optimizer", OPTIMIZERS)
    learning_rate: float = _opt(1e-3, "peak learning rate")
    schedule: str = _opt("cosine", "learning-rate schedule over the run", SCHEDULES)
    warmup_epochs: float = _opt(0.0, "linear warm-up from 0 to the peak rate, in epochs (cosine only)")
    weight_decay: float = _opt(0.0, "decoupled weight decay, any optimizer: each step w -= learning_rate * weight_decay * w, "
                                "outside the momentum (SGD: 10x PyTorch's weight_decay for the same pull); "
                                "adamw uses 1e-4 when 0")
    augment: bool = _opt(True, "random flip / rotation / shift / zoom on training images")
    flip: bool = _opt(True, "random horizontal flip (with --augment)")
    rotation: float = _opt(10.0, "max random rotation in degrees (with --augment)")
    shift: float = _opt(0.1, "max random shift as a fraction of the side (with --augment)")
    zoom: float = _opt(0.1, "max random zoom in or out as a fraction (with --augment)")
    crop: int = _opt(0, "train on random CROP x CROP windows of the 48x48 face, score the center one (0 = whole face)")
    erase: float = _opt(0.0, "random erasing (Zhong et al. 2020): chance of blanking a patch of a training image")
    label_smoothing: float = _opt(0.0, "label smoothing (Szegedy et al. 2016): weight taken from the true class and spread over all 7")
    targets: str = _opt(
        "labels", "training targets: FER2013's labels; 'ferplus', the distribution of FER+'s votes over the 7 "
        "classes (Barsoum et al. 2016's 'probability' mode); 'blend', label smoothing toward the votes instead of "
        "uniform (--label-smoothing is the weight); both need fer2013new.csv (see fer data)", TARGETS)
    normalization: str = _opt(
        "standardize", "input normalization inside the model: per-pixel mean/std of Training, or each face on its own",
        ("none", "standardize", "per_image"))
    seed: int = _opt(0, "random seed (weights, shuffling, augmentation)")
    validation: str = _opt("public", "validation data: 'public' (PublicTest) or a fraction of Training, e.g. 0.1")
    precision: str = _opt(
        "auto", "compute precision: auto = mixed_bfloat16 where the CPU has bf16 instructions, else float32", PRECISIONS
    )
    jit: str = _opt(
        "auto", "XLA compilation of the training step: auto = off on a CPU-only host (measured slower there), "
        "Keras's choice with a GPU", JIT_CHOICES)
    precise_bn: int = _opt(
        0, "after every epoch, re-estimate BatchNorm statistics over N Training faces before validating "
        "(PreciseBN: the history, the best-epoch choice and the saved model use them; 0 = off)")
    snapshots: int = _opt(
        0, "keep the weights of the last N epochs in RUN/snapshots/ (fer calibrate --average K averages the last K: "
        "stochastic weight averaging, Izmailov et al. 2018; 0 = off)")
    init: str | None = _opt(
        None, "start from the weights of this .keras model or run of the same architecture instead of random ones "
        "(a warm restart, Loshchilov & Hutter 2017: a new schedule from a trained model)")
    limit: int = _opt(0, "use only the first N training images (0 = all); for quick runs")
    val_limit: int = _opt(0, "use only the first N validation images (0 = all)")

    def run_dir(self) -> Path:
        if self.out:
            return Path(self.out)
        aug = "aug" if self.augment else "noaug"
        return Path("runs") / f"{self.model}-{self.normalization}-{aug}-s{self.seed}"

    @classmethod
    def default(cls, name: str):
        """The default of field ``name`` (a run saved before the field existed used it)."""
        return next(f.default for f in dataclasses.fields(cls) if f.name == name)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def check(self) -> None:
        """Raise FerError on an option outside its range."""
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                raise FerError(f"--{f.name.replace('_', '-')} {getattr(self, f.name)!r}: expected one of {', '.join(choices)}")
        if self.precise_bn < 0:
            raise FerError(f"--precise-bn {self.precise_bn}: expected a number of Training faces (0 = off)")
        if self.snapshots < 0:
            raise FerError(f"--snapshots {self.snapshots}: expected a number of epochs (0 = off)")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise FerError(f"--{name.replace('_', '-')} must be at least 1")
        if self.crop and not 16 <= self.crop < 48:
            raise FerError(f"--crop {self.crop}: expected 0 (whole face) or a side from 16 to 47 pixels")
        for name in ("erase", "label_smoothing"):
            if not 0 <= getattr(self, name) < 1:
                raise FerError(f"--{name.replace('_', '-')} {getattr(self, name)}: expected a value in [0, 1)")
        if self.targets == "blend" and not self.label_smoothing:
            raise FerError("--targets blend moves --label-smoothing of each label toward the votes: give it a weight in (0, 1)")
        if self.erase and not self.augment:
            raise FerError("--erase is an augmentation: it needs --augment")
        if self.learning_rate <= 0:
            raise FerError("--learning-rate must be positive")
        if self.validation != "public":
            try:
                fraction = float(self.validation)
            except ValueError:
                fraction = -1.0
            if not 0 < fraction < 1:
                raise FerError(f"--validation {self.validation!r}: expected 'public' or a fraction between 0 and 1")


