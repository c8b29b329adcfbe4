"""Where a member of a new ensemble came from: its source, ``history.csv`` rows and training time, read from
the run folder that holds it (``fer ensemble``; :mod:`fer_core.models.ensemble` builds the model itself)."""

from __future__ import annotations

from pathlib import Path

from fer_core.errors import FerError
from fer_core.runs.folder import Run
from fer_core.runs.history import split_history


def member_record(path: str, inner: str | None) -> tuple[str, list[dict], float]:
    """``(source, history rows, training seconds)`` of one member of a new ensemble: the run or model at
    ``path``, or (``inner``) the member of that name of the ensemble at ``path``, whose source is the one
    that ensemble recorded.

    Raises:
        FerError: the ensemble at ``path`` has a malformed ``config.json``, in one line.
    """
    run = member_run(path)
    if inner is None:
        return str(Path(path)), run.history(), run.training_seconds()
    config = run.config() if run.config_file.is_file() else {}
    try:
        recorded = dict(zip(config.get("names", []), config.get("members", [])))
        seconds = float(config.get("training_seconds", {}).get(inner, 0.0))
    except (AttributeError, TypeError, ValueError):
        raise FerError(f"{run.config_file}: not the config.json of an ensemble (expected the lists names and "
                       "members, and training_seconds in seconds by name)") from None
    return str(recorded.get(inner, f"{path} ({inner})")), split_history(run.history()).get(inner, []), seconds


def member_run(path: str) -> Run:
    """The run folder a member came from: the folder itself, or the one holding its ``.keras`` file
    (``RUN/model.keras``, ``RUN/snapshots/epoch-XXXX.keras``); its history is empty when there is none."""
    path = Path(path)
    if path.is_dir():
        return Run(path)
    return Run(path.parent.parent if path.parent.name == "snapshots" else path.parent)
