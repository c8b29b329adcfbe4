"""Stochastic weight averaging: the mean of the weights a run had at the end of its last epochs.

Izmailov et al., "Averaging Weights Leads to Wider Optima and Better
Generalization" (UAI 2018): averaging the weights SGD passes through late in
training lands nearer the middle of a wide optimum than any one of them, which
generalizes better. ``fer train --snapshots N`` keeps the inference model of
each of the last N epochs as ``RUN/snapshots/epoch-XXXX.keras``; ``fer
calibrate RUN --average K`` averages the last K of them and, as the paper
prescribes (a mean of weights has no BatchNorm statistics of its own),
re-estimates the BatchNorm statistics before scoring
(:func:`fer_core.training.precise_bn.calibrate_run`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from fer_core.errors import FerError
from fer_core.models.builders import load_model


def snapshot_path(run, epoch: int) -> Path:
    """Where ``run`` keeps the inference model of ``epoch`` (1-based)."""
    return run.snapshot_dir / f"epoch-{epoch:04d}.keras"


def snapshot_epochs(run) -> list[int]:
    """The epochs whose snapshot ``run`` holds, ascending (empty without a ``snapshots/`` folder)."""
    stems = [p.stem.removeprefix("epoch-") for p in run.snapshot_dir.glob("epoch-*.keras")]
    return sorted(int(stem) for stem in stems if stem.isdigit())


def prune_snapshots(run, after: int) -> None:
    """Delete the snapshots of epochs up to ``after``: a run keeps only its last N epochs'."""
    for epoch in snapshot_epochs(run):
        if epoch <= after:
            snapshot_path(run, epoch).unlink(missing_ok=True)


def average_weights(weight_lists: Sequence[Sequence[np.ndarray]]) -> list[np.ndarray]:
    """The elementwise mean of several models' ``get_weights()`` lists, summed in float64.

    Floating arrays are averaged and keep their dtype; any other (a random
    generator's integer state) is taken from the last list.
    """
    if not weight_lists or len({len(w) for w in weight_lists}) != 1:
        raise FerError("weight averaging needs models of one architecture (the same number of weight arrays)")
    averaged = []
    for arrays in zip(*weight_lists):
        if len({a.shape for a in arrays}) != 1:
            raise FerError(f"weight averaging needs models of one architecture (shapes {sorted({a.shape for a in arrays})})")
        last = arrays[-1]
        if np.issubdtype(last.dtype, np.floating):
            averaged.append((np.sum([a.astype(np.float64) for a in arrays], axis=0) / len(arrays)).astype(last.dtype))
        else:
            averaged.append(last.copy())
    return averaged


def averaged_snapshots(run, last: int) -> tuple[keras.Model, list[int]]:
    """The model whose weights are the mean of ``run``'s last ``last`` snapshots, and their epochs.

    BatchNorm moving statistics come out averaged too: re-estimate them
    (:func:`fer_core.training.precise_bn.precise_batch_norm`) before using the model.
    """
    kept = snapshot_epochs(run)
    if last < 1 or len(kept) < last:
        raise FerError(f"{run.snapshot_dir}: {len(kept)} epochs kept, fewer than --average {last} "
                       f"(train with --snapshots {max(last, 1)} or more)")
    epochs = kept[-last:]
    models = [load_model(snapshot_path(run, epoch)) for epoch in epochs]
    model = models[-1]
    model.set_weights(average_weights([m.get_weights() for m in models]))
    return model, epochs
