"""Gradient-ascent images of whole conv layers, computed once per model and kept on disk.

A layer's filters are computed in chunks of :data:`CHUNK` (one batched
optimization each, :func:`fer_core.vis.filters.gradient_ascent` at
:data:`STEPS` steps) and every chunk is saved as it finishes, so an interrupted
computation resumes where it stopped. Files are keyed by the SHA-256 of the
model file, so a retrained model at the same path never shows stale images,
and by the steps and :data:`RECIPE`, so images drawn by other ascent settings
are never shown as these.

Two places are read, in order:

* ``<model folder>/filters/<model file stem>-<digest>/``: precomputed by
  ``fer filters RUN`` and shipped beside the model (``assets/models/*/filters/``);
* ``$FER_CACHE/filters/<digest>/`` (default ``~/.cache/fer_lens``): written on demand.

Each file is ``<layer>-<start>-<stop>-s<steps>-r<recipe>.npz`` holding ``images``:
``uint8 (stop - start, 48, 48)``.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from fer_core.errors import FerError
from fer_core.labels import IMAGE_SIZE
from fer_core.paths import filter_cache_dir
from fer_core.runs.files import atomic_path, file_digest, make_folder, write_cache_file, write_npz

CHUNK = 32  # filters per batched optimization and per file
STEPS = 64  # gradient-ascent steps of the cached images
# The version of what else the cached images depend on: gradient_ascent's defaults (learning rate, seed, start
# noise, no penalty, DEFAULT_TRANSFORM, DEFAULT_PARAMETERIZATION) and the code behind them. Raise it with any change
# that alters the images those defaults draw, so files of the old recipe are passed over and drawn again
# (tests/vis/test_filter_cache.py records each version's settings and fails when the defaults leave them).
RECIPE = 1
SHIPPED_FOLDER = "filters"


def chunks(count: int, first: int = 0, last: int | None = None) -> list[tuple[int, int]]:
    """The cache chunks ``(start, stop)`` of a ``count``-filter layer that cover filters ``first..last-1``."""
    last = count if last is None else min(last, count)
    return [(s, min(s + CHUNK, count)) for s in range(first - first % CHUNK, last, CHUNK)]


class FilterCache:
    """The on-disk gradient-ascent images of one model file.

    Args:
        model_path: the ``.keras`` file; its folder may hold shipped images.
        digest: :func:`file_digest` of it (computed when not given).
        user_dir: where computed chunks are written (default :func:`fer_core.paths.filter_cache_dir`).
        steps: gradient-ascent steps of the images (default :data:`STEPS`, what the dashboard shows).
    """

    def __init__(
        self, model_path: str | Path, digest: str | None = None, user_dir: Path | None = None, steps: int | None = None
    ):
        self.model_path = Path(model_path)
        self.digest = digest or file_digest(self.model_path)
        self.shipped = self.model_path.parent / SHIPPED_FOLDER / f"{self.model_path.stem}-{self.digest}"
        self.user = (user_dir or filter_cache_dir()) / self.digest
        self.steps = steps or STEPS

    def file_name(self, layer: str, start: int, stop: int) -> str:
        """``<layer>-<start>-<stop>-s<steps>-r<recipe>.npz``: the file of one chunk."""
        return f"{layer}-{start}-{stop}-{self.suffix}.npz"

    @property
    def suffix(self) -> str:
        """``s<steps>-r<recipe>``: what, besides the model, every file of this cache was drawn with."""
        return f"s{self.steps}-r{RECIPE}"

    def find(self, layer: str, start: int, stop: int) -> Path | None:
        """The first readable file of one chunk (shipped, then user cache), or ``None``."""
        name = self.file_name(layer, start, stop)
        return next((f / name for f in (self.shipped, self.user) if _read_images(f / name, stop - start) is not None),
                    None)

    def read(self, layer: str, start: int, stop: int) -> np.ndarray | None:
        """The ``uint8 (stop - start, 48, 48)`` images of one chunk from disk, or ``None``."""
        return _read_images(self.find(layer, start, stop), stop - start)

    def has(self, layer: str, count: int, first: int = 0, last: int | None = None) -> bool:
        """Whether filters ``first..last-1`` of a ``count``-filter layer are all on disk (and readable)."""
        return all(self.find(layer, s, e) is not None for s, e in chunks(count, first, last))

    def images(
        self,
        model,
        layer: str,
        first: int = 0,
        last: int | None = None,
        on_progress: Callable[[float], None] | None = None,
        into: Path | None = None,
    ) -> np.ndarray:
        """``uint8 (last - first, 48, 48)``: the images of filters ``first..last-1`` (default: all).

        Chunks on disk are read; the others are computed on ``model`` (the
        model loaded from :attr:`model_path`) and written to ``into`` (default:
        the user cache). ``on_progress`` gets 0..1 after each chunk.
        """
        from fer_core.vis.filters import channel_count, gradient_ascent

        count = channel_count(model, layer)
        last = count if last is None else min(last, count)
        if not 0 <= first < last:
            raise FerError(f"{layer}: no filters in {first}..{last - 1} (the layer has {count})")
        parts = chunks(count, first, last)
        found = []
        for done, (start, stop) in enumerate(parts, start=1):
            saved = self.read(layer, start, stop)
            if saved is None:
                saved = gradient_ascent(model, layer, np.arange(start, stop), steps=self.steps).images
                self._keep(saved, (into or self.user) / self.file_name(layer, start, stop), required=into is not None)
            found.append(saved)
            if on_progress:
                on_progress(done / len(parts))
        offset = parts[0][0]
        return np.concatenate(found)[first - offset : last - offset]

    @staticmethod
    def _keep(images: np.ndarray, path: Path, required: bool) -> None:
        """Save a computed chunk: beside a model (``required``) a failed write is an error; in the
        user cache it is skipped with a warning (the images are recomputed next time)."""
        if required:
            write_npz(path, images=images)
        else:
            write_cache_file(path, lambda tmp: np.savez_compressed(tmp, images=images))


def _read_images(path: Path | None, count: int) -> np.ndarray | None:
    """The ``uint8 (count, 48, 48)`` images of a chunk file; ``None`` when missing, unreadable or the wrong shape."""
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as saved:
            images = saved["images"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    return images if images.dtype == np.uint8 and images.shape == (count, IMAGE_SIZE, IMAGE_SIZE) else None


def precompute(
    model_path: str | Path,
    layers: Iterable[str] | None = None,
    on_progress: Callable[[str, float], None] | None = None,
) -> Path:
    """Compute every filter image of ``layers`` (default: every conv layer) beside the model.

    Writes ``<model folder>/filters/<stem>-<digest>/`` (reusing chunks already
    in the user cache) and removes images of earlier versions of the same model
    file (other model files in the folder keep theirs) and, at the same steps, of
    earlier recipes.
    ``on_progress(layer, fraction)`` is called after each chunk.

    Returns:
        The folder written.
    """
    from fer_core.models.builders import conv_layer_names, load_model

    model = load_model(model_path)
    cache = FilterCache(model_path)
    names = list(layers) if layers else conv_layer_names(model)
    unknown = sorted(set(names) - set(conv_layer_names(model)))
    if unknown:
        raise FerError(f"{model_path}: no conv layer {', '.join(unknown)} (it has {', '.join(conv_layer_names(model))})")
    make_folder(cache.shipped)
    for layer in names:
        cache.images(model, layer, on_progress=(lambda f, layer=layer: on_progress(layer, f)) if on_progress else None,
                     into=cache.shipped)
        _copy_user_chunks(cache, layer)
    _remove_stale(cache)
    return cache.shipped


def _remove_stale(cache: FilterCache) -> None:
    """Shipped images no reader asks for again: those of earlier versions of the model file, and at the
    cache's steps those of earlier recipes (or from before recipes had names)."""
    for stale in cache.shipped.parent.glob(f"{cache.model_path.stem}-*"):
        if stale.is_dir() and stale != cache.shipped and len(stale.name) == len(cache.shipped.name):
            shutil.rmtree(stale)
    for old in [*cache.shipped.glob(f"*-s{cache.steps}.npz"), *cache.shipped.glob(f"*-s{cache.steps}-r*.npz")]:
        if not old.name.endswith(f"-{cache.suffix}.npz"):
            old.unlink()


def _copy_user_chunks(cache: FilterCache, layer: str) -> None:
    """Chunks found in the user cache go beside the model too (they are the same images)."""
    for file in cache.user.glob(f"{layer}-*-{cache.suffix}.npz") if cache.user.is_dir() else []:
        target = cache.shipped / file.name
        if not target.is_file():
            with atomic_path(target) as tmp:
                shutil.copyfile(file, tmp)
