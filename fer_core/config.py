"""Configuration, defined once: the training config and its option metadata.

Kept free of TensorFlow so ``fer --help`` and the dashboard can read it fast.
Field metadata (``help``, ``choices``) generates the ``fer train`` flags.
"""

from __future__ import annotations

import dataclasses
import math
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
# The networks `fer train --model` builds: fer_core.models.builders registers a builder under each name.
ARCHITECTURES = ("seed", "vgg", "vgg-wide")
NORMALIZATIONS = ("none", "standardize", "per_image")


@dataclass(frozen=True)
class Bounds:
    """The range of a numeric option: ``low <= value < high``; ``low < value`` with ``above``,
    ``value <= high`` with ``upto``. A value must also be finite."""

    low: float
    high: float = math.inf
    above: bool = False
    upto: bool = False

    def holds(self, value: float) -> bool:
        return (math.isfinite(value) and (value > self.low if self.above else value >= self.low)
                and (value <= self.high if self.upto else value < self.high))

    def describe(self, integer: bool) -> str:
        """``an integer >= 1``, ``a finite number > 0``, ``a finite number >= 0 and < 1``."""
        low = f"{'an integer' if integer else 'a finite number'} {'>' if self.above else '>='} {_number(self.low)}"
        return low if self.high == math.inf else f"{low} and {'<=' if self.upto else '<'} {_number(self.high)}"


