"""Scoring a model: probabilities and metrics, confusion, misclassified faces, two-model comparison,
the ablation table and label noise (FER+ votes, cleanlab)."""

from fer_core.evaluation.scores import evaluate_run, predict_proba

__all__ = ["evaluate_run", "predict_proba"]
