"""Errors that carry a one-line message meant for the user."""

import re

MESSAGE_LIMIT = 400  # characters of a whole message
VALUE_LIMIT = 60  # characters of a value quoted in a message (a cell, a header, a name)


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
