"""The misclassified set: which faces the model gets wrong, and how.

The data behind the dashboard's browser of mistakes, and the face sets whose
saliency :func:`fer_core.vis.saliency.saliency_difference` compares (for
example true fear predicted surprise vs. true fear predicted fear).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fer_core.errors import FerError
from fer_core.evaluation.label_noise import NO_MAJORITY, annotator_side, ferplus_majority, votes_text
from fer_core.evaluation.scores import predict_proba, top_k_text
from fer_core.labels import EMOTIONS, NUM_CLASSES

if TYPE_CHECKING:
    import keras

    from fer_core.data.splits import Split

COLUMNS = (
    "id",
    "true",
    "predicted",
    "true_emotion",
    "predicted_emotion",
    "confidence",
    "true_probability",
    "top1",
    "top2",
    "top3",
    "top1_probability",
    "top2_probability",
    "top3_probability",
    "top3_text",
)
VOTE_COLUMNS = ("votes_text", "ferplus", "ferplus_emotion", "side")  # with FER+ votes only
SORT_KEYS = ("confidence", "true_probability", "margin", "true", "predicted", "id", "label_issue")


def _check(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(probabilities, np.float32), np.asarray(labels)
    if p.ndim != 2 or p.shape[1] != NUM_CLASSES:
        raise FerError(f"probabilities have shape {p.shape} (expected (N, {NUM_CLASSES}))")
    if y.shape != (len(p),):
        raise FerError(f"labels have shape {y.shape} (expected ({len(p)},), one per row of probabilities)")
    if len(y) and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= NUM_CLASSES):
        raise FerError(f"labels must be integers 0..{NUM_CLASSES - 1} (EMOTIONS order)")
    return p, y.astype(np.int64)


def class_index(emotion: int | str) -> int:
    """An emotion given by index 0..6 or by name (``"fear"``) as its index."""
    if isinstance(emotion, str):
        if emotion.lower() not in EMOTIONS:
            raise FerError(f"unknown emotion '{emotion}' (expected one of {', '.join(EMOTIONS)})")
        return EMOTIONS.index(emotion.lower())
    if not 0 <= int(emotion) < NUM_CLASSES:
        raise FerError(f"emotion {emotion} out of range (expected 0..{NUM_CLASSES - 1} or a name)")
    return int(emotion)


def predictions_table(
    probabilities: np.ndarray, labels: np.ndarray, ids: np.ndarray | None = None, votes: np.ndarray | None = None
) -> pd.DataFrame:
    """Every sample with its true and predicted class, confidence and top-3 (and FER+'s votes).

    Args:
        probabilities: ``float (N, 7)`` softmax outputs.
        labels: ``int (N,)`` true emotions 0..6.
        ids: ``int (N,)`` sample ids (default: ``0..N-1``).
        votes: ``int (N, 10)`` FER+ counts, or ``None``; with them the table also has
            :data:`VOTE_COLUMNS`: ``votes_text`` (``"neutral 6 · sad 3 · angry 1"``), ``ferplus``
            (the FER+ majority 0..6, -1 for none), ``ferplus_emotion`` (its name, ``""`` for none) and
            ``side`` (whom the annotators side with: ``model``, ``label`` or ``split``; see
            :mod:`fer_core.evaluation.label_noise`).

    Returns:
        A ``DataFrame`` indexed by ``row`` (the position in the split, to fetch
        the face: ``split.images[frame.index]``) with :data:`COLUMNS`:
        ``true``/``predicted``/``top1..3`` are ``int`` classes, ``*_emotion``
        their names, ``confidence`` the predicted class's probability,
        ``true_probability`` the true class's, ``top3_text`` e.g. ``"fear 41%, sad 30%, angry 9%"``.
    """
    p, y = _check(probabilities, labels)
    ids = np.arange(len(p)) if ids is None else np.asarray(ids)
    order = np.argsort(-p, axis=1, kind="stable")[:, :3]
    rows = np.arange(len(p))
    frame = pd.DataFrame(
        {
            "id": ids,
            "true": y,
            "predicted": order[:, 0],
            "true_emotion": [EMOTIONS[c] for c in y],
            "predicted_emotion": [EMOTIONS[c] for c in order[:, 0]],
            "confidence": p[rows, order[:, 0]],
            "true_probability": p[rows, y],
            **{f"top{k + 1}": order[:, k] for k in range(3)},
            **{f"top{k + 1}_probability": p[rows, order[:, k]] for k in range(3)},
            "top3_text": top_k_text(p, 3),
        },
        index=pd.Index(rows, name="row"),
    )
    return frame if votes is None else frame.assign(**_vote_columns(votes, y, order[:, 0]))


def _vote_columns(votes: np.ndarray, labels: np.ndarray, predicted: np.ndarray) -> dict[str, object]:
    majority = ferplus_majority(votes)
    return {
        "votes_text": [votes_text(v) for v in votes],
        "ferplus": majority,
        "ferplus_emotion": [EMOTIONS[m] if m != NO_MAJORITY else "" for m in majority],
        "side": annotator_side(votes, labels, predicted),
    }


def misclassified(
    probabilities: np.ndarray,
    labels: np.ndarray,
    ids: np.ndarray | None = None,
    *,
    sort_by: str = "confidence",
    descending: bool = True,
) -> pd.DataFrame:
    """The misclassified samples (predicted != true), most confident mistakes first.

    Same columns as :func:`predictions_table`; sorted by :func:`sort_samples`.
    """
    table = predictions_table(probabilities, labels, ids)
    return sort_samples(table[table["predicted"] != table["true"]], sort_by, descending)


def misclassified_from_model(
    model: keras.Model, split: Split, *, batch_size: int = 256, sort_by: str = "confidence", descending: bool = True
) -> pd.DataFrame:
    """:func:`misclassified` for a model scored on a labeled :class:`~fer_core.data.Split`."""
    if split.labels is None:
        raise FerError("this split has no labels, so nothing can be called misclassified (use a labeled split)")
    probabilities = predict_proba(model, split.images, batch_size)
    return misclassified(probabilities, split.labels, split.ids, sort_by=sort_by, descending=descending)


def sort_samples(frame: pd.DataFrame, by: str = "confidence", descending: bool = True) -> pd.DataFrame:
    """Sort by one of :data:`SORT_KEYS` (``margin`` = confidence - true_probability); ties keep row order.

    ``label_issue`` needs that column (1 - :func:`fer_core.evaluation.label_noise.label_quality`) in ``frame``.
    """
    if by not in SORT_KEYS:
        raise FerError(f"cannot sort by '{by}' (expected one of {', '.join(SORT_KEYS)})")
    if by not in frame and by != "margin":
        raise FerError(f"cannot sort by '{by}': the table has no such column (add it first)")
    key = frame["confidence"] - frame["true_probability"] if by == "margin" else frame[by]
    order = np.argsort(-key.to_numpy() if descending else key.to_numpy(), kind="stable")
    return frame.iloc[order]


def confusion_pair(
    frame: pd.DataFrame, true: int | str | None = None, predicted: int | str | None = None
) -> pd.DataFrame:
    """The rows of ``frame`` with the given true and/or predicted emotion (index or name); order kept."""
    keep = np.ones(len(frame), bool)
    if true is not None:
        keep &= frame["true"].to_numpy() == class_index(true)
    if predicted is not None:
        keep &= frame["predicted"].to_numpy() == class_index(predicted)
    return frame[keep]

