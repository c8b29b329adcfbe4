"""A run directory: its paths and readers.

Layout (../shared/DESIGN.md in the project workspace)::

    RUN/config.json        the TrainConfig that made it
    RUN/history.csv        one row per finished epoch
    RUN/model.keras        best model by validation accuracy (no optimizer)
    RUN/checkpoint/        last epoch's full model + optimizer, and state.json
    RUN/metrics.json       accuracy, confusion matrix, per-class report
    RUN/predictions.npz    public-split probabilities for the dashboard
    RUN/NAME.metrics.json  (and NAME.predictions.npz, NAME.submission.csv) the results of another NAME.keras
    RUN/heartbeat.json     refreshed every few seconds by a running ``fer train``
    RUN/.lock              flocked by the process training in RUN (:func:`~fer_core.runs.lock.run_lock`);
                           a killed one leaves it unlocked
    RUN/logs/              TensorBoard scalars, one point per epoch

Every file is written through :mod:`fer_core.runs.files`, so an interrupted write
never leaves a half-written file behind.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from fer_core.errors import FerError
from fer_core.paths import MODEL_FILE
from fer_core.runs.files import read_dict, read_json, write_text

ENSEMBLE = "ensemble"  # config.json ``model`` of a folder written by ``fer ensemble``


def _history_row(row: dict) -> dict | None:
    """One ``history.csv`` row as floats (empty cells left out), or None for a line cut short by a
    write in progress or a crash: too few or too many cells, or a cell that is not a number."""
    if None in row or None in row.values():
        return None
    try:
        return {k: float(v) for k, v in row.items() if v != ""}
    except ValueError:
        return None


def check_resumable(root: str | Path) -> None:
    """Raise FerError when ``fer train --out root`` would overwrite a model it cannot resume: a ``model.keras``
    with no ``checkpoint/state.json`` beside it (a shipped model, a ``fer ensemble`` folder, a run copied
    without its checkpoint). Reads no model, so the ``fer`` command asks before TensorFlow loads."""
    run = Run(root)
    if run.model_file.is_file() and not run.state_file.is_file():
        raise FerError(f"{run.root}: holds a {MODEL_FILE} but no checkpoint to resume it from (a shipped model, an "
                       "ensemble, or a run copied without checkpoint/), so training would overwrite it: use another "
                       "--out, or --restart to train from scratch in this folder")


class Run:
    """Paths and readers for one run directory.

    ``model`` names the folder's model file, ``model.keras`` unless :meth:`of_model` was handed another
    ``NAME.keras``; the files that score it (metrics, predictions, submission, report) are then named
    ``NAME.metrics.json`` and so on (``results`` is that prefix, empty for ``model.keras``).
    """

    def __init__(self, root: str | Path, model: str = MODEL_FILE):
        self.root = Path(root)
        self.model = model

    @classmethod
    def of_model(cls, path: str | Path) -> Run:
        """The run of a model: a folder (its ``model.keras``), or the folder of a ``.keras`` file with that file
        as its model, so scoring a snapshot or a copy does not overwrite the run's own results."""
        path = Path(path)
        return cls(path.parent, path.name) if path.suffix == ".keras" else cls(path)

    results = property(lambda self: "" if self.model == MODEL_FILE else f"{Path(self.model).stem}.")
    config_file = property(lambda self: self.root / "config.json")
    history_file = property(lambda self: self.root / "history.csv")
    model_file = property(lambda self: self.root / self.model)
    checkpoint_dir = property(lambda self: self.root / "checkpoint")
    state_file = property(lambda self: self.root / "checkpoint" / "state.json")
    snapshot_dir = property(lambda self: self.root / "snapshots")
    metrics_file = property(lambda self: self.root / f"{self.results}metrics.json")
    predictions_file = property(lambda self: self.root / f"{self.results}predictions.npz")
    submission_file = property(lambda self: self.root / f"{self.results}submission.csv")
    report_file = property(lambda self: self.root / f"{self.results}report.html")
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
        """History rows as dicts of floats (``epoch`` is 1-based).

        Raises:
            FerError: the file is not UTF-8 text or not a CSV (a cut or garbled line is only left out).
        """
        if not self.history_file.is_file():
            return []
        try:
            with open(self.history_file, newline="") as stream:
                rows = [row for row in map(_history_row, csv.DictReader(stream)) if row is not None]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise FerError(f"{self.history_file}: not a UTF-8 CSV ({exc})") from None
        return [{**row, "epoch": int(row["epoch"])} if "epoch" in row else row for row in rows]

    def training_seconds(self) -> float:
        """Seconds of training behind this folder: the sum of its history's ``seconds``, or for a
        ``fer ensemble`` folder the sum of its members' (its ``config.json`` ``training_seconds``)."""
        config = read_dict(self.config_file, []) or {}
        if config.get("model") == ENSEMBLE:
            return float(sum(config.get("training_seconds", {}).values()))
        return float(sum(row.get("seconds", 0.0) for row in self.history()))

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

    def contents(self) -> dict:
        """``{"config": dict, "history": list[dict], "metrics": dict}``, each empty when its file is missing.

        ``history`` is :meth:`history`'s (a cut line left out); an unreadable
        ``config.json``, ``history.csv`` or ``metrics.json`` stays empty and its
        one-line error is added as ``config_error`` / ``history_error`` / ``metrics_error``.
        """
        out = {"config": {}, "history": [], "metrics": {}}
        for name, reader, file in (
            ("config", self.config, self.config_file),
            ("history", self.history, self.history_file),
            ("metrics", self.metrics, self.metrics_file),
        ):
            if file.is_file():
                try:
                    out[name] = reader()
                except FerError as exc:
                    out[f"{name}_error"] = str(exc)
        return out
