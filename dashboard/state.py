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
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

from fer_core.data import HOW_TO_GET, Dataset, Split, load_fer2013
from fer_core.errors import FerError
from fer_core.filter_cache import STEPS as FILTER_STEPS
from fer_core.filter_cache import FilterCache, file_digest
from fer_core.images import ImageError, open_image, to_face_array
from fer_core.runs import Run
from fer_core.vis import METHOD_TITLES, SALIENCY_METHODS  # noqa: F401 (pages read them as state.*)

ROOT = Path(__file__).resolve().parents[1]
MODEL_FILE = "model.keras"
DATA_HELP = (
    "**No FER2013 data.** This page needs the FER2013 faces. Get `fer2013.csv` from the Kaggle "
    "*Challenges in Representation Learning: Facial Expression Recognition* competition, then start the "
    "dashboard with `FER_DATA=/path/to/fer2013.csv` (or a folder holding it). The Model, Filters, "
    "Your photo and Compare runs pages work without it."
)


class ModelKey(NamedTuple):
    """What identifies a model in every cache: its file and the SHA-256 of its bytes."""

    path: str
    digest: str


# ----------------------------------------------------------------------------- finding models and runs


def _model_folders() -> list[tuple[str, Path]]:
    """``(kind, folder)`` pairs searched for ``*/model.keras``: shipped models, then runs."""
    folders = [("shipped", ROOT / "assets" / "models"), ("run", ROOT / "runs"), ("run", Path.cwd() / "runs")]
    if os.environ.get("FER_RUNS"):
        folders.append(("run", Path(os.environ["FER_RUNS"]).expanduser()))
    return folders


def model_files() -> dict[str, str]:
    """Every model the picker offers: ``{path: label}``, shipped models first."""
    found: dict[str, str] = {}
    for kind, folder in _model_folders():
        for file in sorted(folder.glob(f"*/{MODEL_FILE}")) if folder.is_dir() else []:
            found.setdefault(str(file.resolve()), f"{file.parent.name} ({kind})")
    return found


def run_folders() -> dict[str, Path]:
    """Runs with a ``metrics.json`` or ``history.csv``: ``{name: folder}`` (for Compare runs)."""
    found: dict[str, Path] = {}
    for _, folder in _model_folders():
        for run in sorted(folder.iterdir()) if folder.is_dir() else []:
            if (run / "metrics.json").is_file() or (run / "history.csv").is_file():
                found.setdefault(run.name if run.name not in found else str(run), run.resolve())
    return found


def ablation_folder() -> Path | None:
    """The folder of ablation runs: ``$FER_ABLATION`` or the shipped ``assets/ablation``, if it exists."""
    folder = Path(os.environ.get("FER_ABLATION", "") or ROOT / "assets" / "ablation").expanduser()
    return folder if folder.is_dir() else None


def ablation_table() -> pd.DataFrame | None:
    """The 2x2 normalization x augmentation table (``fer_core.report.ablation_rows``), or ``None`` without a folder."""
    from fer_core.report import ablation_rows

    folder = ablation_folder()
    return pd.DataFrame(ablation_rows(folder)) if folder is not None else None


def default_model_index(models: dict[str, str]) -> int:
    """Where the picker starts: the model at ``$FER_MODEL`` (a file or a run folder) if listed, else the first."""
    wanted = os.environ.get("FER_MODEL", "").strip()
    if wanted:
        path = Path(wanted).expanduser().resolve()
        path = path / MODEL_FILE if path.is_dir() else path
        if str(path) in models:
            return list(models).index(str(path))
    return 0


@st.cache_data(show_spinner=False, max_entries=64)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    return file_digest(path)  # size and mtime_ns only key the cache: a changed file is hashed again


def model_key(path: str) -> ModelKey:
    """The cache key of a model file (hashes it once per size and modification time)."""
    stat = Path(path).stat()
    return ModelKey(path, _file_digest(path, stat.st_size, stat.st_mtime_ns))


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def load_model(key: ModelKey):
    """The Keras model of ``key``, loaded once and shared by every session (read-only)."""
    from fer_core.models import load_model as load

    return load(key.path)


def selected_model() -> ModelKey | None:
    """The model chosen in the sidebar (``None`` when there is none)."""
    path = st.session_state.get("model")
    return model_key(path) if path and Path(path).is_file() else None


def require_model() -> ModelKey:
    """The selected model; otherwise one info box and stop the page."""
    key = selected_model()
    if key is None:
        st.info(
            "**No model yet.** Train one with `fer train` (it lands in `runs/`), or put a `model.keras` "
            "under `assets/models/<name>/`; set `FER_RUNS` to look in another runs folder."
        )
        st.stop()
    return key


