"""Load FER2013 from the forms users actually have, into numpy arrays.

Supported sources (Goodfellow et al. 2013, the Kaggle "Challenges in
Representation Learning" data and its later repackagings):

* the original Kaggle ``fer2013.csv`` (``emotion,pixels,Usage``), plain or ``.gz``;
* a folder holding ``fer2013.csv[.gz]`` and optionally ``private_test.csv[.gz]``
  (``id,pixels``, the PrivateTest split without labels);
* the ML2017 course files ``train.csv`` (``label,feature``) and ``test.csv``
  (``id,feature``, unlabeled; loaded as the ``private`` split);
* Kaggle's image layout ``train/<emotion>/*.jpg|png`` and ``test/<emotion>/...``.

Every split is a :class:`Split`: ``images`` ``uint8 (N, 48, 48)`` 0..255,
``labels`` ``int64 (N,)`` 0..6 (or ``None`` when the source has none),
``ids`` ``int64 (N,)`` and ``votes``, FER+'s ten annotators' votes ``uint8 (N, 10)``
(or ``None``; read with the Kaggle CSV only, see :mod:`fer_core.ferplus`).
Parsed arrays are cached as ``.npz`` (no pickle) keyed by the source files'
paths, sizes and modification times.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fer_core.errors import DataError, shorten
from fer_core.data.ferplus import VOTE_COLUMNS, find_votes, read_votes
from fer_core.data.images import IMAGE_SUFFIXES, ImageError, read_face
from fer_core.labels import EMOTIONS, IMAGE_SIZE, NUM_CLASSES, NUM_PIXELS, SPLITS
from fer_core.paths import DATA_VARIABLE, data_from_env, ferplus_from_env
from fer_core.paths import cache_dir as default_cache_dir  # noqa: F401 (the old name, kept for importers)
from fer_core.runs.files import remove_dead_temps, write_cache_file

CACHE_VERSION = 2  # 2: each entry lists its arrays (``keys``), so one that lost an array is seen as damaged
HOW_TO_GET = (
    "get FER2013 (fer2013.csv from the Kaggle 'Challenges in Representation Learning: "
    "Facial Expression Recognition' competition) and pass --data PATH or set FER_DATA"
)
_USAGE_TO_SPLIT = {usage: split for split, usage in SPLITS.items()}


@dataclass(frozen=True)
class Split:
    """One split of FER2013.

    Attributes:
        images: ``uint8 (N, 48, 48)``, raw pixels 0..255.
        labels: ``int64 (N,)`` in 0..6 (``EMOTIONS`` order), or ``None`` if unlabeled.
        ids: ``int64 (N,)``, the sample ids (Kaggle submission ids for PrivateTest).
        votes: ``uint8 (N, 10)`` FER+ vote counts in :data:`fer_core.ferplus.VOTE_COLUMNS` order
            (a row of zeros: no votes for that face), or ``None`` when the split has no votes.
    """

    images: np.ndarray
    labels: np.ndarray | None
    ids: np.ndarray
    votes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)

    @property
    def labeled(self) -> bool:
        return self.labels is not None

    def take(self, n: int) -> "Split":
        """The first ``n`` samples (row order is already shuffled in FER2013)."""
        labels = None if self.labels is None else self.labels[:n]
        votes = None if self.votes is None else self.votes[:n]
        return Split(self.images[:n], labels, self.ids[:n], votes)


@dataclass(frozen=True)
class Dataset:
    """The splits found at a source: any of ``train``, ``public``, ``private``."""

    source: Path
    splits: dict[str, Split] = field(default_factory=dict)
    votes_file: Path | None = None

    def __getitem__(self, name: str) -> Split:
        if name not in self.splits:
            found = ", ".join(self.splits) or "none"
            raise DataError(f"{self.source}: no '{name}' split in this dataset (found: {found})")
        return self.splits[name]

    def __contains__(self, name: str) -> bool:
        return name in self.splits

    def labeled(self, name: str) -> Split | None:
        """The split ``name`` if it is here and has labels, else ``None``."""
        split = self.splits.get(name)
        return split if split is not None and split.labeled else None

    def describe(self) -> str:
        """One line: ``FER2013 at `PATH`: train 28,709, public 3,589, private 3,589``."""
        sizes = ", ".join(f"{name} {len(split):,}" for name, split in self.splits.items())
        return f"FER2013 at `{self.source}`: {sizes}"


# ----------------------------------------------------------------------------- location


def find_data(path: str | os.PathLike | None = None) -> Path:
    """Resolve where FER2013 lives: ``path`` if given, else ``$FER_DATA``.

    Raises:
        DataError: naming where it looked and how to get the data.
    """
    if path is None and data_from_env():
        path, origin = data_from_env(), DATA_VARIABLE
    else:
        origin = "--data"
    if path is None:
        raise DataError(f"no FER2013 data: neither --data nor FER_DATA is set; {HOW_TO_GET}")
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise DataError(f"{resolved}: no such file or folder (from {origin}); {HOW_TO_GET}")
    return resolved


def _first_existing(folder: Path, names: tuple[str, ...]) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)


def _plan(source: Path, ferplus: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
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
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, nrows=nrows)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file is empty (expected a CSV header and rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataError(f"{path}: {_parser_problem(str(exc))}") from None


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
    bad = values.isna() | (values != values.round())
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


def _image_files(root: Path) -> list[tuple[str, str, Path]]:
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
    for top, emotion, file in _image_files(root):
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


def _parse(plan: list[tuple[str, Path]]) -> dict[str, Split]:
    splits: dict[str, Split] = {}
    votes_file = dict(plan).get("ferplus")
    for fmt, path in plan:
        if fmt == "ferplus":
            continue  # read with the Kaggle CSV, whose rows it follows
        for name, split in _read(fmt, path, votes_file).items():
            splits.setdefault(name, split)  # a labeled PrivateTest beats a later unlabeled file
    return splits


# ----------------------------------------------------------------------------- cache


def _source_files(plan: list[tuple[str, Path]]) -> list[Path]:
    files = []
    for fmt, path in plan:
        files += [f for _, _, f in _image_files(path)] if fmt == "images" else [path]
    return files


def cache_key(plan: list[tuple[str, Path]]) -> str:
    """Hash of the source files' absolute paths, sizes and modification times."""
    stats = [(str(f.resolve()), st.st_size, st.st_mtime_ns) for f in _source_files(plan) for st in [f.stat()]]
    blob = json.dumps([CACHE_VERSION, [fmt for fmt, _ in plan], stats]).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def _save_cache(path: Path, splits: dict[str, Split]) -> None:
    """Cache the parsed splits; a cache that cannot be written is skipped with a warning."""
    arrays = {}
    for name, split in splits.items():
        arrays[f"{name}/images"] = split.images
        arrays[f"{name}/ids"] = split.ids
        for key, array in (("labels", split.labels), ("votes", split.votes)):
            if array is not None:
                arrays[f"{name}/{key}"] = array
    arrays["keys"] = np.array(sorted(arrays))
    write_cache_file(path, lambda tmp: np.savez(tmp, **arrays))


