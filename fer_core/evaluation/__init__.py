"""Scoring a model: probabilities and ``metrics.json`` (``scores``), the confusion matrix (``confusion``),
misclassified faces, two-model comparison, the normalization x augmentation ablation, and label noise
(FER+ votes, cleanlab). Numpy and pandas only: a model is called, never imported."""

from fer_core.evaluation.ablation import ablation_findings, ablation_rows
from fer_core.evaluation.confusion import confused_pairs, confusion_matrix, confusion_sentences
from fer_core.evaluation.misclassified import misclassified, predictions_table
from fer_core.evaluation.scores import evaluate_run, metrics_from_probabilities, predict_proba, top_k, write_submission

__all__ = [
    "ablation_findings", "ablation_rows", "confused_pairs", "confusion_matrix", "confusion_sentences", "evaluate_run",
    "metrics_from_probabilities", "misclassified", "predict_proba", "predictions_table", "top_k", "write_submission",
]
