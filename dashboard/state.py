"""Cached loaders and computations for the dashboard; every heavy call into fer_core goes through here.

* Models: ``st.cache_resource`` (one shared object per model file), keyed by a
  :class:`ModelKey`: the file's path and the SHA-256 of its bytes, so a retrained
  model at the same path is a new key.
* Arrays (probabilities, saliency maps, feature maps): ``st.cache_data``, keyed by
  the :class:`ModelKey` and the inputs, never by the model object.
* Gradient-ascent images of a whole layer: ``.npz`` files shipped beside the model
  (``fer filters RUN``) or written under ``$FER_CACHE/filters/`` (see :func:`filter_images`),
  so a layer is computed once per model.
* The dataset: ``st.cache_resource`` (large read-only arrays, not copied per call).
* PublicTest probabilities: the run's ``predictions.npz``, else ``$FER_CACHE/predictions/`` keyed by the
  model's digest and the faces' (:func:`fer_core.evaluation.scores.probabilities_file`), else scored in the background
  with a progress bar (:mod:`background`) and kept there.
* The warm-up (:mod:`warmup`) fills these caches in a background thread at the first session.

Only the outermost cached call shows its spinner (Streamlit hides nested ones), so what takes long is
called at a page's top level first: :func:`require_model` loads the model, :func:`predictions_frame` scores.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import background
import catalog
import numpy as np
import pandas as pd
import streamlit as st

from fer_core.data.dataset import load_fer2013, parse_in_a_process
from fer_core.data.formats import HOW_TO_GET
from fer_core.data.splits import Dataset, Split
from fer_core.errors import FerError
from fer_core.evaluation.label_noise import label_quality
from fer_core.evaluation.misclassified import predictions_table
from fer_core.evaluation.scores import (
    keep_probabilities, kept_probabilities, predict_in_chunks, predict_proba, probabilities_file, saved_probabilities,
)
from fer_core.paths import data_from_env
from fer_core.runs.files import file_digest
from fer_core.runs.folder import Run
from fer_core.vis import METHOD_TITLES, SALIENCY_METHODS  # noqa: F401 (pages read them as state.*)
from fer_core.vis.filter_cache import STEPS as FILTER_STEPS
from fer_core.vis.filter_cache import FilterCache


class ModelKey(NamedTuple):
    """What identifies a model in every cache: its file and the SHA-256 of its bytes."""

    path: str
    digest: str


@st.cache_data(show_spinner=False, max_entries=64)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    return file_digest(path)  # size and mtime_ns only key the cache: a changed file is hashed again


def model_key(path: str) -> ModelKey:
    """The cache key of a model file (hashes it once per size and modification time)."""
    stat = Path(path).stat()
    return ModelKey(path, _file_digest(path, stat.st_size, stat.st_mtime_ns))


@st.cache_resource(show_spinner="Loading TensorFlow and the model…", max_entries=4)
def load_model(key: ModelKey):
    """The Keras model of ``key``, loaded once and shared by every session (read-only)."""
    from fer_core.models.builders import load_model as load

    return load(key.path)


def selected_model() -> ModelKey | None:
    """The model chosen in the sidebar (``None`` when there is none)."""
    path = st.session_state.get("model")
    return model_key(path) if path and Path(path).is_file() else None


@st.cache_data(show_spinner="Loading TensorFlow and the model…", max_entries=64)  # the outer call: its spinner shows
def model_problem(key: ModelKey) -> str | None:
    """Why the model of ``key`` cannot be used (:func:`fer_core.models.load_model`'s one line: not a Keras
    model, a layer class that is not here, not 48x48x1 faces in and 7 probabilities out), or ``None``."""
    try:
        load_model(key)
    except FerError as exc:
        return str(exc)
    return None


def model_label(key: ModelKey) -> str:
    """The picker's name of a model: ``tiny-a (run)``."""
    return catalog.model_files().get(key.path, Path(key.path).parent.name)


