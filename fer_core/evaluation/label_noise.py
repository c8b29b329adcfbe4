"""The model's mistakes told apart from the labels' mistakes, with FER+'s ten votes per face.

FER2013's labels are noisy: FER+ (Barsoum et al., ICMI 2016) had every face
labeled again by 10 annotators, and their majority equals the FER2013 label for
only about 62% of faces. The definitions used everywhere in FER Lens live here:

* **FER+ majority** (:func:`ferplus_majority`): the vote column with the most
  votes, mapped to the 7 FER2013 classes; none (-1) when that column is
  contempt, unknown or not-a-face, when two columns tie for the top, or when the
  face has no votes.
* **Whom the annotators side with** on a misclassified face (:func:`annotator_side`):
  the model when ``votes[predicted] > votes[label]``, the label when
  ``votes[label] > votes[predicted]``, else split.

Likely label errors are ranked by cleanlab (Northcutt et al., "Confident
Learning: Estimating Uncertainty in Dataset Labels", JAIR 2021) from the model's
out-of-sample probabilities: :func:`label_quality`. Only numpy and cleanlab (no
Keras) are imported, so dashboard pages can use this module cheaply.
"""

from __future__ import annotations

import numpy as np

from fer_core.data.ferplus import VOTE_COLUMNS, VOTE_TO_CLASS
from fer_core.errors import FerError
from fer_core.labels import EMOTIONS, NUM_CLASSES

NO_MAJORITY = -1
SIDES: tuple[str, ...] = ("model", "label", "split")


def _checked(votes: np.ndarray) -> np.ndarray:
    v = np.asarray(votes)
    if v.ndim != 2 or v.shape[1] != len(VOTE_COLUMNS):
        raise FerError(f"votes have shape {v.shape} (expected (N, {len(VOTE_COLUMNS)}), FER+'s vote columns)")
    return v.astype(np.int64)


def class_votes(votes: np.ndarray) -> np.ndarray:
    """The votes for the 7 FER2013 classes.

    Args:
        votes: ``int (N, 10)`` FER+ counts in :data:`fer_core.data.ferplus.VOTE_COLUMNS` order.

    Returns:
        ``int64 (N, 7)`` counts in ``EMOTIONS`` order (contempt, unknown and not-a-face dropped).
    """
    v = _checked(votes)
    out = np.zeros((len(v), NUM_CLASSES), np.int64)
    for column, cls in enumerate(VOTE_TO_CLASS):
        if cls >= 0:
            out[:, cls] = v[:, column]
    return out


def ferplus_majority(votes: np.ndarray) -> np.ndarray:
    """The FER+ majority of each face (see the module docstring).

    Args:
        votes: ``int (N, 10)`` FER+ counts.

    Returns:
        ``int64 (N,)``: a class 0..6 in ``EMOTIONS`` order, or :data:`NO_MAJORITY` (-1) when the top
        column is contempt, unknown or not-a-face, when the top is tied, or when there are no votes.
    """
    v = _checked(votes)
    top = v.max(axis=1, initial=0)
    tied = (v == top[:, None]).sum(axis=1) > 1
    majority = np.asarray(VOTE_TO_CLASS)[v.argmax(axis=1)] if len(v) else np.zeros(0, np.int64)
    return np.where(tied | (top == 0), NO_MAJORITY, majority).astype(np.int64)


