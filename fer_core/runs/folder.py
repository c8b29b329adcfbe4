"""A run directory and atomic file writes.

Layout (../shared/DESIGN.md in the project workspace)::

    RUN/config.json        the TrainConfig that made it
    RUN/history.csv        one row per finished epoch
    RUN/model.keras        best model by validation accuracy (no optimizer)
    RUN/checkpoint/        last epoch's full model + optimizer, and state.json
    RUN/metrics.json       accuracy, confusion matrix, per-class report
    RUN/predictions.npz    public-split probabilities for the dashboard
    RUN/heartbeat.json     refreshed every few seconds by a running ``fer train``
    RUN/.lock              flocked by the process training in RUN (:func:`run_lock`); a killed one leaves it unlocked
    RUN/logs/              TensorBoard scalars, one point per epoch

Every file is written to a temporary name in the same folder and renamed, so
an interrupted write never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import itertools
import json
import math
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from fer_core.errors import FerError, WriteError, describe_os_error, os_reason, shorten
from fer_core.paths import MODEL_FILE, model_from_env, runs_from_env

try:
    import fcntl
except ImportError:  # Windows: no flock, so no temporary file is ever taken for a dead writer's
    fcntl = None


def make_folder(path: str | Path) -> Path:
    """Create the folder ``path`` and its parents (nothing when it exists).

    Raises:
        WriteError: one line naming ``path`` and why (a file in the way, a read-only file system, ...).
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"{path}: cannot create the folder ({os_reason(exc, path)})") from None
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary file (``.NAME.XXXXXXXX.SUFFIX``) is locked while it is written, so
    :func:`remove_dead_temps` can tell a writer's file from one a killed writer left;
    those left beside ``path`` are removed first.

    Raises:
        WriteError: one line naming ``path`` (not the temporary name) and why the write
            failed (:func:`fer_core.errors.os_reason`); the temporary file and the folders
            made for it are removed.
    """
    path = Path(path)
    created = list(itertools.takewhile(lambda folder: not folder.exists(), (path.parent, *path.parent.parents)))
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            remove_dead_temps(path.parent, path.name)
            fd, tmp = _locked_temp(path, suffix or path.suffix)
        except OSError as exc:
            raise WriteError(f"{path}: cannot write ({os_reason(exc)})") from None
        try:
            yield tmp
            os.replace(tmp, path)
        except OSError as exc:
            if isinstance(exc, WriteError) or exc.filename not in (None, str(tmp), str(path)):
                raise  # already worded, or about another file (one the body read): the CLI names it
            raise WriteError(f"{path}: cannot write ({os_reason(exc)})") from None
        finally:
            tmp.unlink(missing_ok=True)
            os.close(fd)
    except BaseException:
        for folder in created:  # the folders made for a file that was not written, deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _locked_temp(path: Path, suffix: str) -> tuple[int, Path]:
    """A new temporary file beside ``path`` with normal permissions, locked (``flock``) by the open
    descriptor returned with it; the lock ends with this process, however it ends."""
    while True:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
        locked = _lock(fd)
        if locked is None or (locked and os.fstat(fd).st_nlink):  # not swept away before it was locked
            break
        os.close(fd)  # a sweep took it first and removes it
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
    return fd, Path(tmp)


def _lock(fd: int) -> bool | None:
    """Take an exclusive ``flock`` on ``fd`` without waiting: True when taken, False when another open
    file holds one, None where the system or file system has no ``flock`` (then nothing is swept)."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    return True


def _is_temp_name(name: str, target: str | None = None) -> bool:
    """Whether ``name`` is an :func:`atomic_path` temporary file (of ``target`` when given)."""
    match = re.fullmatch(r"\.(.+)\.[a-z0-9_]{8}(.*)", name)
    return bool(match) and Path(match[1]).suffix == match[2] and target in (None, match[1])


