"""A run's status (running, finished, interrupted, new) from its files alone: heartbeat, checkpoint, history."""

from __future__ import annotations

import math
import time

from fer_core.errors import FerError
from fer_core.runs.files import read_dict
from fer_core.runs.folder import Run


def run_status(run: Run, now: float | None = None) -> str:
    """``running``, ``finished``, ``interrupted`` or ``new`` (nothing trained yet), from the run's files alone.

    Running means a heartbeat younger than 3 beats (at least 30 s); finished, that
    the checkpoint or the history reached the configured epochs, or a model file
    with no record of its training (a shipped model). A half-written or missing
    file counts as absent, never raises.
    """
    problems: list[str] = []
    return status_from(read_dict(run.heartbeat_file, problems), read_dict(run.state_file, problems),
                       read_dict(run.config_file, problems), safe_history(run, problems), run.model_file.is_file(), now)


def status_from(beat: dict | None, state: dict | None, config: dict | None, history: list[dict], has_model: bool,
                now: float | None = None) -> str:
    """:func:`run_status` from the files' contents (``None`` for a missing or unreadable file)."""
    now = time.time() if now is None else now
    age = now - (number(beat, "time") or -math.inf)
    if age < max(30.0, 3 * (number(beat, "every") or 5.0)):
        return "running"
    done = epochs_done(state, history)
    epochs = number(config, "epochs", int) or number(beat, "epochs", int)
    if epochs and done >= epochs:
        return "finished"
    if done or history:
        return "interrupted"
    return "finished" if has_model else "new"


def epochs_done(state: dict | None, history: list[dict]) -> int:
    """Finished epochs: the checkpoint's, or the history's last, whichever is further."""
    return max([number(state, "epoch", int) or 0] + [int(row.get("epoch", i + 1)) for i, row in enumerate(history)])


def safe_history(run: Run, problems: list[str]) -> list[dict]:
    """:meth:`Run.history`, or ``[]`` (and a line in ``problems``) when the file cannot be read."""
    try:
        return run.history()
    except (OSError, FerError):
        problems.append(f"{run.history_file.name}: unreadable")
        return []


def number(data: dict | None, key: str, kind=float):
    """``kind(data[key])``, or None when ``data`` is None or lacks a usable ``key``."""
    try:
        return kind(data[key])
    except (TypeError, KeyError, ValueError, OverflowError):
        return None