def annotator_side(votes: np.ndarray, labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Whom the annotators side with on each face: ``"model"``, ``"label"`` or ``"split"``.

    Args:
        votes: ``int (N, 10)`` FER+ counts.
        labels: ``int (N,)`` FER2013 labels 0..6.
        predicted: ``int (N,)`` the model's classes 0..6 (meant for faces where it differs from the label).

    Returns:
        ``str (N,)``: ``"model"`` where ``votes[predicted] > votes[label]``, ``"label"`` where
        ``votes[label] > votes[predicted]``, else ``"split"`` (equal, a face with no votes included).
    """
    v = class_votes(votes)
    rows = np.arange(len(v))
    for_model, for_label = v[rows, np.asarray(predicted)], v[rows, np.asarray(labels)]
    return np.select([for_model > for_label, for_label > for_model], ["model", "label"], "split")


def vote_targets(labels: np.ndarray, votes: np.ndarray | None, mode: str = "labels", weight: float = 0.0) -> np.ndarray:
    """Training targets from FER2013's labels and FER+'s votes.

    Args:
        labels: ``int (N,)`` FER2013 labels 0..6.
        votes: ``int (N, 10)`` FER+ counts (``None`` only with ``mode="labels"``).
        mode: ``"labels"``: one-hot labels; ``"ferplus"``: the votes over the 7 classes, normalized (the
            "probability" mode of Barsoum et al. 2016); ``"blend"``: ``(1 - weight) * one-hot + weight * that
            distribution`` (label smoothing toward the annotators instead of uniform). A face without a vote
            for any of the 7 classes keeps its one-hot label.
        weight: the share of the votes in ``"blend"``, 0..1.

    Returns:
        ``float32 (N, 7)``, rows summing to 1.
    """
    one_hot = np.eye(NUM_CLASSES, dtype=np.float32)[np.asarray(labels)]
    if mode == "labels":
        return one_hot
    if votes is None:
        raise FerError(f"targets '{mode}' need FER+ votes for these faces (fer2013new.csv beside the FER2013 CSV)")
    counts = class_votes(votes).astype(np.float32)
    totals = counts.sum(axis=1, keepdims=True)
    spread = np.where(totals > 0, counts / np.maximum(totals, 1), one_hot)
    return spread if mode == "ferplus" else ((1 - weight) * one_hot + weight * spread).astype(np.float32)


def side_counts(sides: np.ndarray) -> dict[str, int]:
    """How many faces of each side, in :data:`SIDES` order (zeros included)."""
    return {side: int((np.asarray(sides) == side).sum()) for side in SIDES}


def annotator_confusion(labels: np.ndarray, votes: np.ndarray) -> np.ndarray:
    """The annotators' confusion matrix: ``int64 (7, 7)``, row = FER2013 label, column = FER+ majority.

    Faces without a majority are left out (their count is ``len(labels) - matrix.sum()``).
    """
    majority = ferplus_majority(votes)
    keep = majority != NO_MAJORITY
    y = np.asarray(labels)[keep]
    return np.bincount(y * NUM_CLASSES + majority[keep], minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def ferplus_summary(probabilities: np.ndarray, labels: np.ndarray, votes: np.ndarray) -> dict:
    """The FER+ figures of a model on a labeled split with votes (``metrics.json``'s ``ferplus``).

    Args:
        probabilities: ``float (N, 7)`` the model's softmax outputs.
        labels: ``int (N,)`` FER2013 labels 0..6.
        votes: ``int (N, 10)`` FER+ counts.

    Returns:
        ``faces_with_majority``; ``accuracy`` (the model against the FER+ majority, on those faces);
        ``label_agreement`` (the FER2013 labels against it: the human baseline); ``misclassified``
        (faces where the model differs from the label) and ``sides`` (their counts per
        :data:`SIDES`); ``annotator_confusion`` (:func:`annotator_confusion` as lists); ``label_issues``
        (:func:`label_issue_detection` of cleanlab's ranking, or ``None`` when every face with a majority
        agrees with its label, or none does).
    """
    y = np.asarray(labels)
    predicted = np.asarray(probabilities).argmax(axis=1)
    majority = ferplus_majority(votes)
    has = majority != NO_MAJORITY
    wrong = predicted != y
    sides = annotator_side(np.asarray(votes)[wrong], y[wrong], predicted[wrong])
    return {
        "faces_with_majority": int(has.sum()),
        "accuracy": float((predicted[has] == majority[has]).mean()) if has.any() else 0.0,
        "label_agreement": float((y[has] == majority[has]).mean()) if has.any() else 0.0,
        "misclassified": int(wrong.sum()),
        "sides": side_counts(sides),
        "annotator_confusion": annotator_confusion(y, votes).tolist(),
        "label_issues": _detection(probabilities, y, votes),
    }


def _detection(probabilities: np.ndarray, labels: np.ndarray, votes: np.ndarray) -> dict | None:
    """:func:`label_issue_detection` of cleanlab's ranking, or ``None`` where it is undefined."""
    try:
        return label_issue_detection(label_quality(probabilities, labels), labels, votes)
    except FerError:  # every face with a majority agrees with its label, or none does
        return None


def summary_sentences(summary: dict) -> list[str]:
    """:func:`ferplus_summary` in words, one line each, for ``fer evaluate`` and reports."""
    sides, wrong, issues = summary["sides"], max(summary["misclassified"], 1), summary.get("label_issues")
    found = [] if not issues else [
        f"cleanlab's label-issue ranking finds the {issues['disagreements']} faces whose FER+ majority differs "
        f"from the label with AUROC {issues['auroc']:.3f}, precision {issues['precision_at']:.2f} among its "
        f"top {issues['top']}"
    ]
    return [
        f"FER+ majority: model accuracy {summary['accuracy']:.5f}, FER2013 labels' agreement "
        f"{summary['label_agreement']:.5f} (the human baseline; {summary['faces_with_majority']} faces with a majority)",
        f"of {summary['misclassified']} misclassified faces the annotators side with the model on "
        f"{sides['model']} ({sides['model'] / wrong:.0%}), with the label on {sides['label']} "
        f"({sides['label'] / wrong:.0%}), split on {sides['split']}",
        *found,
    ]


def votes_text(votes: np.ndarray, top: int = 3) -> str:
    """One face's votes at a glance, e.g. ``"neutral 6 · sad 3 · angry 1"`` (most votes first, zeros left out).

    Args:
        votes: ``int (10,)`` one face's FER+ counts.
        top: how many columns to name.
    """
    v = np.asarray(votes, np.int64).reshape(-1)
    names = [EMOTIONS[c] if c >= 0 else VOTE_COLUMNS[i] for i, c in enumerate(VOTE_TO_CLASS)]
    order = np.argsort(-v, kind="stable")[:top]
    return " · ".join(f"{names[i]} {int(v[i])}" for i in order if v[i] > 0) or "no votes"


def label_quality(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """How likely each face's label is right, by cleanlab's self-confidence score (Northcutt et al. 2021).

    Args:
        probabilities: ``float (N, 7)`` out-of-sample softmax outputs (the model never trained on these faces).
        labels: ``int (N,)`` the given labels 0..6.

    Returns:
        ``float64 (N,)`` in 0..1: low = the label is likely wrong (sort ascending to find label issues).
    """
    from cleanlab.rank import get_label_quality_scores  # optional heavy import (scikit-learn), deferred

    p = np.asarray(probabilities, np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    return np.asarray(get_label_quality_scores(np.asarray(labels), p, method="self_confidence"), np.float64)


def label_issue_detection(quality: np.ndarray, labels: np.ndarray, votes: np.ndarray, top: int = 100) -> dict:
    """How well a label-quality ranking finds the faces whose FER+ majority differs from the label.

    Args:
        quality: ``float (N,)`` from :func:`label_quality` (low = likely wrong).
        labels: ``int (N,)`` FER2013 labels.
        votes: ``int (N, 10)`` FER+ counts; faces without a majority are left out.
        top: the precision is measured on this many lowest-quality faces.

    Returns:
        ``faces``, ``disagreements`` (faces whose majority differs from the label), ``auroc`` (the chance
        that a disagreeing face ranks below an agreeing one, ties counting half) and ``precision_at``
        (the share of disagreements among the ``top`` lowest-quality faces), with ``top``.
    """
    from sklearn.metrics import roc_auc_score  # cleanlab's own dependency, deferred like it

    majority = ferplus_majority(votes)
    keep = majority != NO_MAJORITY
    q, wrong = np.asarray(quality)[keep], (majority != np.asarray(labels))[keep]
    if wrong.all() or not wrong.any():
        raise FerError("label-issue detection needs faces whose FER+ majority agrees and disagrees with the label")
    lowest = np.argsort(q, kind="stable")[:top]
    return {
        "faces": int(keep.sum()),
        "disagreements": int(wrong.sum()),
        "auroc": float(roc_auc_score(wrong, -q)),
        "precision_at": float(wrong[lowest].mean()),
        "top": int(min(top, len(q))),
    }



def shared_confusion_sentences(pairs: list[tuple[int, int, float, int, int]], annotator_matrix: np.ndarray) -> list[str]:
    """For each of the model's confusions, how often the annotators make the same one.

    Args:
        pairs: the model's confusions as :func:`fer_core.evaluation.confusion.confused_pairs` gives them:
            ``(label, predicted, rate, count, row_total)``.
        annotator_matrix: ``int (7, 7)`` :func:`annotator_confusion` (row = label, column = FER+ majority).

    Returns:
        One sentence per pair, e.g. ``"fear read as sad: the model 21% of fear faces (103 of 496), the
        annotators 9% (40 of 450 with a majority)"``.
    """
    sentences = []
    for i, j, rate, count, total in pairs:
        theirs, row = int(annotator_matrix[i][j]), int(np.sum(annotator_matrix[i]))
        share = f"{theirs / row:.0%} ({theirs} of {row} with a majority)" if row else "no face with a majority"
        sentences.append(
            f"{EMOTIONS[i]} read as {EMOTIONS[j]}: the model {rate:.0%} of {EMOTIONS[i]} faces ({count} of {total}), "
            f"the annotators {share}"
        )
    return sentences