def remove_dead_temps(folder: str | Path, target: str | None = None) -> list[Path]:
    """Remove the temporary files :func:`atomic_path` left in ``folder`` when its writer was killed
    (those of ``target`` only, when given). A file still being written is locked and kept; a file
    that cannot be removed (a read-only folder) is left.

    Returns:
        The files removed.
    """
    folder = Path(folder)
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.is_file(follow_symlinks=False)]
    except OSError:
        return []
    removed = []
    for name in (n for n in names if _is_temp_name(n, target)):
        try:
            fd = os.open(folder / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            if _lock(fd):
                (folder / name).unlink()
                removed.append(folder / name)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def write_cache_file(path: str | Path, write: Callable[[Path], object]) -> bool:
    """Write a cache file atomically with ``write(temporary path)``; a cache that cannot be written
    (read-only, full, a file where its folder should be) is skipped with a warning on stderr.

    Returns:
        Whether the file was written.
    """
    try:
        with atomic_path(path) as tmp:
            write(tmp)
    except OSError as exc:
        print(f"warning: cache not written: {describe_os_error(exc)}; going on without it", file=sys.stderr)
        return False
    return True


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


def _history_row(row: dict) -> dict | None:
    """One ``history.csv`` row as floats (empty cells left out), or None for a line cut short by a
    write in progress or a crash: too few or too many cells, or a cell that is not a number."""
    if None in row or None in row.values():
        return None
    try:
        return {k: float(v) for k, v in row.items() if v != ""}
    except ValueError:
        return None


class Run:
    """Paths and readers for one run directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    config_file = property(lambda self: self.root / "config.json")
    history_file = property(lambda self: self.root / "history.csv")
    model_file = property(lambda self: self.root / MODEL_FILE)
    checkpoint_dir = property(lambda self: self.root / "checkpoint")
    state_file = property(lambda self: self.root / "checkpoint" / "state.json")
    snapshot_dir = property(lambda self: self.root / "snapshots")
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
            rows = [row for row in map(_history_row, csv.DictReader(stream)) if row is not None]
        return [{**row, "epoch": int(row["epoch"])} if "epoch" in row else row for row in rows]

    def training_seconds(self) -> float:
        """Seconds of training behind this folder: the sum of its history's ``seconds``, or for a
        ``fer ensemble`` folder the sum of its members' (its ``config.json`` ``training_seconds``)."""
        config = _read_dict(self.config_file, []) or {}
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
        ``config.json`` or ``metrics.json`` stays empty and its one-line error is
        added as ``config_error`` / ``metrics_error``.
        """
        out = {"config": {}, "history": self.history(), "metrics": {}}
        for name, reader, file in (
            ("config", self.config, self.config_file),
            ("metrics", self.metrics, self.metrics_file),
        ):
            if file.is_file():
                try:
                    out[name] = reader()
                except FerError as exc:
                    out[f"{name}_error"] = str(exc)
        return out


# ----------------------------------------------------------------------------- one trainer per run folder

LOCK_FILE = ".lock"  # RUN/.lock: flocked by the process training in RUN; says who it is


def _flock(fd: int, exclusive: bool) -> bool:
    """A non-blocking ``flock`` on ``fd``: False when another open file holds a conflicting one.

    Where there is no ``flock`` (not POSIX, a file system without locks) it grants every lock.
    """
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # ENOLCK, EOPNOTSUPP: this file system cannot lock
        return True
    return True


def _busy(folder: Path) -> FerError:
    """The one-line error for a run folder whose lock another process holds, naming that process."""
    try:
        holder = json.loads((folder / LOCK_FILE).read_text())
        who = (f"pid {holder['pid']} on {holder['host']} since {holder['since']}: "
               f"{shorten(holder['command'], 120)}")
    except (OSError, ValueError, KeyError, TypeError):  # written this instant, or by something else
        who = "its process is starting"
    return FerError(f"{folder}: another process is training in this folder ({who}); wait for it to end "
                    "or use another --out")


def check_unlocked(folder: str | Path) -> None:
    """Raise :func:`_busy`'s error when a process holds the lock of the run ``folder`` (:func:`run_lock`);
    creates nothing, so the ``fer`` command can ask before TensorFlow loads."""
    folder = Path(folder)
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY)
    except OSError:  # no lock file (or no folder): nobody trains here
        return
    try:
        free = _flock(fd, exclusive=False)
    finally:
        os.close(fd)
    if not free:
        raise _busy(folder)


def _lock_file(path: Path) -> int:
    """Open and exclusively flock ``path`` (created if missing); the open descriptor holds the lock.

    A holder that ends removes the file; when it did so between our ``open`` and ``flock``
    we hold a lock on a removed file, so we open the new one and try again.
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        if not _flock(fd, exclusive=True):
            os.close(fd)
            raise _busy(path.parent)
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


@contextlib.contextmanager
def run_lock(folder: str | Path) -> Iterator[None]:
    """Hold the lock of the run ``folder`` for the block, so that one process at a time trains in it.

    The lock is an exclusive ``flock`` on ``FOLDER/.lock``, which names the holder (pid,
    host, start time, command) for the error another process gets. The kernel drops a
    ``flock`` when its process ends, ``kill -9`` included, so the lock of a killed run is
    taken over by the next start without anyone deleting anything. The block's end removes
    the file, and the folder too when this call created it and it is still empty (a run
    refused before writing anything leaves nothing behind).

    Raises:
        FerError: another process holds the lock (see :func:`_busy`).
    """
    folder = Path(folder)
    created = not folder.exists()
    make_folder(folder)
    path = folder / LOCK_FILE
    try:
        fd = _lock_file(path)
    except FerError:
        _remove_if_empty(folder, created)
        raise
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
              "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "?"}
    os.ftruncate(fd, 0)
    os.write(fd, (json.dumps(holder) + "\n").encode())
    try:
        yield
    finally:
        path.unlink(missing_ok=True)  # while still holding it: the next start locks a new file
        os.close(fd)
        _remove_if_empty(folder, created)


def _remove_if_empty(folder: Path, created: bool) -> None:
    if created:
        with contextlib.suppress(OSError):  # not empty (or gone): keep it
            folder.rmdir()


def run_status(run: Run, now: float | None = None) -> str:
    """``running``, ``finished``, ``interrupted`` or ``new`` (nothing trained yet), from the run's files alone.

    Running means a heartbeat younger than 3 beats (at least 30 s); finished, that
    the checkpoint or the history reached the configured epochs, or a model file
    with no record of its training (a shipped model). A half-written or missing
    file counts as absent, never raises.
    """
    problems: list[str] = []
    return _status(_read_dict(run.heartbeat_file, problems), _read_dict(run.state_file, problems),
                   _read_dict(run.config_file, problems), _safe_history(run, problems), run.model_file.is_file(), now)


def _status(beat: dict | None, state: dict | None, config: dict | None, history: list[dict], has_model: bool,
            now: float | None = None) -> str:
    """:func:`run_status` from the files' contents (``None`` for a missing or unreadable file)."""
    now = time.time() if now is None else now
    age = now - (_number(beat, "time") or -math.inf)
    if age < max(30.0, 3 * (_number(beat, "every") or 5.0)):
        return "running"
    done = _epochs_done(state, history)
    epochs = _number(config, "epochs", int) or _number(beat, "epochs", int)
    if epochs and done >= epochs:
        return "finished"
    if done or history:
        return "interrupted"
    return "finished" if has_model else "new"


def _epochs_done(state: dict | None, history: list[dict]) -> int:
    """Finished epochs: the checkpoint's, or the history's last, whichever is further."""
    return max([_number(state, "epoch", int) or 0] + [int(row.get("epoch", i + 1)) for i, row in enumerate(history)])


def _safe_history(run: Run, problems: list[str]) -> list[dict]:
    """:meth:`Run.history`, or ``[]`` (and a line in ``problems``) when the file cannot be read."""
    try:
        return run.history()
    except (OSError, UnicodeDecodeError, csv.Error):
        problems.append(f"{run.history_file.name}: unreadable")
        return []


# ----------------------------------------------------------------------------- a run at a glance (Training page)

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
    from fer_core.config import TrainConfig

    known = {f.name for f in dataclasses.fields(TrainConfig)}
    found = {}
    for name, value in config.items():
        if name in NOT_OPTIONS:
            continue
        if (value != TrainConfig.default(name)) if name in known else value not in (None, 0, False, "", [], {}):
            found[name] = value
    return found


def _read_dict(path: Path, problems: list[str]) -> dict | None:
    """A JSON object from ``path``; None when missing, and also a line in ``problems`` when unreadable."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            return data
        problems.append(f"{path.name}: not a JSON object")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        problems.append(f"{path.name}: unreadable or half-written")
    return None


def _number(data: dict | None, key: str, kind=float):
    try:
        return kind(data[key])
    except (TypeError, KeyError, ValueError, OverflowError):
        return None


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
    saved = _read_dict(run.config_file, problems)
    config = saved or {}
    if config.get("model") == ENSEMBLE:
        return _ensemble_summary(run, config, problems)
    state = _read_dict(run.state_file, problems)
    beat = _read_dict(run.heartbeat_file, problems)
    history = _safe_history(run, problems)
    has_model = run.model_file.is_file()
    status = _status(beat, state, saved, history, has_model, now)
    epochs = _number(config, "epochs", int) or _number(beat, "epochs", int)
    summary = RunSummary(status, config.get("model"), _epochs_done(state, history), epochs, has_model=has_model)
    summary.problems = problems
    fraction = 0.0
    if summary.status == "running":
        summary.current = _number(beat, "epoch", int)
        summary.batch, summary.batches = _number(beat, "batch", int), _number(beat, "batches", int)
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
    metrics = _read_dict(run.metrics_file, problems)
    names = config.get("names") or config.get("members") or []
    return RunSummary("finished" if has_model else "new", ENSEMBLE, has_model=has_model, problems=problems,
                      members=len(names), progress=1.0 if has_model else None,
                      best_accuracy=_number(metrics, "accuracy"),
                      options={"members": " + ".join(map(str, names)), "tta": config.get("tta")})


def best_epoch(history: Sequence[dict]) -> dict | None:
    """The ``history.csv`` row (:meth:`fer_core.runs.Run.history`) with the highest finite ``val_accuracy``.

    Returns:
        That row (the first of equal ones), or ``None`` when no row has a finite ``val_accuracy``.
    """
    rows = [row for row in history if math.isfinite(row.get("val_accuracy", math.nan))]
    return max(rows, key=lambda row: row["val_accuracy"], default=None)


ENSEMBLE = "ensemble"  # config.json ``model`` of a folder written by ``fer ensemble``
MEMBER_SEPARATOR = "/"  # an ensemble's history.csv column: ``<member>/<column>`` (``vggw/val_accuracy``)


def merge_histories(histories: Mapping[str, Sequence[dict]]) -> list[dict]:
    """One ``history.csv`` for an ensemble: row ``e`` holds epoch ``e`` of every member that has it.

    ``histories`` maps a member name to its :meth:`Run.history` rows; their
    columns become ``<member>/<column>`` (cells of a shorter member stay empty).
    """
    by_epoch: dict[int, dict] = {}
    for name, rows in histories.items():
        for i, row in enumerate(rows):
            epoch = int(row.get("epoch", i + 1))
            cells = {f"{name}{MEMBER_SEPARATOR}{k}": v for k, v in row.items() if k != "epoch"}
            by_epoch.setdefault(epoch, {"epoch": epoch}).update(cells)
    return [by_epoch[e] for e in sorted(by_epoch)]


def split_history(rows: Sequence[dict], single: str = "this run") -> dict[str, list[dict]]:
    """The inverse of :func:`merge_histories`: ``{member: rows}``; a plain run's rows as ``{single: rows}``."""
    members: dict[str, dict[int, dict]] = {}
    for row in rows:
        for key, value in row.items():
            name, separator, column = key.partition(MEMBER_SEPARATOR)
            if separator:
                members.setdefault(name, {}).setdefault(row["epoch"], {"epoch": row["epoch"]})[column] = value
    if not members:
        return {single: list(rows)} if rows else {}
    return {name: list(by_epoch.values()) for name, by_epoch in members.items()}


# ----------------------------------------------------------------------------- finding runs (the dashboard's pickers)

RUN_FILES = ("config.json", "history.csv", "heartbeat.json", MODEL_FILE, "checkpoint")  # any one makes a run
Folders = list[tuple[str, Path]]  # (kind, folder): kind "shipped" or "run"
DEFAULT_MODEL = "seed"  # the folder of the model the dashboard opens on, unless FER_MODEL names another


def search_folders(root: str | Path, cwd: str | Path | None = None, env: Mapping[str, str] | None = None) -> Folders:
    """Where runs are looked for, in order: ``ROOT/assets/models`` (``"shipped"``), then ``ROOT/runs``,
    ``CWD/runs`` and ``$FER_RUNS`` (:func:`fer_core.paths.runs_from_env`; ``"run"``). A folder may not exist.

    Args:
        root: the project folder; cwd: default the current directory; env: default ``os.environ``.
    """
    root, cwd = Path(root), Path.cwd() if cwd is None else Path(cwd)
    extra = runs_from_env(env)
    folders = [("shipped", root / "assets" / "models"), ("run", root / "runs"), ("run", cwd / "runs")]
    return folders + ([("run", extra)] if extra else [])


def subfolders(folder: str | Path) -> list[Path]:
    """The folders directly inside ``folder``, sorted by path (empty when ``folder`` is not a folder)."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _candidates(folders: Folders) -> Iterator[tuple[str, Path]]:
    """``(kind, subfolder)`` of every searched folder in order, each folder once (a second path to it,
    e.g. ``ROOT/runs`` seen again as ``CWD/runs`` or through a link, is skipped)."""
    seen: set[Path] = set()
    for kind, folder in folders:
        for sub in subfolders(folder):
            if sub.resolve() not in seen:
                seen.add(sub.resolve())
                yield kind, sub


def find_models(folders: Folders) -> dict[str, str]:
    """Every ``*/model.keras`` under ``folders`` (:func:`search_folders`), in search order:
    ``{resolved model path: "name (kind)"}``."""
    return {
        str(Run(sub).model_file.resolve()): f"{sub.name} ({kind})"
        for kind, sub in _candidates(folders)
        if Run(sub).model_file.is_file()
    }


def find_runs(folders: Folders) -> dict[str, Path]:
    """Runs with a ``metrics.json`` or ``history.csv`` (for comparing): ``{name: resolved folder}``;
    a name already taken is replaced by the folder's path."""
    found: dict[str, Path] = {}
    for _, sub in _candidates(folders):
        if Run(sub).metrics_file.is_file() or Run(sub).history_file.is_file():
            found[sub.name if sub.name not in found else str(sub)] = sub.resolve()
    return found


def find_all_runs(folders: Folders) -> dict[str, tuple[str, Path]]:
    """Every run folder and shipped model, however far it got (any of :data:`RUN_FILES`):
    ``{"name (kind)": (kind, resolved folder)}``; a label already taken uses the folder's path."""
    found: dict[str, tuple[str, Path]] = {}
    for kind, sub in _candidates(folders):
        if any((sub / name).exists() for name in RUN_FILES):
            label = f"{sub.name} ({kind})"
            found[label if label not in found else f"{sub} ({kind})"] = (kind, sub.resolve())
    return found


def default_model_index(models: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Index in ``models`` (model paths, shipped first) of the one ``$FER_MODEL`` names
    (:func:`fer_core.paths.model_from_env`), else of the first in a folder named :data:`DEFAULT_MODEL`
    (the shipped seed CNN, the report's network), else 0."""
    paths, wanted = [str(path) for path in models], model_from_env(env)
    if wanted is not None and str(wanted) in paths:
        return paths.index(str(wanted))
    return next((i for i, path in enumerate(paths) if Path(path).parent.name == DEFAULT_MODEL), 0)
