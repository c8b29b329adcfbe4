"""A run directory and atomic file writes.

Layout (DESIGN.md)::

    RUN/config.json        the TrainConfig that made it
    RUN/history.csv        one row per finished epoch
    RUN/model.keras        best model by validation accuracy (no optimizer)
    RUN/checkpoint/        last epoch's full model + optimizer, and state.json
    RUN/metrics.json       accuracy, confusion matrix, per-class report
    RUN/predictions.npz    public-split probabilities for the dashboard
    RUN/heartbeat.json     refreshed every few seconds by a running ``fer train``
    RUN/logs/              TensorBoard scalars, one point per epoch

Every file is written to a temporary name in the same folder and renamed, so
an interrupted write never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from fer_core.errors import FerError


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix or path.suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, data) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


def read_json(path: str | Path) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FerError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise FerError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)


class Run:
    """Paths and readers for one run directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    config_file = property(lambda self: self.root / "config.json")
    history_file = property(lambda self: self.root / "history.csv")
    model_file = property(lambda self: self.root / "model.keras")
    checkpoint_dir = property(lambda self: self.root / "checkpoint")
    state_file = property(lambda self: self.root / "checkpoint" / "state.json")
    metrics_file = property(lambda self: self.root / "metrics.json")
    predictions_file = property(lambda self: self.root / "predictions.npz")
    heartbeat_file = property(lambda self: self.root / "heartbeat.json")
    logs_dir = property(lambda self: self.root / "logs")

    def config(self) -> dict:
        return read_json(self.config_file)

    def metrics(self) -> dict:
        return read_json(self.metrics_file)

    def state(self) -> dict | None:
        """The checkpoint state (``epoch`` finished, ``checkpoint`` file, ``best``), or None."""
        return read_json(self.state_file) if self.state_file.is_file() else None

    def history(self) -> list[dict]:
        """History rows as dicts of floats (``epoch`` is 1-based)."""
        if not self.history_file.is_file():
            return []
        with open(self.history_file, newline="") as stream:
            rows = [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(stream)]
        return [{**row, "epoch": int(row["epoch"])} if "epoch" in row else row for row in rows]

    def write_history(self, rows: list[dict]) -> None:
        """Rewrite ``history.csv`` atomically with ``rows``; a key some rows lack (a column added
        by a newer version of a resumed run) is left empty in them."""
        if not rows:
            self.history_file.unlink(missing_ok=True)
            return
        buffer = io.StringIO()
        columns = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text(self.history_file, buffer.getvalue())

    def predictions(self) -> dict[str, np.ndarray]:
        with np.load(self.predictions_file, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}


def run_status(run: Run, now: float | None = None) -> str:
    """``running``, ``finished``, ``interrupted`` or ``new`` (nothing trained yet), from the run's files alone.

    Running means a heartbeat younger than 3 beats (at least 30 s); finished, that
    the checkpoint reached the configured epochs. A half-written or missing file
    counts as absent, never raises.
    """
    now = time.time() if now is None else now
    try:
        beat = json.loads(run.heartbeat_file.read_text())
        if now - float(beat["time"]) < max(30.0, 3 * float(beat.get("every", 5))):
            return "running"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        done, epochs = int(run.state()["epoch"]), int(run.config()["epochs"])
    except (FerError, OSError, ValueError, KeyError, TypeError):
        return "new" if not run.history_file.is_file() else "interrupted"
    return "finished" if done >= epochs else "interrupted"
