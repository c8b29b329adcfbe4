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
(or ``None``; read with the Kaggle CSV only, see :mod:`fer_core.data.ferplus`).
Parsed arrays are cached as ``.npz`` (no pickle) keyed by the source files'
paths, sizes and modification times.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from fer_core.data.cache import cache_key, load_cache, save_cache
from fer_core.data.formats import HOW_TO_GET, parse, plan_reading
from fer_core.data.splits import Dataset
from fer_core.errors import DataError
from fer_core.paths import DATA_VARIABLE, data_from_env
from fer_core.paths import cache_dir as default_cache_dir
from fer_core.runs.files import remove_dead_temps


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
            (see :func:`fer_core.data.ferplus.find_votes`).
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
    plan = plan_reading(source, ferplus)
    cache_file = _cache_file(plan, cache_dir)
    if cache:
        remove_dead_temps(cache_file.parent)  # a cache write cut short by a kill
    splits = load_cache(cache_file) if cache else None
    if splits is None:
        splits = parse(plan)
        if cache:
            save_cache(cache_file, splits)
    return Dataset(source, splits, dict(plan).get("ferplus"))


PARSE_TIMEOUT = 900  # s: a child still parsing by then is left alone, and load_fer2013 parses itself


def _cache_file(plan: list[tuple[str, Path]], cache_dir: str | os.PathLike | None = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / f"fer2013-{cache_key(plan)}.npz"


def parse_in_a_process(path: str | os.PathLike, nice: int = 0) -> None:
    """Fill the parsed-array cache of the FER2013 at ``path`` from a child Python process, and wait for it.

    For a server whose threads import TensorFlow and run models while the dataset loads (the dashboard's
    warm-up): the 3-5 s parse runs on another core instead of competing with them for one interpreter's
    lock, and :func:`load_fer2013` then reads the cache; ``nice`` (Unix) lowers the child's priority so the
    server's own work goes first. Nothing happens when the cache is there already. A
    failure in the child (bad data, a cache that cannot be written) is left to :func:`load_fer2013`, which
    parses again and says what is wrong."""
    try:
        if _cache_file(plan_reading(find_data(path))).is_file():
            return
    except DataError:
        return
    code = (
        "import os, sys; os.nice(nice) if (nice := int(sys.argv[2])) and hasattr(os, 'nice') else None; "
        "from fer_core.data.dataset import load_fer2013; load_fer2013(sys.argv[1])"
    )
    if not sys.executable:  # an embedded interpreter: nothing to start
        return
    with contextlib.suppress(OSError, subprocess.SubprocessError):  # could not start, or ran past the timeout
        subprocess.run([sys.executable, "-c", code, str(path), str(nice)], capture_output=True, timeout=PARSE_TIMEOUT)


def load_optional_dataset(path: str | os.PathLike | None = None):
    """The dataset at ``path`` or ``$FER_DATA``, or ``None`` when neither is given.

    A path that is given but wrong is still an error (:class:`fer_core.errors.DataError`).
    """
    if path is None and not data_from_env():
        return None
    return load_fer2013(path)