def run_of(key: ModelKey) -> Run:
    """The run (or shipped-model) folder holding the model file."""
    return Run(Path(key.path).parent)


# ----------------------------------------------------------------------------- the dataset


@st.cache_resource(show_spinner="Loading FER2013…", max_entries=2)
def _load_dataset(source: str) -> Dataset:
    return load_fer2013(source)


def dataset() -> tuple[Dataset | None, str]:
    """``(dataset, status)``: the FER2013 at ``$FER_DATA`` or ``None`` and why not."""
    source = os.environ.get("FER_DATA", "").strip()
    if not source:
        return None, f"FER_DATA is not set: {HOW_TO_GET}"
    try:
        data = _load_dataset(str(Path(source).expanduser().resolve()))
    except FerError as exc:
        return None, str(exc)
    sizes = ", ".join(f"{name} {len(split):,}" for name, split in data.splits.items())
    return data, f"FER2013 at `{data.source}`: {sizes}"


def require_data() -> Split:
    """The labeled PublicTest split; otherwise one info box on how to get FER2013, and stop."""
    data, status = dataset()
    if data is None or "public" not in data or not data["public"].labeled:
        st.info(DATA_HELP if not os.environ.get("FER_DATA", "").strip() else f"{DATA_HELP}\n\n{status}")
        st.stop()
    return data["public"]


def data_source() -> str:
    """The loaded dataset's folder or file: part of the key of every cache computed on its faces."""
    data, _ = dataset()
    return str(data.source) if data is not None else ""


def _public(source: str) -> Split:
    return _load_dataset(source)["public"]


def evaluation_split() -> Split | None:
    """The labeled PublicTest split, or ``None`` without data (for pages that work without it)."""
    data, _ = dataset()
    return data["public"] if data is not None and "public" in data and data["public"].labeled else None


# ----------------------------------------------------------------------------- model facts


@st.cache_data(show_spinner=False)
def layer_table(key: ModelKey) -> pd.DataFrame:
    """One row per layer (nested models inlined): layer, type, output shape, parameters."""
    from fer_core.models import layer_summary

    return pd.DataFrame(layer_summary(load_model(key)))


@st.cache_data(show_spinner=False)
def conv_layers(key: ModelKey) -> list[str]:
    from fer_core.models import conv_layer_names

    return conv_layer_names(load_model(key))


@st.cache_data(show_spinner=False)
def channel_count(key: ModelKey, layer: str) -> int:
    from fer_core.vis.filters import channel_count as count

    return count(load_model(key), layer)


def read_run_files(key: ModelKey) -> dict:
    """The run folder's ``config``, ``history`` and ``metrics`` (each empty when missing)."""
    return read_run(run_of(key).root)


def read_run(folder: Path) -> dict:
    run, out = Run(folder), {"config": {}, "history": [], "metrics": {}}
    for name, reader, file in (("config", run.config, run.config_file), ("metrics", run.metrics, run.metrics_file)):
        if file.is_file():
            try:
                out[name] = reader()
            except FerError as exc:
                out[f"{name}_error"] = str(exc)
    out["history"] = run.history()
    return out


# ----------------------------------------------------------------------------- predictions


def _saved_probabilities(key: ModelKey, split: Split) -> np.ndarray | None:
    """The run's ``predictions.npz`` when it is newer than the model and scores this very split."""
    run = run_of(key)
    if not run.predictions_file.is_file() or run.predictions_file.stat().st_mtime < Path(key.path).stat().st_mtime:
        return None
    saved = run.predictions()
    same = saved.get("labels") is not None and np.array_equal(saved["labels"], split.labels)
    return saved["probabilities"].astype(np.float32) if same else None


@st.cache_data(show_spinner="Scoring the PublicTest faces…", max_entries=8)
def public_probabilities(key: ModelKey, source: str) -> np.ndarray:
    """``float32 (N, 7)`` probabilities of the model on the PublicTest split of the dataset at ``source``."""
    from fer_core.evaluate import predict_proba

    split = _public(source)
    saved = _saved_probabilities(key, split)
    return saved if saved is not None else predict_proba(load_model(key), split.images)


@st.cache_data(show_spinner=False, max_entries=8)
def predictions_frame(key: ModelKey, source: str) -> pd.DataFrame:
    """Every PublicTest face with true/predicted class, confidence and top-3 (``fer_core.misclassified``)."""
    from fer_core.misclassified import predictions_table

    split = _public(source)
    return predictions_table(public_probabilities(key, source), split.labels, split.ids)


