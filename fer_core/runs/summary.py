"""A run at a glance (the Training page, ``fer train``'s lines): progress, speed, time left, best accuracy, options."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fer_core.config import TrainConfig
from fer_core.runs.files import read_dict
from fer_core.runs.folder import ENSEMBLE, Run
from fer_core.runs.history import best_epoch
from fer_core.runs.status import epochs_done, number, safe_history, status_from

NOT_OPTIONS = ("data", "out")  # where the run read and wrote, not how it trained


def format_duration(seconds: float) -> str:
    """``3 h 05 min``, ``12 min``, or ``40 s`` (as ``fer train`` prints them; no TensorFlow here)."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


@dataclasses.dataclass
class RunSummary:
    """One run folder at a glance, from its files alone (:func:`run_summary`).

    ``epoch`` counts finished epochs; ``current`` is the epoch in progress (1-based,
    running only) and ``batch``/``batches`` how far into it; ``progress`` is 0..1 of
    ``epochs`` (``None`` when the number of epochs is unknown). Seconds are floats;
    ``time_left`` only while running or interrupted. ``options`` maps each config
    field that differs from its :class:`~fer_core.config.TrainConfig` default to its
    value (``None`` without a readable ``config.json``); ``members`` counts an ensemble's
    members (``None`` for a trained run); ``problems`` names each file that could not be read.
    """

    status: str
    model: str | None = None
    epoch: int = 0
    epochs: int | None = None
    current: int | None = None
    batch: int | None = None
    batches: int | None = None
    progress: float | None = None
    seconds_per_epoch: float | None = None
    time_left: float | None = None
    best_accuracy: float | None = None
    options: dict | None = None
    has_model: bool = False
    members: int | None = None
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def epoch_text(self) -> str:
        """``epoch 4 of 60`` (the one in progress while running), ``3 epochs`` when the total is unknown,
        ``2 members`` for an ensemble."""
        if self.members is not None:
            return f"{self.members} member{'s' if self.members != 1 else ''}"
        k = self.current if self.current is not None else self.epoch
        return f"epoch {k} of {self.epochs}" if self.epochs else f"{self.epoch} epochs"

    @property
    def options_text(self) -> str:
        """``augment=False, seed=1``, ``defaults``, or ``—`` when the config is unknown."""
        if self.options is None:
            return "—"
        return ", ".join(f"{k}={v}" for k, v in self.options.items()) or "defaults"


def differing_options(config: dict) -> dict:
    """The entries of a saved config that differ from :class:`~fer_core.config.TrainConfig`'s defaults.

    ``data`` and ``out`` are left out; a key this version does not know (an option
    since removed) is kept only when it is set (not 0, False, empty or None).
    """
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    found = {}
    for name, value in config.items():
        if name in NOT_OPTIONS:
            continue
        if (value != TrainConfig.default(name)) if name in known else value not in (None, 0, False, "", [], {}):
            found[name] = value
    return found


def seconds_per_epoch(history: Sequence[dict], recent: int = 5) -> float | None:
    """The median ``seconds`` of the last ``recent`` history rows (None when none has it).

    A median, not a mean: the first epoch after a resume (graph tracing) or one
    slowed by another job on the machine would otherwise inflate every
    time-left estimate that follows it.
    """
    seconds = [row["seconds"] for row in history[-recent:] if "seconds" in row]
    return float(np.median(seconds)) if seconds else None


def run_summary(run: Run | str | Path, now: float | None = None, recent: int = 5) -> RunSummary:
    """Status, epochs, speed, time left, best validation accuracy and differing options of a run.

    Reads ``config.json``, ``history.csv``, ``checkpoint/state.json`` and
    ``heartbeat.json`` once each; any of them missing, empty, cut or broken is skipped
    (and named in ``problems``), so this never raises on a run folder. The status
    is :func:`run_status`'s (an ensemble folder's: :func:`_ensemble_summary`).
    Seconds per epoch: :func:`seconds_per_epoch` over the last ``recent`` epochs;
    time left: that times the epochs still to go.
    """
    run = run if isinstance(run, Run) else Run(run)
    problems: list[str] = []
    saved = read_dict(run.config_file, problems)
    config = saved or {}
    if config.get("model") == ENSEMBLE:
        return _ensemble_summary(run, config, problems)
    state = read_dict(run.state_file, problems)
    beat = read_dict(run.heartbeat_file, problems)
    history = safe_history(run, problems)
    has_model = run.model_file.is_file()
    status = status_from(beat, state, saved, history, has_model, now)
    epochs = number(config, "epochs", int) or number(beat, "epochs", int)
    summary = RunSummary(status, config.get("model"), epochs_done(state, history), epochs, has_model=has_model)
    summary.problems = problems
    fraction = 0.0
    if summary.status == "running":
        summary.current = number(beat, "epoch", int)
        summary.batch, summary.batches = number(beat, "batch", int), number(beat, "batches", int)
        if summary.current is not None:
            summary.epoch = max(summary.epoch, summary.current - 1)
        if summary.batch is not None and summary.batches:
            fraction = min(max(summary.batch / summary.batches, 0.0), 1.0)
    if epochs:
        summary.progress = min((summary.epoch + fraction) / epochs, 1.0)
    summary.seconds_per_epoch = seconds_per_epoch(history, recent)
    if summary.seconds_per_epoch is not None:
        if epochs and summary.status in ("running", "interrupted"):
            summary.time_left = max(epochs - summary.epoch - fraction, 0.0) * summary.seconds_per_epoch
    best = best_epoch(history)
    summary.best_accuracy = best["val_accuracy"] if best else None
    summary.options = differing_options(saved) if saved is not None else None
    return summary


def _ensemble_summary(run: Run, config: dict, problems: list[str]) -> RunSummary:
    """:func:`run_summary` of a ``fer ensemble`` folder (its ``config.json`` read): built, not trained, so
    finished once its model is written; its accuracy is its own (``metrics.json``), its options the members'
    names and the TTA. No history or checkpoint is read: an ensemble has no epochs of its own."""
    has_model = run.model_file.is_file()
    metrics = read_dict(run.metrics_file, problems)
    names = config.get("names") or config.get("members") or []
    return RunSummary("finished" if has_model else "new", ENSEMBLE, has_model=has_model, problems=problems,
                      members=len(names), progress=1.0 if has_model else None,
                      best_accuracy=number(metrics, "accuracy"),
                      options={"members": " + ".join(map(str, names)), "tta": config.get("tta")})
