"""Scoring: probabilities (kept on disk by the models' digest), ``metrics.json``, top-k, submissions.

Everything but model scoring is numpy arithmetic: this module does not import
Keras (a model is only called, through its own ``predict``), so the dashboard's
pages can use the metrics without loading TensorFlow.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fer_core.evaluation.confusion import confusion_matrix, per_class_report
from fer_core.evaluation.label_noise import ferplus_summary
from fer_core.labels import EMOTIONS, INPUT_SHAPE, NUM_CLASSES
from fer_core.paths import cache_dir
from fer_core.runs.files import write_json, write_npz, write_text
from fer_core.runs.folder import Run

if TYPE_CHECKING:
    import keras

    from fer_core.data.splits import Split


def predict_proba(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for raw faces (the one function here that runs a model).

    Args:
        model: a loaded FER Lens model (raw pixels in, 7 softmax probabilities out).
        images: ``uint8 (N, 48, 48)`` or ``(N, 48, 48, 1)``, values 0..255.

    Returns:
        ``float32 (N, 7)``, rows summing to 1.
    """
    x = np.asarray(images, dtype=np.float32).reshape(-1, *INPUT_SHAPE)
    if len(x) == 0:
        return np.zeros((0, NUM_CLASSES), np.float32)
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)


def predict_in_chunks(
    model: keras.Model, images: np.ndarray, on_progress: Callable[[float], None] | None = None, chunk: int = 512
) -> np.ndarray:
    """:func:`predict_proba` ``chunk`` faces at a time, calling ``on_progress`` with the fraction done (0..1)."""
    parts = []
    for start in range(0, len(images), chunk):
        parts.append(predict_proba(model, images[start : start + chunk]))
        if on_progress is not None:
            on_progress(min(1.0, (start + chunk) / len(images)))
    return np.concatenate(parts) if parts else predict_proba(model, images)


def probabilities_file(model_digest: str, images: np.ndarray) -> Path:
    """``$FER_CACHE/predictions/<model digest>-<faces digest>.npz``: where a model's probabilities on ``images``
    (``uint8 (N, 48, 48)``) are kept; the faces' digest is the first 20 hex digits of the SHA-256 of their bytes."""
    faces = hashlib.sha256(np.ascontiguousarray(images, np.uint8).tobytes()).hexdigest()[:20]
    return cache_dir() / "predictions" / f"{model_digest}-{faces}.npz"


def kept_probabilities(file: Path, count: int) -> np.ndarray | None:
    """``float32 (count, 7)`` from a :func:`probabilities_file`, or ``None`` when it is missing or unreadable."""
    try:
        with np.load(file, allow_pickle=False) as saved:
            probabilities = saved["probabilities"].astype(np.float32)
    except (OSError, KeyError, ValueError):
        return None
    return probabilities if probabilities.shape == (count, NUM_CLASSES) else None


def keep_probabilities(file: Path, probabilities: np.ndarray) -> None:
    """Write ``float32 (N, 7)`` probabilities to a :func:`probabilities_file` (atomically)."""
    write_npz(file, probabilities=np.asarray(probabilities, np.float32))


def metrics_from_probabilities(
    probabilities: np.ndarray, labels: np.ndarray, split: str = "public", votes: np.ndarray | None = None
) -> dict:
    """The ``metrics.json`` contents for one labeled split.

    Args:
        probabilities: ``float (N, 7)``; labels: ``int (N,)`` 0..6.
        votes: ``int (N, 10)`` FER+ counts, or ``None``; with them the result has a ``ferplus`` entry
            (:func:`fer_core.evaluation.label_noise.ferplus_summary`).
    """
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted)
    ferplus = {} if votes is None else {"ferplus": ferplus_summary(probabilities, labels, votes)}
    return {
        "split": split,
        "samples": int(len(labels)),
        "accuracy": float((predicted == labels).mean()) if len(labels) else 0.0,
        "classes": list(EMOTIONS),
        "confusion_matrix": matrix.tolist(),
        "per_class": per_class_report(matrix),
        **ferplus,
    }


def evaluate_run(run: Run, model: keras.Model, split: Split, split_name: str = "public") -> dict:
    """Score ``model`` on a labeled split; write ``metrics.json`` and ``predictions.npz`` into ``run``."""
    return write_evaluation(run, predict_proba(model, split.images), split, split_name)


def write_evaluation(run: Run, probabilities: np.ndarray, split: Split, split_name: str = "public") -> dict:
    """``metrics.json`` and ``predictions.npz`` in ``run`` from ``float32 (N, 7)`` probabilities of a labeled split."""
    metrics = metrics_from_probabilities(probabilities, split.labels, split_name, split.votes)
    write_json(run.metrics_file, metrics)
    write_npz(run.predictions_file, probabilities=probabilities, labels=split.labels, ids=split.ids)
    return metrics


def saved_probabilities(run: Run, labels: np.ndarray, model_file: str | Path | None = None) -> np.ndarray | None:
    """The probabilities in ``run``'s ``predictions.npz``, when they still hold for the model and the split.

    Args:
        run: the run folder (``fer evaluate`` wrote ``predictions.npz`` there).
        labels: ``int (N,)`` labels of the split to be scored, 0..6.
        model_file: the model they must be newer than (default ``run``'s ``model.keras``).

    Returns:
        ``float32 (N, 7)``, or ``None`` when there is no ``predictions.npz``, no model file, the file is
        older than the model (it was retrained since), or its labels are not ``labels`` (another split).
    """
    model = Path(model_file) if model_file is not None else run.model_file
    file = run.predictions_file
    if not file.is_file() or not model.is_file() or file.stat().st_mtime < model.stat().st_mtime:
        return None
    saved = run.predictions()
    same = saved.get("labels") is not None and np.array_equal(saved["labels"], labels)
    return saved["probabilities"].astype(np.float32) if same else None


def write_submission(path: str | Path, ids: np.ndarray, probabilities: np.ndarray) -> None:
    """Write a Kaggle submission ``id,label`` (one row per id), atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "label"])
    writer.writerows(zip(ids.tolist(), probabilities.argmax(axis=1).tolist()))
    write_text(path, buffer.getvalue())


def top_k(probabilities: np.ndarray, k: int = 3) -> list[list[tuple[str, float]]]:
    """For each row of ``float (N, 7)`` probabilities, the ``k`` likeliest ``(emotion, p)``, likeliest first
    (ties: the lower class index first)."""
    order = np.argsort(-np.asarray(probabilities), axis=1, kind="stable")[:, :k]
    return [[(EMOTIONS[c], float(row[c])) for c in idx] for row, idx in zip(probabilities, order)]


def top_k_text(probabilities: np.ndarray, k: int = 3, separator: str = ", ") -> list[str]:
    """:func:`top_k` in words, one string per row of ``float (N, 7)``, e.g. ``"fear 41%, sad 30%, angry 9%"``."""
    return [separator.join(f"{name} {p:.0%}" for name, p in row) for row in top_k(probabilities, k)]
