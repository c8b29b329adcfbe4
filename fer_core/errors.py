"""Errors that carry a one-line message meant for the user."""


class FerError(Exception):
    """A user-facing error: bad input, missing file, wrong option.

    The message is one line naming what was wrong (file, row, field) and what
    was expected. The CLI prints it and exits with status 2.
    """


class DataError(FerError, ValueError):
    """The dataset could not be found or one of its files is malformed."""