def _load_cache(path: Path) -> dict[str, Split] | None:
    """The cached splits, or None when there is no cache entry. A damaged entry (cut short, a key
    or a split's array missing, wrong shapes) is removed with a warning, so it is parsed again."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return _cached_splits({k: npz[k] for k in npz.files})
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"warning: {path}: damaged cache entry ({reason}); removed, parsing the source again", file=sys.stderr)
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def _cached_splits(arrays: dict[str, np.ndarray]) -> dict[str, Split]:
    """The splits in a cache entry's arrays (``<split>/images``, ``/ids``, optional ``/labels`` and ``/votes``, and
    ``keys``: the names of all of them).

    Raises:
        ValueError: an array is missing or has the wrong dtype or shape (a damaged entry).
    """
    if "keys" not in arrays:
        raise ValueError("no list of its arrays")
    missing = sorted(set(arrays["keys"].tolist()) - set(arrays))
    if missing:
        raise ValueError(f"lacks {', '.join(missing)}")
    splits = {}
    for name in (n for n in SPLITS if f"{n}/images" in arrays or f"{n}/ids" in arrays):
        images, ids, labels, votes = (arrays.get(f"{name}/{k}") for k in ("images", "ids", "labels", "votes"))
        if images is None or ids is None:
            raise ValueError(f"split '{name}' lacks {'images' if images is None else 'ids'}")
        n = len(images)
        if images.dtype != np.uint8 or images.shape != (n, IMAGE_SIZE, IMAGE_SIZE) or ids.shape != (n,):
            raise ValueError(f"split '{name}' has images {images.dtype} {images.shape} and ids {ids.shape}")
        if labels is not None and (labels.shape != (n,) or n and not 0 <= labels.min() <= labels.max() < NUM_CLASSES):
            raise ValueError(f"split '{name}' has labels of shape {labels.shape} or outside 0..{NUM_CLASSES - 1}")
        if votes is not None and (votes.dtype != np.uint8 or votes.shape != (n, len(VOTE_COLUMNS))):
            raise ValueError(f"split '{name}' has votes {votes.dtype} {votes.shape}")
        splits[name] = Split(images, labels, ids, votes)
    if not splits:
        raise ValueError("no split in it")
    return splits


# ----------------------------------------------------------------------------- entry point


def load_fer2013(
    path: str | os.PathLike | None = None,
    *,
    ferplus: str | os.PathLike | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> Dataset:
    """Load FER2013 from ``path`` (or ``$FER_DATA``) in any supported form.

    Args:
        path: a CSV file or a folder (see the module docstring); ``None`` reads ``$FER_DATA``.
        ferplus: FER+'s ``fer2013new.csv``; ``None`` reads ``$FER_PLUS``, else the file beside the CSV
            (see :func:`fer_core.ferplus.find_votes`).
        cache: read and write the parsed-array cache.
        cache_dir: where the cache lives (default :func:`default_cache_dir`).

    Returns:
        A :class:`Dataset` with the splits the source holds.

    Raises:
        DataError: one line naming the file, the 1-based row or the image, and
            what was expected. Nothing is cached when parsing fails; a cache that
            cannot be written is skipped with a warning, a damaged one rebuilt.
    """
    source = find_data(path)
    plan = _plan(source, ferplus)
    cache_file = Path(cache_dir or default_cache_dir()) / f"fer2013-{cache_key(plan)}.npz"
    if cache:
        remove_dead_temps(cache_file.parent)  # a cache write cut short by a kill
    splits = _load_cache(cache_file) if cache else None
    if splits is None:
        splits = _parse(plan)
        if cache:
            _save_cache(cache_file, splits)
    return Dataset(source, splits, dict(plan).get("ferplus"))


def load_optional_dataset(path: str | os.PathLike | None = None):
    """The dataset at ``path`` or ``$FER_DATA``, or ``None`` when neither is given.

    A path that is given but wrong is still an error (:class:`fer_core.errors.DataError`).
    """
    if path is None and not data_from_env():
        return None
    return load_fer2013(path)