def _number(x: float) -> str:
    """``2147483648``, ``0.5``: whole numbers in full, others as ``%g``."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


COUNT = Bounds(0)  # 0 or more (0 = off / all)
FRACTION = Bounds(0, 1)  # in [0, 1)


def _opt(default, help: str, choices: tuple | None = None, bounds: Bounds | None = None,
         needs: tuple[str, object, str] | None = None):
    """A :class:`TrainConfig` field. ``needs`` = ``(field, value, flag)``: the option acts only when that field
    has that value, so setting it otherwise is refused (:meth:`TrainConfig.check`) rather than ignored."""
    return field(default=default, metadata={"help": help, "choices": choices, "bounds": bounds, "needs": needs})


AUGMENTING = ("augment", True, "--augment")  # the partner of each augmentation setting


@dataclass
class TrainConfig:
    """Everything that defines a training run; ``fer train`` flags mirror these fields."""

    data: str | None = _opt(None, "FER2013 file or folder (default: $FER_DATA)")
    out: str | None = _opt(None, "run directory (default: runs/<model>-<normalization>-<aug|noaug>-s<seed>)")
    model: str = _opt("seed", "architecture", ARCHITECTURES)
    epochs: int = _opt(60, "number of epochs", bounds=Bounds(1))
    batch_size: int = _opt(64, "images per training step", bounds=Bounds(1))
    optimizer: str = _opt("adam", "optimizer", OPTIMIZERS)
    learning_rate: float = _opt(1e-3, "peak learning rate", bounds=Bounds(0, above=True))
    schedule: str = _opt("cosine", "learning-rate schedule over the run", SCHEDULES)
    warmup_epochs: float = _opt(0.0, "linear warm-up from 0 to the peak rate, in epochs (cosine only)", bounds=COUNT,
                                needs=("schedule", "cosine", "--schedule cosine"))
    weight_decay: float = _opt(0.0, "decoupled weight decay, any optimizer: each step w -= learning_rate * weight_decay * w, "
                                "outside the momentum (SGD: 10x PyTorch's weight_decay for the same pull); "
                                "adamw uses 1e-4 when 0", bounds=COUNT)
    augment: bool = _opt(True, "random flip / rotation / shift / zoom on training images")
    flip: bool = _opt(True, "random horizontal flip (with --augment)", needs=AUGMENTING)
    rotation: float = _opt(10.0, "max random rotation in degrees (with --augment)", bounds=Bounds(0, 180, upto=True),
                           needs=AUGMENTING)
    shift: float = _opt(0.1, "max random shift as a fraction of the side (with --augment)", bounds=FRACTION,
                        needs=AUGMENTING)
    zoom: float = _opt(0.1, "max random zoom in or out as a fraction (with --augment)", bounds=FRACTION,
                       needs=AUGMENTING)
    crop: int = _opt(0, "train on random CROP x CROP windows of the 48x48 face, score the center one (0 = whole face)",
                     bounds=Bounds(0, 48))
    erase: float = _opt(0.0, "random erasing (Zhong et al. 2020): chance of blanking a patch of a training image",
                        bounds=FRACTION, needs=AUGMENTING)
    label_smoothing: float = _opt(
        0.0, "label smoothing (Szegedy et al. 2016): weight taken from the true class and spread over all 7",
        bounds=FRACTION)
    targets: str = _opt(
        "labels", "training targets: FER2013's labels; 'ferplus', the distribution of FER+'s votes over the 7 "
        "classes (Barsoum et al. 2016's 'probability' mode); 'blend', label smoothing toward the votes instead of "
        "uniform (--label-smoothing is the weight); both need fer2013new.csv (see fer data)", TARGETS)
    teacher: str | None = _opt(
        None, "distillation (Hinton et al. 2015): a .keras model or run whose probabilities on each Training face "
        "(scored once, kept on disk) are mixed into the targets, --teacher-weight of each row")
    teacher_weight: float = _opt(0.5, "the teacher's share of each training target (with --teacher)", bounds=FRACTION,
                                 needs=("teacher", None, "--teacher"))
    normalization: str = _opt(
        "standardize", "input normalization inside the model: per-pixel mean/std of Training, or each face on its own",
        NORMALIZATIONS)
    seed: int = _opt(0, "random seed (weights, shuffling, augmentation)", bounds=Bounds(0, 2**31))
    validation: str = _opt("public", "validation data: 'public' (PublicTest) or a fraction of Training, e.g. 0.1")
    precision: str = _opt(
        "auto", "compute precision: auto = mixed_bfloat16 where the CPU has bf16 instructions, else float32", PRECISIONS
    )
    jit: str = _opt(
        "auto", "XLA compilation of the training step: auto = off on a CPU-only host (measured slower there), "
        "Keras's choice with a GPU", JIT_CHOICES)
    precise_bn: int = _opt(
        0, "after every epoch, re-estimate BatchNorm statistics over N Training faces before validating "
        "(PreciseBN: the history, the best-epoch choice and the saved model use them; 0 = off)", bounds=COUNT)
    snapshots: int = _opt(
        0, "keep the weights of the last N epochs in RUN/snapshots/ (fer calibrate --average K averages the last K: "
        "stochastic weight averaging, Izmailov et al. 2018; 0 = off)", bounds=COUNT)
    init: str | None = _opt(
        None, "start from the weights of this .keras model or run of the same architecture instead of random ones "
        "(a warm restart, Loshchilov & Hutter 2017: a new schedule from a trained model)")
    limit: int = _opt(0, "use only the first N training images (0 = all); for quick runs", bounds=COUNT)
    val_limit: int = _opt(0, "use only the first N validation images (0 = all)", bounds=COUNT)

    def inert(self, name: str) -> bool:
        """Whether setting ``name`` acts on nothing in this run: the option it ``needs`` is off."""
        return self._partner_off(self._field(name))

    def _partner_off(self, f: dataclasses.Field) -> bool:
        needs = f.metadata.get("needs")
        if needs is None:
            return False
        partner, wanted, _ = needs  # wanted None: the partner is set to anything
        have = getattr(self, partner)
        return have is None if wanted is None else have != wanted

    def _check_partner(self, f: dataclasses.Field, flag: str, value) -> None:
        """Refuse a setting moved off its default while the option it acts through is off (``needs``)."""
        if value != f.default and self._partner_off(f):
            given = f"--no-{flag[2:]}" if value is False else f"{flag} {value}"
            raise FerError(f"{given}: acts only with {f.metadata['needs'][2]}, which this run does not use")

    def run_dir(self) -> Path:
        if self.out:
            return Path(self.out)
        aug = "aug" if self.augment else "noaug"
        return Path("runs") / f"{self.model}-{self.normalization}-{aug}-s{self.seed}"

    @classmethod
    def _field(cls, name: str) -> dataclasses.Field:
        return next(f for f in dataclasses.fields(cls) if f.name == name)

    @classmethod
    def default(cls, name: str):
        """The default of field ``name`` (a run saved before the field existed used it)."""
        return cls._field(name).default

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def check(self) -> None:
        """Raise FerError on an option outside its range: a choice not offered, a number that is not
        finite or outside its field's :class:`Bounds`, or options that contradict each other."""
        for f in dataclasses.fields(self):
            flag, value = "--" + f.name.replace("_", "-"), getattr(self, f.name)
            choices, bounds = f.metadata.get("choices"), f.metadata.get("bounds")
            if choices and value not in choices:
                raise FerError(f"{flag} {value!r}: expected one of {', '.join(choices)}")
            if bounds is not None and not bounds.holds(value):
                raise FerError(f"{flag} {value}: expected {bounds.describe(isinstance(f.default, int))}")
            self._check_partner(f, flag, value)
        if self.crop and not 16 <= self.crop < 48:
            raise FerError(f"--crop {self.crop}: expected 0 (whole face) or a side from 16 to 47 pixels")
        if self.targets == "blend" and not self.label_smoothing:
            raise FerError("--targets blend moves --label-smoothing of each label toward the votes: give it a weight in (0, 1)")
        if self.validation != "public":
            try:
                fraction = float(self.validation)
            except ValueError:
                fraction = -1.0
            if not 0 < fraction < 1:
                raise FerError(f"--validation {self.validation!r}: expected 'public' or a fraction between 0 and 1")