@st.cache_data(show_spinner=False, max_entries=256)
def probabilities_of(key: ModelKey, faces: np.ndarray) -> np.ndarray:
    """``float32 (N, 7)`` for ``uint8 (N, 48, 48)`` faces."""
    from fer_core.evaluate import predict_proba

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
    computed chunk by chunk and cached (:class:`fer_core.filter_cache.FilterCache`);
    ``on_progress`` gets 0..1 after each chunk.
    """
    return _filter_cache(key).images(load_model(key), layer, first, last, on_progress)


def filter_images_cached(key: ModelKey, layer: str, first: int = 0, last: int | None = None) -> bool:
    """Whether filters ``first..last-1`` are all on disk already (nothing to compute)."""
    return _filter_cache(key).has(layer, channel_count(key, layer), first, last)


@st.cache_data(show_spinner=False, max_entries=64)
def filter_seeds(key: ModelKey, layer: str, index: int, seeds: tuple[int, ...] = (0, 1, 2)) -> tuple[np.ndarray, float]:
    """One filter's gradient-ascent image from several seeds, and their stability score (-1..1)."""
    from fer_core.vis.filters import gradient_ascent, stability

    model = load_model(key)
    images = gradient_ascent(model, layer, [index] * len(seeds), seed=np.asarray(seeds), steps=FILTER_STEPS).images
    score = stability(model, layer, [index], seeds=seeds, steps=FILTER_STEPS)[0]
    return images, float(score)


@st.cache_data(show_spinner=False, max_entries=16)
def filter_dossier(key: ModelKey, layer: str, source: str, top_k: int = 9) -> dict[str, np.ndarray]:
    """Every filter's top PublicTest faces and mean activation per emotion (``fer_core.vis.filters``)."""
    from fer_core.vis.filters import filter_dossier as dossier

    split = _public(source)
    found = dossier(load_model(key), split.images, split.labels, layer, top_k=top_k)
    return {
        "top_indices": found.top_indices,
        "top_activations": found.top_activations,
        "per_emotion": found.per_emotion,
    }


# ----------------------------------------------------------------------------- uploads and faces


def upload_limit_bytes() -> int:
    return int(st.get_option("server.maxUploadSize")) * 1024 * 1024


@st.cache_data(show_spinner=False, max_entries=32)
def decode_upload(data: bytes, name: str) -> np.ndarray:
    """An uploaded image as ``uint8 (H, W)`` gray, at most 1024 px on its long side.

    Raises:
        ImageError: one line for a file over the upload limit, not an image,
            corrupt, or a decompression bomb (see ``fer_core.images``).
    """
    if len(data) > upload_limit_bytes():
        raise ImageError(
            f"{name}: {len(data) / 2**20:.1f} MB is over the {upload_limit_bytes() // 2**20} MB upload limit"
        )
    image = open_image(data, name).convert("L")
    image.thumbnail((1024, 1024))
    return np.asarray(image, np.uint8)


@st.cache_resource(show_spinner=False)
def _face_detector():
    import cv2

    return cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


@st.cache_data(show_spinner=False, max_entries=32)
def find_faces(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Faces in a ``uint8 (H, W)`` photo by OpenCV's Haar cascade (Viola & Jones 2001): ``(x, y, w, h)`` boxes."""
    import cv2

    min_side = max(24, min(gray.shape) // 12)
    boxes = _face_detector().detectMultiScale(
        cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side)
    )
    return sorted((tuple(int(v) for v in box) for box in boxes), key=lambda b: b[0])


def crop_face(gray: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """``uint8 (48, 48)``: the box (or the whole image) resized to the model's face format."""
    from PIL import Image

    x, y, w, h = box or (0, 0, gray.shape[1], gray.shape[0])
    return to_face_array(Image.fromarray(gray[y : y + h, x : x + w]))


def mark_faces(gray: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """``uint8 (H, W, 3)``: the photo with a numbered frame around each face."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(gray).convert("RGB")
    draw = ImageDraw.Draw(image)
    width = max(2, min(gray.shape) // 200)
    for number, (x, y, w, h) in enumerate(boxes, start=1):
        draw.rectangle((x, y, x + w, y + h), outline=(91, 75, 214), width=width)
        draw.text((x + width + 2, y + width + 2), str(number), fill=(255, 255, 0))
    return np.asarray(image)
