"""FER2013's file formats and image folders: which reader applies to a source, and the readers.

Each reader checks its header and cells and fails with one line naming the file,
the 1-based row or the image, and what was expected (:class:`~fer_core.errors.DataError`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from fer_core.data.ferplus import find_votes, read_votes
from fer_core.data.images import IMAGE_SUFFIXES, ImageError, read_face
from fer_core.data.splits import Split
from fer_core.errors import CSV_READ_ERRORS, DataError, shorten
from fer_core.labels import EMOTIONS, IMAGE_SIZE, NUM_CLASSES, NUM_PIXELS, SPLITS
from fer_core.paths import ferplus_from_env

HOW_TO_GET = (
    "get FER2013 (fer2013.csv from the Kaggle 'Challenges in Representation Learning: "
    "Facial Expression Recognition' competition) and pass --data PATH or set FER_DATA"
)
_USAGE_TO_SPLIT = {usage: split for split, usage in SPLITS.items()}


def _first_existing(folder: Path, names: tuple[str, ...]) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)


def plan_reading(source: Path, ferplus: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Which reader applies to which file: a list of ``(format, path)``, FER+ votes as ``("ferplus", path)``."""
    plan = _files(source)
    if plan[0][0] == "kaggle":
        votes = find_votes(plan[0][1], ferplus)
        return plan + ([("ferplus", votes)] if votes else [])
    if ferplus is not None or ferplus_from_env():
        raise DataError(
            f"{source}: FER+ votes need the Kaggle fer2013.csv (its row order is what aligns a face with its "
            f"votes), not {_FORMAT_NAMES[plan[0][0]]}; drop --ferplus / FER_PLUS to load it without votes"
        )
    return plan


def _files(source: Path) -> list[tuple[str, Path]]:
    if source.is_file():
        return [(_csv_format(source), source)]
    kaggle = _first_existing(source, ("fer2013.csv", "fer2013.csv.gz"))
    if kaggle is not None:
        _check_header(kaggle, "kaggle")
        plan = [("kaggle", kaggle)]
        private = _first_existing(source, ("private_test.csv", "private_test.csv.gz"))
        if private is not None:
            _check_header(private, "private")
        return plan + ([("private", private)] if private else [])
    course = [_first_existing(source, (f"{n}.csv", f"{n}.csv.gz")) for n in ("train", "test")]
    if any(course):
        return [(_csv_format(p), p) for p in course if p is not None]
    if (source / "train").is_dir() or (source / "test").is_dir():
        return [("images", source)]
    raise DataError(
        f"{source}: no FER2013 files found (looked for fer2013.csv[.gz], train.csv/test.csv, "
        f"or train/<emotion>/ and test/<emotion>/ image folders); {HOW_TO_GET}"
    )


_FORMAT_NAMES = {
    "kaggle": "the Kaggle CSV",
    "private": "a PrivateTest CSV (id,pixels)",
    "course_train": "the ML2017 course files",
    "course_test": "the ML2017 course files",
    "images": "image folders",
}
_HEADERS = {
    ("emotion", "pixels", "Usage"): "kaggle",
    ("id", "pixels"): "private",
    ("label", "feature"): "course_train",
    ("id", "feature"): "course_test",
}


def _csv_format(path: Path) -> str:
    header = _read_csv(path, nrows=0).columns
    for columns, fmt in _HEADERS.items():
        if set(columns) <= set(header):
            return fmt
    # Name the closest known header to say which column is missing.
    best = max(_HEADERS, key=lambda cols: len(set(cols) & set(header)))
    raise _missing_columns(path, best, header)


def _check_header(path: Path, fmt: str) -> None:
    """Raise unless the CSV at ``path`` has the columns of format ``fmt`` (a file found by its name)."""
    header = _read_csv(path, nrows=0).columns
    columns = next(cols for cols, name in _HEADERS.items() if name == fmt)
    if not set(columns) <= set(header):
        raise _missing_columns(path, columns, header)


def _missing_columns(path: Path, expected: tuple[str, ...], header) -> DataError:
    """The error for a CSV whose header lacks columns; the header is shortened (a headerless file's is 2,304 pixels)."""
    missing = [c for c in expected if c not in header]
    found = shorten(",".join(map(str, header))) or "none"
    return DataError(
        f"{path}: missing column {', '.join(repr(c) for c in missing)} "
        f"(expected columns {','.join(expected)}; found {found})"
    )


# ----------------------------------------------------------------------------- parsing


