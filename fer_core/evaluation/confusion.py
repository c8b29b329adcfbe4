"""A confusion matrix, the per-class report it gives, and its most-confused pairs in words (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fer_core.errors import FerError
from fer_core.labels import EMOTIONS, NUM_CLASSES


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """``int64 (7, 7)``: row = true class, column = predicted class."""
    return np.bincount(labels * NUM_CLASSES + predicted, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def per_class_report(matrix: np.ndarray) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per emotion from a confusion matrix."""
    true_pos = np.diag(matrix).astype(float)
    predicted, support = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(true_pos, predicted, out=np.zeros(NUM_CLASSES), where=predicted > 0)
    recall = np.divide(true_pos, support, out=np.zeros(NUM_CLASSES), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(NUM_CLASSES), where=denom > 0)
    return {
        emotion: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for emotion, p, r, f, s in zip(EMOTIONS, precision, recall, f1, support)
    }


def confused_pairs(matrix: np.ndarray, top: int = 3) -> list[tuple[int, int, float, int, int]]:
    """The most-confused (true, predicted) pairs of a confusion matrix.

    Args:
        matrix: ``int (C, C)``, row = true class, column = predicted class.
        top: how many pairs to return (fewer if fewer off-diagonal cells are non-zero).

    Returns:
        ``(true, predicted, rate, count, row_total)`` tuples, highest ``rate``
        first, where ``rate = count / row_total`` is the fraction of the true
        class's faces given the predicted class (0..1). Ties go to the larger
        count, then to the lower (true, predicted) index. Empty rows are skipped.
    """
    m = np.asarray(matrix, np.int64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise FerError(f"confusion matrix has shape {m.shape} (expected a square (C, C) matrix)")
    totals = m.sum(axis=1)
    pairs = [
        (i, j, m[i, j] / totals[i], int(m[i, j]), int(totals[i]))
        for i in range(len(m))
        for j in range(len(m))
        if i != j and totals[i] > 0 and m[i, j] > 0
    ]
    pairs.sort(key=lambda p: (-p[2], -p[3], p[0], p[1]))
    return [(i, j, float(rate), count, total) for i, j, rate, count, total in pairs[:top]]


def confusion_sentences(matrix: np.ndarray, top: int = 3, classes: Sequence[str] = EMOTIONS) -> list[str]:
    """The most-confused pairs stated in words, e.g. ``"fear is read as sad in 18% of fear faces (18 of 100)"``.

    Percentages are the row percentages of :func:`confused_pairs`, rounded to whole percent.
    """
    return [
        f"{classes[i]} is read as {classes[j]} in {rate:.0%} of {classes[i]} faces ({count} of {total})"
        for i, j, rate, count, total in confused_pairs(matrix, top)
    ]