def run_of(key: ModelKey) -> Run:
    """The run (or shipped-model) folder holding the model file, its results named as :meth:`Run.of_model` says."""
    return Run.of_model(key.path)


# ----------------------------------------------------------------------------- the dataset


@st.cache_resource(show_spinner="Loading FER2013…", max_entries=2)
def _load_dataset(source: str) -> Dataset:
    parse_in_a_process(source, nice=10)  # on a fresh server: beside TensorFlow loading, giving it the way
    return load_fer2013(source)


def dataset() -> tuple[Dataset | None, str]:
    """``(dataset, status)``: the FER2013 at ``$FER_DATA`` or ``None`` and why not."""
    source = data_from_env()
    if not source:
        return None, f"FER_DATA is not set: {HOW_TO_GET}"
    try:
        data = _load_dataset(str(Path(source).expanduser().resolve()))
    except FerError as exc:
        return None, str(exc)
    return data, data.describe()


def data_source() -> str:
    """The loaded dataset's folder or file: part of the key of every cache computed on its faces."""
    data, _ = dataset()
    return str(data.source) if data is not None else ""


def _public(source: str) -> Split:
    return _load_dataset(source)["public"]


def evaluation_split() -> Split | None:
    """The labeled PublicTest split, or ``None`` without data (for pages that work without it)."""
    data, _ = dataset()
    return data.labeled("public") if data is not None else None


# ----------------------------------------------------------------------------- model facts


@st.cache_data(show_spinner=False)
def layer_table(key: ModelKey) -> pd.DataFrame:
    """One row per layer (nested models inlined): layer, type, output shape, parameters."""
    from fer_core.models.builders import layer_summary

    return pd.DataFrame(layer_summary(load_model(key)))


@st.cache_data(show_spinner=False)
def conv_layers(key: ModelKey) -> list[str]:
    from fer_core.models.builders import conv_layer_names

    return conv_layer_names(load_model(key))


def report_layer(key: ModelKey) -> str | None:
    """The conv layer the Filters page opens on (:func:`catalog.report_layer`), ``None`` without conv layers."""
    layers = conv_layers(key)
    return layers[catalog.report_layer(layers)] if layers else None


@st.cache_data(show_spinner=False)
def channel_count(key: ModelKey, layer: str) -> int:
    from fer_core.vis.filters import channel_count as count

    return count(load_model(key), layer)


# ----------------------------------------------------------------------------- predictions


def public_probabilities(key: ModelKey, source: str) -> np.ndarray:
    """``float32 (N, 7)`` probabilities of the model on the PublicTest split of the dataset at ``source``:
    stored (the run's ``predictions.npz`` or ``$FER_CACHE/predictions/``), else scored in the background while
    a progress bar follows it, and stored."""
    stored = _stored_probabilities(key, source)
    if stored is None:
        background.follow(score_public(key, source))
        stored = _stored_probabilities(key, source)
    return stored


def score_public(key: ModelKey, source: str) -> background.Task:
    """Start scoring the PublicTest faces with the model in the background (once), kept on disk.

    The same forward pass measures the layer the Filters page opens on (:func:`catalog.report_layer`): the
    task's result is ``{layer: float32 (N, C) channel means}`` (empty without conv layers), which
    :func:`filter_dossier` uses instead of a second pass. When the probabilities are stored already (a shipped
    ``predictions.npz``), the pass only runs the network up to that layer."""
    images = _public(source).images
    stored = _stored_probabilities(key, source) is not None

    def work(on_progress: Callable[[float], None]) -> dict[str, np.ndarray]:
        from fer_core.vis.feature_maps import mean_activations, mean_activations_and_outputs

        model, layer = load_model(key), report_layer(key)
        if stored:
            return {layer: mean_activations(model, images, layer, 256, on_progress)} if layer else {}
        if layer is None:
            keep_probabilities(_probabilities_path(key, source), predict_in_chunks(model, images, on_progress))
            return {}
        means, probabilities = mean_activations_and_outputs(model, images, layer, on_progress=on_progress)
        keep_probabilities(_probabilities_path(key, source), probabilities)
        return {layer: means}

    faces = f"the {len(images):,} PublicTest faces"
    text = f"Running {faces} through {model_label(key)}'s filters…" if stored else (
        f"Scoring {faces} with {model_label(key)} (once; kept on disk)…")
    return background.start(f"score {key.digest} {source}" + (" up to its layer" if stored else ""), text, work)


