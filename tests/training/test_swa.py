"""Stochastic weight averaging: snapshots of a run's last epochs, their exact mean, and `fer calibrate --average`."""

import numpy as np
import pytest

from fer_core import cli
from fer_core.errors import FerError
from fer_core.models.builders import load_model
from fer_core.runs.folder import Run
from fer_core.training.swa import average_weights, averaged_snapshots, snapshot_epochs, snapshot_path


def test_average_weights_is_the_elementwise_mean_and_keeps_integer_state():
    a = [np.array([[1.0, 2.0]], np.float32), np.array([5], np.uint32)]
    b = [np.array([[3.0, 6.0]], np.float32), np.array([9], np.uint32)]
    c = [np.array([[2.0, 1.0]], np.float32), np.array([7], np.uint32)]
    mean, state = average_weights([a, b, c])
    np.testing.assert_array_equal(mean, np.array([[2.0, 3.0]], np.float32))
    assert mean.dtype == np.float32
    np.testing.assert_array_equal(state, c[1])  # not averaged: taken from the last


def test_average_weights_refuses_models_of_other_architectures():
    with pytest.raises(FerError, match="one architecture"):
        average_weights([[np.zeros(3)], [np.zeros(4)]])
    with pytest.raises(FerError, match="one architecture"):
        average_weights([[np.zeros(3)], [np.zeros(3), np.zeros(1)]])


def _train(folder, out, epochs: int) -> None:
    args = ["train", "--data", str(folder), "--out", str(out), "--epochs", str(epochs), "--batch-size", "8",
            "--precision", "float32", "--snapshots", "2"]
    assert cli.main(args) == 0


def _trained(model) -> list[np.ndarray]:
    return [np.asarray(w) for w in model.weights if "moving" not in w.path]


def test_a_run_keeps_its_last_epochs_and_calibrate_averages_them(tmp_path, kaggle_folder, capsys):
    folder, _, _ = kaggle_folder
    run = Run(tmp_path / "run")
    _train(folder, run.root, 3)
    assert snapshot_epochs(run) == [2, 3]
    _train(folder, run.root, 4)  # resumed with a longer schedule: still the last two epochs only
    assert snapshot_epochs(run) == [3, 4]
    last = load_model(snapshot_path(run, 4))
    assert {type(layer).__module__.split(".")[0] for layer in last.layers} == {"keras"}  # inference layers only

    averaged, epochs = averaged_snapshots(run, 2)
    assert epochs == [3, 4]
    third = load_model(snapshot_path(run, 3))
    for mean, a, b in zip(_trained(averaged), _trained(third), _trained(last)):
        np.testing.assert_allclose(mean, (a.astype(np.float64) + b) / 2, rtol=1e-6, atol=1e-7)

    before = run.model_file.read_bytes()
    capsys.readouterr()
    assert cli.main(["calibrate", str(run.root), "--faces", "16", "--average", "2", "--data", str(folder)]) == 0
    line = capsys.readouterr().out.strip()
    assert "(mean of the last 2 epochs' weights)" in line
    if "; kept" in line:
        for saved, mean in zip(_trained(load_model(run.root)), _trained(averaged)):
            np.testing.assert_allclose(saved, mean, rtol=1e-6, atol=1e-7)
    else:
        assert run.model_file.read_bytes() == before

    assert cli.main(["calibrate", str(run.root), "--average", "3", "--data", str(folder)]) == 2
    assert "2 epochs kept, fewer than --average 3" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # one source of weights at a time
        cli.main(["calibrate", str(run.root), "--average", "2", "--last-epoch"])
    assert exit_.value.code == 2
    assert "argument --last-epoch: not allowed with argument --average" in capsys.readouterr().err


def test_a_run_without_snapshots_keeps_none(tmp_path, kaggle_folder):
    folder, _, _ = kaggle_folder
    run = Run(tmp_path / "plain")
    assert cli.main(["train", "--data", str(folder), "--out", str(run.root), "--epochs", "1", "--batch-size", "8",
                     "--precision", "float32"]) == 0
    assert snapshot_epochs(run) == [] and not run.snapshot_dir.exists()
    with pytest.raises(FerError, match="0 epochs kept, fewer than --average 1"):
        averaged_snapshots(run, 1)
