"""Read FER+'s ten annotators' votes for the faces of FER2013.

FER+ (Barsoum et al., "Training Deep Networks for Facial Expression Recognition
with Crowd-Sourced Label Distribution", ICMI 2016; Microsoft, MIT License) had
every FER2013 face labeled again by 10 crowd workers. Its ``fer2013new.csv`` has
one row per row of the Kaggle ``fer2013.csv``, in the same order, so the row
number is what aligns a face with its votes:

    Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF

(vote counts 0..10 summing to about 10; ``Image name`` is empty for faces judged
not a face). The emotion columns are in another order than FER2013's labels:
:data:`VOTE_TO_CLASS` maps them. The public file has 35,887 rows; a copy may
stop earlier (the project's shared copy stops after PublicTest, since
PrivateTest's votes would reveal its withheld labels): rows past its end have
no votes (all counts 0).

Where the file is found (:func:`find_votes`): ``--ferplus PATH``, else
``$FER_PLUS``, else ``fer2013new.csv`` beside the Kaggle CSV. Only the Kaggle
CSV keeps the original row order, so other sources cannot carry votes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fer_core.errors import CSV_READ_ERRORS, DataError
from fer_core.labels import EMOTIONS
from fer_core.paths import FERPLUS_FILE, ferplus_from_env

VOTE_COLUMNS: tuple[str, ...] = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
HEADER: tuple[str, ...] = ("Usage", "Image name", *VOTE_COLUMNS)
# FER2013 class of each vote column (EMOTIONS order), -1 for contempt, unknown and not-a-face.
VOTE_TO_CLASS: tuple[int, ...] = tuple(
    EMOTIONS.index(name) if name in EMOTIONS else -1
    for name in ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt", "unknown", "NF")
)
MAX_VOTES = 10


def find_votes(csv_file: Path, explicit: str | Path | None = None) -> Path | None:
    """The FER+ votes file for the Kaggle CSV ``csv_file``: ``explicit``, ``$FER_PLUS`` or the file beside it.

    Returns:
        The path, or ``None`` when none was named and none lies beside the CSV.

    Raises:
        DataError: a file named by ``explicit`` or ``$FER_PLUS`` that does not exist.
    """
    named, origin = (explicit, "--ferplus") if explicit is not None else (ferplus_from_env(), "FER_PLUS")
    if named is not None:
        path = Path(named).expanduser()
        if not path.is_file():
            raise DataError(f"{path}: no such FER+ votes file (from {origin}; expected {FERPLUS_FILE})")
        return path
    beside = csv_file.parent / FERPLUS_FILE
    return beside if beside.is_file() else None


def read_votes(path: Path, usage: pd.Series) -> np.ndarray:
    """The votes of every row of a Kaggle CSV whose ``Usage`` column is ``usage``.

    Args:
        path: a ``fer2013new.csv`` (see the module docstring).
        usage: the CSV's ``Usage`` column, one string per row, in file order.

    Returns:
        ``uint8 (N, 10)`` vote counts in :data:`VOTE_COLUMNS` order, ``N = len(usage)``;
        rows past the end of a shorter votes file are all 0 (no votes).

    Raises:
        DataError: one line naming the file, the 1-based row (the header is row 1) and what is wrong:
            a wrong header, more rows than the CSV, a ``Usage`` that differs from the CSV's at the
            same row, or a count that is not an integer 0..10.
    """
    frame = _read(path)
    if len(frame) > len(usage):
        raise DataError(
            f"{path}: has {len(frame):,} rows of votes but the FER2013 CSV has {len(usage):,} "
            f"(expected one row per CSV row, in the same order)"
        )
    _check_usage(path, frame["Usage"], usage)
    votes = np.zeros((len(usage), len(VOTE_COLUMNS)), np.uint8)
    votes[: len(frame)] = _counts(path, frame)
    return votes


def _read(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file is empty (expected the FER+ header {','.join(HEADER)})") from None
    except CSV_READ_ERRORS as exc:
        raise DataError(f"{path}: not a readable CSV ({str(exc).splitlines()[0][:200]})") from None
    if tuple(frame.columns) != HEADER:
        found = ",".join(map(str, frame.columns))[:200] or "none"
        raise DataError(f"{path}: row 1: header is {found} (expected {','.join(HEADER)})")
    return frame


def _check_usage(path: Path, theirs: pd.Series, ours: pd.Series) -> None:
    differs = theirs.to_numpy() != ours.to_numpy()[: len(theirs)]
    if differs.any():
        i = int(np.flatnonzero(differs)[0])
        raise DataError(
            f"{path}: row {i + 2}: Usage is {theirs.iloc[i][:40]!r} but the FER2013 CSV's row {i + 2} is "
            f"{ours.iloc[i]!r} (the votes file must list the CSV's rows in the same order; a row missing or "
            "added above it shifts every row after it)"
        )


def _counts(path: Path, frame: pd.DataFrame) -> np.ndarray:
    text = frame[list(VOTE_COLUMNS)]
    values = text.apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = np.isnan(values) | (values != np.round(values)) | (values < 0) | (values > MAX_VOTES)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise DataError(
            f"{path}: row {i + 2}: column '{VOTE_COLUMNS[j]}' is {text.iat[i, j][:40]!r} "
            f"(expected an integer vote count 0..{MAX_VOTES})"
        )
    return values.astype(np.uint8)