def _read_csv(path: Path, nrows: int | None = None) -> pd.DataFrame:
    """Every cell of the CSV at ``path`` as a string (``""`` when empty); a :class:`DataError` naming the row
    for a file that is not a well-formed CSV."""
    fast = _read_csv_with_arrow(path) if nrows is None else None
    if fast is not None:
        return fast
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, nrows=nrows)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file is empty (expected a CSV header and rows)") from None
    except CSV_READ_ERRORS as exc:
        raise DataError(f"{path}: {_parser_problem(str(exc))}") from None


def _read_csv_with_arrow(path: Path) -> pd.DataFrame | None:
    """The whole CSV by pyarrow's reader (FER2013's 271 MB: 1.5 s against pandas's C parser's 2.5 s on a
    2-core CPU), or ``None`` when pyarrow stops or would read what the C parser refuses: a short
    row, or a quote left open, which pyarrow lets run to the end of the file (into the last row's cell, or
    closed by the end of a file without a final newline). The C parser then reads the file and names the
    problem and its row."""
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            text = stream.read()
        if _last_line_quotes(text) % 2:
            return None
        frame = pd.read_csv(pa.BufferReader(text), dtype=str, keep_default_na=False, engine="pyarrow")
    except (ValueError, NotImplementedError, UnicodeDecodeError, OSError, EOFError):  # parser errors: ValueErrors
        return None
    last = frame.iloc[-1].tolist() if len(frame) else []
    return None if any("\n" in cell or "\r" in cell for cell in last) else frame


def _last_line_quotes(text) -> int:
    """How many ``"`` the last non-empty line of a pyarrow buffer holds (odd: a quote left open)."""
    tail = memoryview(text)[-(1 << 20):].tobytes().rstrip(b"\r\n")
    return tail[tail.rfind(b"\n") + 1:].count(b'"')


def _row(i: int) -> int:
    """Spreadsheet row number of data row ``i`` (0-based): the header is row 1."""
    return i + 2


# pandas's C parser counts "line N" from 1 at the header (our row N) and "row N" from 0 (our row N + 1).
_PANDAS_PROBLEMS = (
    (re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)"),
     lambda m: f"row {m[2]}: has {m[3]} fields (expected {m[1]}, as in the header)"),
    (re.compile(r"EOF inside string starting at row (\d+)"),
     lambda m: f"row {int(m[1]) + 1}: a quoted field (\") starts here and never ends"),
)


def _parser_problem(message: str) -> str:
    """pandas's parser error as one short line, its row numbered as ours (:func:`_row`: the header is row 1)."""
    for pattern, say in _PANDAS_PROBLEMS:
        match = pattern.search(message)
        if match:
            return say(match)
    return f"not a readable CSV ({shorten(message.strip() or 'unknown parser error', 200)})"


def parse_pixels(column: pd.Series, path: Path, name: str = "pixels") -> np.ndarray:
    """Parse space-separated pixel strings into ``uint8 (N, 48, 48)``.

    Raises:
        DataError: naming the file, the 1-based row and what was wrong.
    """
    out = np.empty((len(column), NUM_PIXELS), dtype=np.uint8)
    for i, text in enumerate(column):
        try:
            values = np.fromstring(text, dtype=np.int32, sep=" ")
        except ValueError:
            bad = next((t for t in text.split() if not t.lstrip("-").isdigit()), text[:20])
            raise DataError(
                f"{path}: row {_row(i)}: column '{name}' has a non-numeric pixel {shorten(repr(bad))} "
                f"(expected {NUM_PIXELS} integers 0..255)"
            ) from None
        if values.size != NUM_PIXELS:
            raise DataError(
                f"{path}: row {_row(i)}: column '{name}' has {values.size} pixels "
                f"(expected {NUM_PIXELS} = {IMAGE_SIZE}x{IMAGE_SIZE})"
            )
        if values.min() < 0 or values.max() > 255:
            raise DataError(f"{path}: row {_row(i)}: column '{name}' has a pixel outside 0..255")
        out[i] = values
    return out.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)


def parse_integers(column: pd.Series, path: Path, name: str, high: int | None = None) -> np.ndarray:
    """Parse an integer column; with ``high``, values must lie in ``0..high-1``."""
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() | (values != values.round()) | ~(values.abs() < 2**53)  # inf, or past float's exact integers
    if high is not None:
        bad |= (values < 0) | (values >= high)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        expected = f"an integer 0..{high - 1}" if high is not None else "an integer"
        value = shorten(repr(column.iloc[i]))
        raise DataError(f"{path}: row {_row(i)}: column '{name}' is {value} (expected {expected})")
    return values.to_numpy(dtype=np.int64)


