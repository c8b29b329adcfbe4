"""Atomic file writes, and the one ``flock`` helper behind them and the run lock.

Every file is written to a temporary name in the same folder and renamed, so
an interrupted write never leaves a half-written file behind; the temporary file
is locked while it is written, so one a killed writer left can be told apart and swept.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from fer_core.errors import FerError, WriteError, describe_os_error, os_reason

try:
    import fcntl
except ImportError:  # Windows: no flock, so no temporary file is ever taken for a dead writer's
    fcntl = None


def try_flock(fd: int, exclusive: bool = True) -> bool | None:
    """A non-blocking ``flock`` on ``fd``: True when taken, False when another open file holds a conflicting
    one, None where the system or file system has no ``flock`` (not POSIX; ENOLCK, EOPNOTSUPP)."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    return True


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
        locked = try_flock(fd)
        if locked is None or (locked and os.fstat(fd).st_nlink):  # not swept away before it was locked
            break
        os.close(fd)  # a sweep took it first and removes it
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
    return fd, Path(tmp)


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
            if try_flock(fd):
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
    except UnicodeDecodeError as exc:
        raise FerError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def file_digest(path: str | Path) -> str:
    """The first 20 hex digits of the SHA-256 of a file's bytes (the cache key of a model file)."""
    sha = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:20]


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)


def read_dict(path: Path, problems: list[str]) -> dict | None:
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
