"""Offline knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
Network", at temperature 1): a teacher's probabilities on every Training face become part of the student's
targets.

The teacher (any FER Lens model: an ensemble built by ``fer ensemble``, a bigger network) scores each
Training face once, un-augmented, in float32; the probabilities are kept on disk keyed by the teacher file's
digest and the faces' (:func:`fer_core.evaluation.scores.probabilities_file`), so a resumed run does not score
them again. The student then trains on ``(1 - weight) * targets + weight * teacher`` for each face, whatever
augmentation it gets (the teacher's reading of the clean face stands for the augmented one).
"""

from __future__ import annotations

import sys

import numpy as np

from fer_core.evaluation.scores import keep_probabilities, kept_probabilities, predict_in_chunks, probabilities_file
from fer_core.models.builders import load_model
from fer_core.paths import model_file
from fer_core.runs.files import file_digest


def teacher_probabilities(teacher: str, images: np.ndarray) -> np.ndarray:
    """``float32 (N, 7)``: the model at ``teacher`` (a ``.keras`` file or a run folder, loaded with ``safe_mode``
    and checked against the model contract) on ``uint8 (N, 48, 48)`` faces, kept on disk after the first time.

    Raises:
        FerError: one line when the teacher is missing, not a Keras model or not a FER Lens model.
    """
    path = model_file(teacher)
    file = probabilities_file(file_digest(path), images)
    kept = kept_probabilities(file, len(images))
    if kept is not None:
        return kept
    model = load_model(path)
    print(f"Scoring the {len(images):,} Training faces with the teacher {path} (once; kept in {file})",
          file=sys.stderr)
    probabilities = predict_in_chunks(model, images)
    keep_probabilities(file, probabilities)
    return probabilities


def distilled_targets(targets: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """``float32 (N, 7)`` rows ``(1 - weight) * targets + weight * teacher``: both ``(N, 7)`` rows of
    probabilities (summing to 1), ``weight`` in 0..1; the result's rows sum to 1 as well."""
    return (1.0 - weight) * np.asarray(targets, np.float32) + weight * np.asarray(teacher, np.float32)