def _read_kaggle(path: Path, votes_file: Path | None = None) -> dict[str, Split]:
    frame = _read_csv(path)
    usage = frame["Usage"]
    unknown = ~usage.isin(list(_USAGE_TO_SPLIT))
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DataError(
            f"{path}: row {_row(i)}: column 'Usage' is {shorten(repr(usage.iloc[i]))} "
            f"(expected one of {', '.join(_USAGE_TO_SPLIT)})"
        )
    labels = parse_integers(frame["emotion"], path, "emotion", NUM_CLASSES)
    images = parse_pixels(frame["pixels"], path)
    votes = read_votes(votes_file, usage) if votes_file is not None else None
    splits = {}
    for usage_name, split in _USAGE_TO_SPLIT.items():
        mask = (usage == usage_name).to_numpy()
        if mask.any():
            ids = np.arange(mask.sum(), dtype=np.int64)
            splits[split] = Split(images[mask], labels[mask], ids, _votes_of(votes, mask))
    return splits


def _votes_of(votes: np.ndarray | None, mask: np.ndarray) -> np.ndarray | None:
    """The rows ``mask`` selects of ``votes``, or ``None`` when none of them has a vote."""
    if votes is None or not votes[mask].any():
        return None
    return votes[mask]


def _read_unlabeled(path: Path, pixel_column: str) -> Split:
    frame = _read_csv(path)
    ids = parse_integers(frame["id"], path, "id")
    return Split(parse_pixels(frame[pixel_column], path, pixel_column), None, ids)


def _read_course_train(path: Path) -> dict[str, Split]:
    frame = _read_csv(path)
    labels = parse_integers(frame["label"], path, "label", NUM_CLASSES)
    images = parse_pixels(frame["feature"], path, "feature")
    return {"train": Split(images, labels, np.arange(len(labels), dtype=np.int64))}


def _split_of_image(file: Path, top: str) -> str:
    for split, usage in SPLITS.items():
        if file.name.startswith(usage + "_"):
            return split
    return "train" if top == "train" else "public"


def image_files(root: Path) -> list[tuple[str, str, Path]]:
    """``(top, emotion, file)`` for every image under ``root/{train,test}/<emotion>/``."""
    found = []
    for top in ("train", "test"):
        if not (root / top).is_dir():
            continue
        for folder in sorted(p for p in (root / top).iterdir() if p.is_dir()):
            if folder.name.lower() not in EMOTIONS:
                raise DataError(
                    f"{folder}: unknown emotion folder '{folder.name}' (expected one of {', '.join(EMOTIONS)})"
                )
            files = sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            found += [(top, folder.name.lower(), f) for f in files]
    if not found:
        raise DataError(f"{root}: no images found under train/<emotion>/ or test/<emotion>/")
    return found


def _read_images(root: Path) -> dict[str, Split]:
    grouped: dict[str, tuple[list, list]] = {}
    for top, emotion, file in image_files(root):
        try:
            face = read_face(file)
        except ImageError as exc:
            raise DataError(str(exc)) from None
        images, labels = grouped.setdefault(_split_of_image(file, top), ([], []))
        images.append(face)
        labels.append(EMOTIONS.index(emotion))
    return {
        split: Split(np.stack(images), np.asarray(labels, np.int64), np.arange(len(labels), dtype=np.int64))
        for split, (images, labels) in grouped.items()
    }


def _read(fmt: str, path: Path, votes_file: Path | None = None) -> dict[str, Split]:
    """The splits one file (or image folder) holds; a DataError if it holds no face at all."""
    splits = _read_kaggle(path, votes_file) if fmt == "kaggle" else _read_format(fmt, path)
    if not any(len(split) for split in splits.values()):
        raise DataError(f"{path}: holds no faces (expected rows after the header, or image files)")
    return splits


def _read_format(fmt: str, path: Path) -> dict[str, Split]:
    if fmt == "private":
        return {"private": _read_unlabeled(path, "pixels")}
    if fmt == "course_train":
        return _read_course_train(path)
    if fmt == "course_test":
        return {"private": _read_unlabeled(path, "feature")}
    return _read_images(path)


def parse(plan: list[tuple[str, Path]]) -> dict[str, Split]:
    splits: dict[str, Split] = {}
    votes_file = dict(plan).get("ferplus")
    for fmt, path in plan:
        if fmt == "ferplus":
            continue  # read with the Kaggle CSV, whose rows it follows
        for name, split in _read(fmt, path, votes_file).items():
            splits.setdefault(name, split)  # a labeled PrivateTest beats a later unlabeled file
    return splits
