"""Two models on the same faces: how their confusion matrices differ, and where they disagree.

Numpy only (no TensorFlow), so the dashboard's pages can call it directly. Model A is the
one picked first, B the one it is compared with; every difference reads "B minus A".
"""

from __future__ import annotations

import numpy as np

from fer_core.errors import FerError
from fer_core.labels import EMOTIONS, NUM_CLASSES

WHO_IS_RIGHT = ("either", "first", "second")  # disagreements where either model, only A, or only B is right


def _matrix(matrix: np.ndarray, name: str) -> np.ndarray:
    m = np.asarray(matrix, np.float64)
    if m.shape != (NUM_CLASSES, NUM_CLASSES):
        raise FerError(f"{name} has shape {m.shape} (expected ({NUM_CLASSES}, {NUM_CLASSES}) counts)")
    return m


def row_fractions(matrix: np.ndarray) -> np.ndarray:
    """``float64 (7, 7)``: each row of a confusion matrix over its sum (a row without faces stays 0)."""
    m = _matrix(matrix, "the confusion matrix")
    totals = m.sum(axis=1, keepdims=True)
    return np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)


def confusion_change(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How the row-normalized confusion matrix changes from model A (``first``) to B (``second``).

    Args:
        first, second: ``(7, 7)`` counts, rows true and columns predicted, on the same faces.

    Returns:
        ``(points, gain)``, both ``float64 (7, 7)`` in percentage points of each true class:
        ``points`` is B's fraction minus A's; ``gain`` is the same with the sign flipped off the
        diagonal, so that a positive cell always got better (more right on the diagonal,
        fewer mistakes elsewhere) and a negative one worse.
    """
    a, b = _matrix(first, "the first matrix"), _matrix(second, "the second matrix")
    if not np.array_equal(a.sum(axis=1), b.sum(axis=1)):
        raise FerError("the two confusion matrices count different faces per true class (score the same split)")
    points = 100.0 * (row_fractions(b) - row_fractions(a))
    gain = np.where(np.eye(NUM_CLASSES, dtype=bool), points, -points)
    return points, gain + 0.0  # + 0.0: no negative zeros


def change_sentences(first: np.ndarray, second: np.ndarray, count: int = 3, at_least: float = 0.5) -> list[str]:
    """Up to ``count`` lines each for the cells that got most better and most worse from A to B.

    E.g. ``"fear read as sad: 12.0% → 8.5% (better by 3.5 points)"``; cells that moved by less
    than ``at_least`` points are left out.
    """
    points, gain = confusion_change(first, second)
    a, b = 100.0 * row_fractions(first), 100.0 * row_fractions(second)
    order = np.argsort(-gain, axis=None, kind="stable")
    lines = []
    for cells, sign in ((order[:count], 1), (order[::-1][:count], -1)):
        for true, predicted in zip(*np.unravel_index(cells, gain.shape)):
            if sign * gain[true, predicted] >= at_least:
                what = "read correctly" if true == predicted else f"read as {EMOTIONS[predicted]}"
                how = "better" if sign > 0 else "worse"
                lines.append(f"{EMOTIONS[true]} {what}: {a[true, predicted]:.1f}% → {b[true, predicted]:.1f}% "
                             f"({how} by {abs(points[true, predicted]):.1f} points)")
    return lines


def disagreements(labels: np.ndarray, first: np.ndarray, second: np.ndarray, right: str = "either") -> np.ndarray:
    """``int64`` rows (ascending) where exactly one of two models is right.

    Args:
        labels: ``int (N,)`` true classes 0..6.
        first, second: ``int (N,)`` predicted classes of model A and model B on the same faces.
        right: ``"first"`` (A right, B wrong), ``"second"`` (B right, A wrong) or ``"either"``.
    """
    y, a, b = (np.asarray(v) for v in (labels, first, second))
    if not y.shape == a.shape == b.shape or y.ndim != 1:
        raise FerError(f"labels {y.shape} and predictions {a.shape}, {b.shape} must be the same (N,) shape")
    if right not in WHO_IS_RIGHT:
        raise FerError(f"right={right!r}: expected one of {', '.join(WHO_IS_RIGHT)}")
    a_right, b_right = a == y, b == y
    keep = {"first": a_right & ~b_right, "second": b_right & ~a_right, "either": a_right != b_right}[right]
    return np.flatnonzero(keep).astype(np.int64)


def wrong_models_side(labels: np.ndarray, first: np.ndarray, first_side: np.ndarray,
                      second_side: np.ndarray) -> np.ndarray:
    """Whom the annotators side with on faces where exactly one model is right, judged against the wrong one.

    Args:
        labels, first: ``int (N,)`` the faces' FER2013 labels and model A's classes.
        first_side, second_side: ``str (N,)`` :func:`fer_core.evaluation.label_noise.annotator_side` of each
            model's own prediction.

    Returns:
        ``str (N,)``: B's side where A is right, A's where A is wrong (against A's right prediction, the
        label, every face would be "split").
    """
    return np.where(np.asarray(first) == np.asarray(labels), np.asarray(second_side), np.asarray(first_side))


def matching_layer(layer: str, other_layers: list[str]) -> str | None:
    """The layer of the other model that plays the part of ``layer``, or None.

    The same name first; else the same name under an ensemble member's prefix
    (``fer ensemble`` renames a member's layers ``<member>_<layer>``): ``conv5``
    matches ``seed1_conv5`` (the first such member) and ``seed1_conv5`` matches ``conv5``.
    """
    if layer in other_layers:
        return layer
    prefixed = [name for name in other_layers if name.endswith(f"_{layer}") and "_" not in name[:-len(layer) - 1]]
    if prefixed:
        return prefixed[0]
    _, _, bare = layer.partition("_")
    return bare if bare and bare in other_layers else None
