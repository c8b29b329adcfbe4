"""One trainer per run folder: the run lock (an exclusive ``flock`` on ``RUN/.lock`` that names its holder)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from fer_core.errors import FerError, shorten
from fer_core.runs.files import make_folder, try_flock

LOCK_FILE = ".lock"  # RUN/.lock: flocked by the process training in RUN; says who it is


def _busy(folder: Path) -> FerError:
    """The one-line error for a run folder whose lock another process holds, naming that process."""
    try:
        holder = json.loads((folder / LOCK_FILE).read_text())
        who = (f"pid {holder['pid']} on {holder['host']} since {holder['since']}: "
               f"{shorten(holder['command'], 120)}")
    except (OSError, ValueError, KeyError, TypeError):  # written this instant, or by something else
        who = "its process is starting"
    return FerError(f"{folder}: another process is training or calibrating in this folder ({who}); wait for it "
                    "to end or use another --out")


def check_unlocked(folder: str | Path) -> None:
    """Raise :func:`_busy`'s error when a process holds the lock of the run ``folder`` (:func:`run_lock`);
    creates nothing, so the ``fer`` command can ask before TensorFlow loads."""
    folder = Path(folder)
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY)
    except OSError:  # no lock file (or no folder): nobody trains here
        return
    try:
        free = try_flock(fd, exclusive=False) is not False  # no flock here: nobody can hold one
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
        if try_flock(fd) is False:
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