def _scored_means(key: ModelKey, source: str, layer: str) -> np.ndarray | None:
    """``layer``'s PublicTest channel means from the scoring pass (:func:`score_public`, started or joined and
    waited for) when ``layer`` is the one it measures, else ``None``."""
    if layer != report_layer(key):
        return None
    task = score_public(key, source)
    task.done.wait()
    return task.result.get(layer) if isinstance(task.result, dict) else None


@st.cache_data(show_spinner=False, max_entries=16)
def _probabilities_path(key: ModelKey, source: str) -> Path:
    return probabilities_file(key.digest, _public(source).images)


def _stored_probabilities(key: ModelKey, source: str) -> np.ndarray | None:
    split = _public(source)
    saved = saved_probabilities(run_of(key), split.labels, key.path)
    return saved if saved is not None else kept_probabilities(_probabilities_path(key, source), len(split))


def predictions_frame(key: ModelKey, source: str) -> pd.DataFrame:
    """Every PublicTest face with true/predicted class, confidence and top-3 (``fer_core.evaluation.misclassified``)."""
    public_probabilities(key, source)  # scored first, outside any cached call, so its progress bar shows
    return _predictions_frame(key, source)


@st.cache_data(show_spinner=False, max_entries=8)
def _predictions_frame(key: ModelKey, source: str) -> pd.DataFrame:
    split = _public(source)
    return predictions_table(_stored_probabilities(key, source), split.labels, split.ids, split.votes)


@st.cache_data(show_spinner="Ranking likely label errors with cleanlab…", max_entries=8)
def label_issue_scores(key: ModelKey, source: str) -> np.ndarray:
    """``float64 (N,)`` 0..1 per PublicTest face, high = its label is likely wrong (1 - cleanlab's label quality).

    Call after :func:`predictions_frame`, which has the faces scored."""
    return 1.0 - label_quality(_stored_probabilities(key, source), _public(source).labels)


@st.cache_data(show_spinner=False, max_entries=256)
def probabilities_of(key: ModelKey, faces: np.ndarray) -> np.ndarray:
    """``float32 (N, 7)`` for ``uint8 (N, 48, 48)`` faces."""
    return predict_proba(load_model(key), faces)


# ----------------------------------------------------------------------------- saliency


@st.cache_data(show_spinner=False, max_entries=256)
def saliency_maps(key: ModelKey, faces: np.ndarray, method: str, target: int | None = None) -> np.ndarray:
    """``float32 (N, 48, 48)`` maps of one method for ``uint8 (N, 48, 48)`` faces (target ``None``: predicted)."""
    from fer_core.vis.saliency import saliency

    return saliency(load_model(key), faces, method, target)


def all_saliency(key: ModelKey, face: np.ndarray, target: int | None = None) -> dict[str, np.ndarray]:
    """Every method's ``float32 (48, 48)`` map for one face."""
    return {m: saliency_maps(key, face[None], m, target)[0] for m in SALIENCY_METHODS}


@st.cache_data(show_spinner=False, max_entries=64)
def sanity_check(key: ModelKey, face: np.ndarray, target: int | None = None) -> dict[str, float]:
    """Rank correlation of each method's map on the model vs. a fully randomized copy (Adebayo et al. 2018)."""
    from fer_core.vis.saliency import randomization_check, randomized_copy, resolve_targets

    model = load_model(key)
    targets = resolve_targets(model, face[None], target)
    other = randomized_copy(model, seed=0)
    return {
        m: float(randomization_check(model, face[None], m, target=targets, against=other)[0]) for m in SALIENCY_METHODS
    }


