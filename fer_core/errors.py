"""Errors that carry a one-line message meant for the user, and the one wording of an ``OSError``."""

from __future__ import annotations

import errno
import zipfile
from pathlib import Path

import re

MESSAGE_LIMIT = 400  # characters of a whole message
VALUE_LIMIT = 60  # characters of a value quoted in a message (a cell, a header, a name)
# What pandas.read_csv raises on a file that is not one readable CSV: a parse or decoding error, a zip holding
# several files or none (all ValueErrors), an unreadable file, a damaged zip or cut-short compressed stream.
CSV_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile)


def shorten(text: str, limit: int = VALUE_LIMIT) -> str:
    """``text`` as one line of at most about ``limit`` characters: its start and end around
    ``… [N characters cut] …`` when longer, so a value read from a file (a row of 2,304 pixels)
    never floods a message."""
    text = re.sub(r"\s*\n\s*", " ", str(text))
    if len(text) <= limit:
        return text
    keep = max(limit // 2 - 12, 4)
    return f"{text[:keep]} … [{len(text) - 2 * keep:,} characters cut] … {text[-keep:]}"


class FerError(Exception):
    """A user-facing error: bad input, missing file, wrong option.

    The message is one line naming what was wrong (file, row, field) and what
    was expected. The CLI prints it and exits with status 2. A message with line
    breaks is joined into one line and one longer than :data:`MESSAGE_LIMIT` is cut
    in the middle (:func:`shorten`), so the file and row at its start and what was
    expected at its end stay.
    """

    def __init__(self, message: str = "", *args):
        super().__init__(shorten(message, MESSAGE_LIMIT), *args)


class DataError(FerError, ValueError):
    """The dataset could not be found or one of its files is malformed."""


class WriteError(FerError, OSError):
    """A file or folder could not be written: names the path the user asked for and why.

    Also an ``OSError``, so code that may go on without the file (a cache) catches it as one.
    """


_REASONS = {
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for the file system or the process's file-size limit",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EISDIR: "is a folder, not a file",
}


def _blocking_file(path: Path) -> Path | None:
    """The nearest of ``path`` and its parents that exists and is not a folder (a file in the way), or None."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None


def os_reason(exc: OSError, path: str | Path | None = None) -> str:
    """The reason of ``exc`` in words, naming the file in the way when a folder cannot be made
    (``/tmp/x is a file, not a folder``; ``a file is in the way`` when that file is ``path`` itself)."""
    if exc.errno in (errno.ENOTDIR, errno.EEXIST) and exc.filename is not None:
        blocker = _blocking_file(Path(exc.filename))
        if blocker is not None:
            return "a file is in the way" if path is not None and blocker == Path(path) else \
                f"{blocker} is a file, not a folder"
    return _REASONS.get(exc.errno, (exc.strerror or str(exc)).lower())


def describe_os_error(exc: OSError) -> str:
    """One line for an ``OSError`` the user can act on: ``PATH: reason`` (just the reason when it names no path)."""
    if isinstance(exc, FerError):
        return str(exc)
    return f"{exc.filename}: {os_reason(exc)}" if exc.filename is not None else os_reason(exc)
