"""The parsed-data cache: FER2013's arrays as ``.npz`` (no pickle), keyed by the source files' paths,
sizes and modification times; a damaged entry is removed and parsed again."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

from fer_core.data.ferplus import VOTE_COLUMNS
from fer_core.data.formats import image_files
from fer_core.data.splits import Split
from fer_core.labels import IMAGE_SIZE, NUM_CLASSES, SPLITS
from fer_core.runs.files import write_cache_file

CACHE_VERSION = 2  # 2: each entry lists its arrays (``keys``), so one that lost an array is seen as damaged


def _source_files(plan: list[tuple[str, Path]]) -> list[Path]:
    files = []
    for fmt, path in plan:
        files += [f for _, _, f in image_files(path)] if fmt == "images" else [path]
    return files


def cache_key(plan: list[tuple[str, Path]]) -> str:
    """Hash of the source files' absolute paths, sizes and modification times."""
    stats = [(str(f.resolve()), st.st_size, st.st_mtime_ns) for f in _source_files(plan) for st in [f.stat()]]
    blob = json.dumps([CACHE_VERSION, [fmt for fmt, _ in plan], stats]).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def save_cache(path: Path, splits: dict[str, Split]) -> None:
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


def load_cache(path: Path) -> dict[str, Split] | None:
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