@st.cache_data(show_spinner=False, max_entries=64)
def faithfulness(key: ModelKey, face: np.ndarray, method: str, target: int | None = None) -> dict:
    """Deletion and insertion curves of one method's map (Petsiuk et al. 2018)."""
    from fer_core.vis.saliency import deletion_curve, insertion_curve

    model, maps = load_model(key), np.abs(saliency_maps(key, face[None], method, target))
    deletion = deletion_curve(model, face[None], maps, target)
    insertion = insertion_curve(model, face[None], maps, target)
    return {
        "fractions": deletion.fractions,
        "deletion": deletion.scores[0],
        "insertion": insertion.scores[0],
        "deletion_auc": float(deletion.auc[0]),
        "insertion_auc": float(insertion.auc[0]),
    }


@st.cache_data(show_spinner=False, max_entries=64)
def average_saliency(key: ModelKey, faces: np.ndarray, method: str) -> np.ndarray:
    """``float32 (48, 48)`` mean of the faces' normalized maps, each for its predicted class."""
    from fer_core.vis.saliency import average_saliency as average

    return average(load_model(key), faces, method)


# ----------------------------------------------------------------------------- filters and feature maps


@st.cache_data(show_spinner=False, max_entries=64)
def feature_maps(key: ModelKey, face: np.ndarray, layer: str) -> np.ndarray:
    """``float32 (H, W, C)``: ``layer``'s outputs for one ``uint8 (48, 48)`` face."""
    from fer_core.vis.feature_maps import feature_maps as maps

    return maps(load_model(key), face[None], layer)[0]


def _filter_cache(key: ModelKey) -> FilterCache:
    return FilterCache(key.path, key.digest)


def filter_images(
    key: ModelKey,
    layer: str,
    first: int = 0,
    last: int | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """``uint8 (last - first, 48, 48)``: gradient-ascent images of filters ``first..last-1`` (default: all).

    Read from the images shipped beside the model or the user's cache, else
    computed chunk by chunk and cached (:class:`fer_core.vis.filter_cache.FilterCache`);
    ``on_progress`` gets 0..1 after each chunk.
    """
    return _filter_cache(key).images(load_model(key), layer, first, last, on_progress)


def filter_images_cached(key: ModelKey, layer: str, first: int = 0, last: int | None = None) -> bool:
    """Whether filters ``first..last-1`` are all on disk already (nothing to compute)."""
    return _filter_cache(key).has(layer, channel_count(key, layer), first, last)


@st.cache_data(show_spinner=False, max_entries=64)
def filter_seeds(key: ModelKey, layer: str, index: int, seeds: tuple[int, ...] = (0, 1, 2)) -> tuple[np.ndarray, float]:
    """One filter's gradient-ascent image from several seeds, and their stability score (-1..1, shift-invariant)."""
    from fer_core.vis.filters import gradient_ascent, seed_similarity

    model = load_model(key)
    images = gradient_ascent(model, layer, [index] * len(seeds), seed=np.asarray(seeds), steps=FILTER_STEPS).images
    return images, seed_similarity(images)


@st.cache_data(show_spinner=False, max_entries=16)
def filter_dossier(key: ModelKey, layer: str, source: str, top_k: int = 9) -> dict[str, np.ndarray]:
    """Every filter's top PublicTest faces and mean activation per emotion (``fer_core.vis.dossier``), from the
    scoring pass's activations when it measures ``layer`` (:func:`score_public`)."""
    from fer_core.vis.dossier import dossier_from_activations
    from fer_core.vis.feature_maps import mean_activations

    split = _public(source)
    means = _scored_means(key, source, layer)
    if means is None:
        means = mean_activations(load_model(key), split.images, layer)
    found = dossier_from_activations(means, split.labels, np.arange(means.shape[1]), top_k=top_k)
    return {"top_indices": found.top_indices, "top_activations": found.top_activations, "per_emotion": found.per_emotion}
