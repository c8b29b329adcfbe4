import numpy as np
import pytest

from fer_core.evaluation.confusion import confusion_matrix, per_class_report
from fer_core.evaluation.scores import metrics_from_probabilities, top_k, write_submission


def test_confusion_matrix_counts_true_rows_predicted_columns():
    matrix = confusion_matrix(np.array([0, 0, 2, 6]), np.array([0, 2, 2, 5]))
    assert matrix.shape == (7, 7) and matrix.sum() == 4
    assert matrix[0, 0] == 1 and matrix[0, 2] == 1 and matrix[2, 2] == 1 and matrix[6, 5] == 1


def test_per_class_report_by_hand():
    labels = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 1, 1, 0, 2])
    report = per_class_report(confusion_matrix(labels, predicted))
    # angry: TP 2, predicted 3, support 3 -> p 2/3, r 2/3
    assert report["angry"]["precision"] == pytest.approx(2 / 3) and report["angry"]["recall"] == pytest.approx(2 / 3)
    # disgust: TP 1, predicted 2, support 2 -> p 1/2, r 1/2, f1 1/2
    assert report["disgust"]["f1"] == pytest.approx(0.5) and report["disgust"]["support"] == 2
    assert report["fear"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert report["neutral"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_metrics_accuracy():
    probs = np.eye(7, dtype=np.float32)[[0, 1, 2, 3]]
    metrics = metrics_from_probabilities(probs, np.array([0, 1, 2, 4]))
    assert metrics["accuracy"] == 0.75 and metrics["samples"] == 4
    assert np.array(metrics["confusion_matrix"]).shape == (7, 7)


def test_submission_and_top_k(tmp_path):
    probs = np.array([[0.1, 0, 0, 0.6, 0.3, 0, 0], [0, 0, 0, 0, 0, 0.2, 0.8]])
    write_submission(tmp_path / "s.csv", np.array([5, 9]), probs)
    assert (tmp_path / "s.csv").read_text() == "id,label\n5,3\n9,6\n"
    assert top_k(probs)[0] == [("happy", 0.6), ("sad", 0.3), ("angry", 0.1)]


def test_top_k_text_and_best_epoch():
    from fer_core.evaluation.scores import top_k_text
    from fer_core.runs.history import best_epoch

    probabilities = np.array([[0.1, 0.0, 0.6, 0.0, 0.1, 0.2, 0.0]])
    assert top_k_text(probabilities) == ["fear 60%, surprise 20%, angry 10%"]  # ties: lower class first
    assert top_k_text(probabilities, 2, " · ") == ["fear 60% · surprise 20%"]
    history = [{"epoch": 1.0, "val_accuracy": 0.3}, {"epoch": 2.0, "val_accuracy": 0.5}, {"epoch": 3.0}]
    assert best_epoch(history) == {"epoch": 2.0, "val_accuracy": 0.5}
    assert best_epoch([{"epoch": 1.0, "loss": 1.0}]) is None and best_epoch([]) is None


def test_saved_probabilities_only_while_newer_than_the_model_and_for_the_same_split(tmp_path):
    import os

    from fer_core.evaluation.scores import saved_probabilities
    from fer_core.runs.files import write_npz
    from fer_core.runs.folder import Run

    run, labels = Run(tmp_path), np.array([0, 3, 6])
    probabilities = np.full((3, 7), 1 / 7, np.float64)
    assert saved_probabilities(run, labels) is None  # no predictions.npz, no model
    run.model_file.write_bytes(b"")
    write_npz(run.predictions_file, probabilities=probabilities, labels=labels, ids=np.arange(3))
    os.utime(run.model_file, (1_000, 1_000))
    os.utime(run.predictions_file, (2_000, 2_000))
    fresh = saved_probabilities(run, labels)
    assert fresh.dtype == np.float32 and fresh.shape == (3, 7) and np.allclose(fresh, 1 / 7)
    assert saved_probabilities(run, np.array([0, 3, 5])) is None  # another split
    os.utime(run.model_file, (3_000, 3_000))  # retrained since: stale
    assert saved_probabilities(run, labels) is None
    other = tmp_path / "other.keras"
    other.write_bytes(b"")
    os.utime(other, (2_000, 2_000))  # as old as the predictions: still fresh
    assert saved_probabilities(run, labels, other) is not None


class _MeanBrightness:
    """A stand-in model: "probabilities" from each face's mean brightness, so every face scores differently."""

    def predict(self, x, batch_size, verbose):
        mean = x.reshape(len(x), -1).mean(axis=1, keepdims=True) / 255.0
        scores = np.exp(np.arange(7) * mean)
        return scores / scores.sum(axis=1, keepdims=True)


def test_predict_in_chunks_matches_one_pass_and_reports_progress_to_the_end():
    from fer_core.evaluation.scores import predict_in_chunks, predict_proba

    faces = np.random.default_rng(0).integers(0, 256, (11, 48, 48), np.uint8)
    seen = []
    chunked = predict_in_chunks(_MeanBrightness(), faces, seen.append, chunk=4)
    np.testing.assert_allclose(chunked, predict_proba(_MeanBrightness(), faces), rtol=1e-6)
    assert seen == sorted(seen) and len(seen) == 3 and seen[-1] == 1.0


def test_kept_probabilities_are_keyed_by_model_and_faces_and_checked(tmp_path, monkeypatch):
    from fer_core.evaluation.scores import keep_probabilities, kept_probabilities, probabilities_file

    monkeypatch.setenv("FER_CACHE", str(tmp_path))
    faces = np.random.default_rng(1).integers(0, 256, (5, 48, 48), np.uint8)
    other = faces.copy()
    other[0, 0, 0] ^= 1
    file = probabilities_file("model-a", faces)
    assert file.parent == tmp_path / "predictions"
    assert file != probabilities_file("model-b", faces) and file != probabilities_file("model-a", other)
    assert kept_probabilities(file, 5) is None  # nothing kept yet
    probabilities = np.random.default_rng(2).dirichlet(np.ones(7), 5).astype(np.float32)
    keep_probabilities(file, probabilities)
    np.testing.assert_array_equal(kept_probabilities(file, 5), probabilities)
    assert kept_probabilities(file, 6) is None  # another number of faces: not these
    file.write_bytes(b"not an npz")
    assert kept_probabilities(file, 5) is None
