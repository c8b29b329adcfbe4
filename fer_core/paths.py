"""Where FER Lens finds things on disk: the environment variables and the cache folders, in one place.

* ``$FER_DATA``: FER2013 (a CSV file or a folder), when ``--data`` is not given;
* ``$FER_CACHE`` (default ``~/.cache/fer_lens``): parsed datasets
  (``fer2013-<key>.npz``) and, under ``filters/``, gradient-ascent images;
* ``$FER_RUNS``: one more folder of runs, searched after ``runs/`` (see :func:`fer_core.runs.search_folders`);
* ``$FER_ABLATION``: the folder of ablation runs (default: the project's ``assets/ablation``);
* ``$FER_MODEL``: the model the dashboard starts with (a ``.keras`` file or a run folder);
* ``$FER_PLUS``: FER+'s votes file, when ``--ferplus`` is not given (default: ``fer2013new.csv`` beside the CSV).

Only the standard library is imported, so any module (and the dashboard) can
ask cheaply, and the ``fer`` command checks its file arguments before TensorFlow loads.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

from fer_core.errors import FerError

DATA_VARIABLE = "FER_DATA"
CACHE_VARIABLE = "FER_CACHE"
RUNS_VARIABLE = "FER_RUNS"
ABLATION_VARIABLE = "FER_ABLATION"
MODEL_VARIABLE = "FER_MODEL"
FERPLUS_VARIABLE = "FER_PLUS"
MODEL_FILE = "model.keras"
FERPLUS_FILE = "fer2013new.csv"


def _variable(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """``env[name]`` (default: ``os.environ``) without surrounding spaces, or ``None`` when unset or empty."""
    return (os.environ if env is None else env).get(name, "").strip() or None


def _folder(name: str, env: Mapping[str, str] | None = None) -> Path | None:
    value = _variable(name, env)
    return Path(value).expanduser() if value else None


def data_from_env() -> str | None:
    """``$FER_DATA`` without surrounding spaces, or ``None`` when it is unset or empty."""
    return _variable(DATA_VARIABLE)


def ferplus_from_env() -> str | None:
    """``$FER_PLUS`` without surrounding spaces, or ``None`` when it is unset or empty."""
    return _variable(FERPLUS_VARIABLE)


def runs_from_env(env: Mapping[str, str] | None = None) -> Path | None:
    """``$FER_RUNS`` (``~`` expanded), or ``None`` when it is unset or empty; ``env`` defaults to ``os.environ``."""
    return _folder(RUNS_VARIABLE, env)


def ablation_from_env(env: Mapping[str, str] | None = None) -> Path | None:
    """``$FER_ABLATION`` (``~`` expanded), or ``None`` when it is unset or empty."""
    return _folder(ABLATION_VARIABLE, env)


def model_from_env(env: Mapping[str, str] | None = None) -> Path | None:
    """The model file ``$FER_MODEL`` names, resolved (a run folder means its ``model.keras``), or ``None``."""
    path = _folder(MODEL_VARIABLE, env)
    if path is None:
        return None
    path = path.resolve()
    return path / MODEL_FILE if path.is_dir() else path


def cache_dir() -> Path:
    """``$FER_CACHE`` if set, else ``~/.cache/fer_lens``: the root of every cache."""
    return Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "fer_lens")


def filter_cache_dir() -> Path:
    """``<cache_dir>/filters``: gradient-ascent images computed on demand (see :mod:`fer_core.vis.filter_cache`)."""
    return cache_dir() / "filters"


def model_file(path: str | os.PathLike) -> Path:
    """The ``.keras`` file at ``path``: the path itself, or ``model.keras`` in a run directory.

    Only the file is looked at (no TensorFlow): it must exist, end in ``.keras`` and be a
    Keras archive, a zip holding ``config.json`` (:func:`keras_archive_config`).

    Raises:
        FerError: one line naming the file and what it is instead.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise FerError(f"{path}: no such model file (train one with `fer train` or pass a .keras file)")
    if path.suffix != ".keras":
        raise FerError(f"{path}: not a .keras model file (only the Keras 3 .keras format is loaded)")
    keras_archive_config(path)
    return path


def keras_archive_config(path: Path) -> dict:
    """The model config (``config.json``) inside the ``.keras`` archive at ``path``.

    Raises:
        FerError: naming the file when it is empty, not a zip, or a zip without a readable ``config.json``.
    """
    expected = "a .keras file is a zip archive holding config.json, as keras.Model.save writes it"
    size = path.stat().st_size
    if size == 0:
        raise FerError(f"{path}: not a Keras model: the file is empty (0 bytes); {expected}")
    if not zipfile.is_zipfile(path):
        raise FerError(f"{path}: not a Keras model: not a zip archive ({size:,} bytes); {expected}")
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except KeyError:
        raise FerError(f"{path}: not a Keras model: the zip holds no config.json; {expected}") from None
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError) as exc:
        raise FerError(f"{path}: not a Keras model: its config.json is unreadable ({exc}); {expected}") from None
    if not isinstance(config, dict):
        raise FerError(f"{path}: not a Keras model: its config.json holds no model config; {expected}")
    return config
