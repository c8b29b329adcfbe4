"""Offline distillation: a teacher's probabilities on the Training faces mixed into the student's targets."""

import json

import numpy as np
import pytest

from fer_core import cli
from fer_core.evaluation.scores import predict_proba
from fer_core.models.builders import load_model
from fer_core.training import distill, loop
from fer_core.training.distill import distilled_targets, teacher_probabilities

QUICK = ["--epochs", "1", "--batch-size", "8", "--precision", "float32", "--no-augment", "--normalization", "none"]


def test_distilled_rows_are_the_given_mix_and_sum_to_one():
    rng = np.random.default_rng(0)
    targets = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 5)]
    teacher = rng.dirichlet(np.ones(7), 5).astype(np.float32)
    np.testing.assert_allclose(distilled_targets(targets, teacher, 0.0), targets)
    np.testing.assert_allclose(distilled_targets(targets, teacher, 1.0), teacher, rtol=1e-6)
    mixed = distilled_targets(targets, teacher, 0.25)
    np.testing.assert_allclose(mixed, 0.75 * targets + 0.25 * teacher, rtol=1e-6)
    assert mixed.dtype == np.float32 and np.allclose(mixed.sum(axis=1), 1.0)


def test_a_student_trains_on_its_teachers_probabilities(tmp_path, kaggle_folder, monkeypatch, capsys):
    folder, _, _ = kaggle_folder
    teacher_run = tmp_path / "teacher"
    assert cli.main(["train", "--data", str(folder), "--out", str(teacher_run), *QUICK]) == 0
    train = loop.load_fer2013(folder)["train"]
    scored = teacher_probabilities(str(teacher_run), train.images)
    np.testing.assert_allclose(scored, predict_proba(load_model(teacher_run), train.images), rtol=1e-5, atol=1e-6)
    monkeypatch.setattr(distill, "load_model", lambda *_: pytest.fail("the kept probabilities are read, not rescored"))
    np.testing.assert_array_equal(teacher_probabilities(str(teacher_run), train.images), scored)

    seen = []
    real = loop.make_dataset
    def recording(split, *args, **kwargs):
        seen.append(kwargs.get("targets"))
        return real(split, *args, **kwargs)

    monkeypatch.setattr(loop, "make_dataset", recording)
    student = tmp_path / "student"
    args = ["train", "--data", str(folder), "--out", str(student), *QUICK, "--teacher", str(teacher_run)]
    assert cli.main([*args, "--teacher-weight", "0.3"]) == 0
    one_hot = np.eye(7, dtype=np.float32)[train.labels]
    np.testing.assert_allclose(seen[0], 0.7 * one_hot + 0.3 * scored, rtol=1e-5)
    config = json.loads((student / "config.json").read_text())
    assert config["teacher"] == str(teacher_run) and config["teacher_weight"] == 0.3

    capsys.readouterr()
    assert cli.main([*args[:4], str(tmp_path / "refused"), *QUICK, "--teacher", str(tmp_path / "gone.keras")]) == 2
    assert "gone.keras: no such model file" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists(), "a refused run writes nothing"
