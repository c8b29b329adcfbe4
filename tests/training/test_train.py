"""Training end to end through the `fer` command: smoke run, kill -9, resume, evaluate, predict."""

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import h5py
import keras
import numpy as np
import pytest
from PIL import Image

from fer_core import cli
from fer_core.config import TrainConfig
from fer_core.data.dataset import load_fer2013
from fer_core.errors import FerError
from fer_core.models.builders import load_model
from fer_core.runs.folder import Run
from fer_core.runs.status import run_status
from fer_core.training.loop import train
from tests.conftest import REAL_DATA, id_csv, kaggle_csv, killed_write, make_faces, one_error_line, snapshot, write_text

EPOCH_SECONDS_LIMIT = 600


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    """The real FER2013 when present, else a synthetic set of the same form (2,000 train rows)."""
    if (REAL_DATA / "fer2013.csv.gz").is_file():
        return REAL_DATA
    folder = tmp_path_factory.mktemp("synthetic")
    images, labels = make_faces(2600)
    write_text(folder / "fer2013.csv", kaggle_csv(images[:2500], labels[:2500], ["Training"] * 2000 + ["PublicTest"] * 500))
    write_text(folder / "private_test.csv", id_csv(images[2500:]))
    return folder


def _wait_for_epoch(run: Run, epoch: int, process: subprocess.Popen) -> None:
    deadline = time.time() + EPOCH_SECONDS_LIMIT * epoch
    while time.time() < deadline:
        state = run.state() if run.state_file.is_file() else None
        if state and state["epoch"] >= epoch:
            return
        assert process.poll() is None, f"training exited early: {process.stdout.read()}"
        time.sleep(0.5)
    pytest.fail(f"epoch {epoch} did not finish in time")


def _optimizer_iterations(checkpoint) -> int:
    with zipfile.ZipFile(checkpoint) as archive, archive.open("model.weights.h5") as raw:
        with h5py.File(raw) as weights:
            return int(np.asarray(weights["optimizer/vars/0"]))


@pytest.fixture(scope="module")
def killed_and_resumed(data_path, tmp_path_factory):
    """Train 3 epochs on 2,000 images; kill -9 during epoch 3; run the same command again."""
    out = tmp_path_factory.mktemp("runs") / "smoke"
    env = {**os.environ, "FER_CACHE": str(tmp_path_factory.mktemp("cache"))}
    command = [sys.executable, "-m", "fer_core.cli", "train", "--data", str(data_path), "--out", str(out),
               "--epochs", "3", "--limit", "2000", "--val-limit", "500", "--batch-size", "64"]
    run = Run(out)
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_epoch(run, 2, first)
        history_before_kill = run.history()
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.wait()
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=EPOCH_SECONDS_LIMIT * 2)
    return {"run": run, "before": history_before_kill, "second": second, "data": data_path, "env": env}


@pytest.mark.slow
def test_smoke_run_writes_two_history_rows_then_resumes_at_epoch_3(killed_and_resumed):
    run, second = killed_and_resumed["run"], killed_and_resumed["second"]
    assert [r["epoch"] for r in killed_and_resumed["before"]] == [1.0, 2.0]
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Resuming" in second.stderr and "at epoch 3 of 3" in second.stderr
    assert "Epoch 1/3" not in second.stdout and "Epoch 3/3" in second.stdout
    history = run.history()
    assert [r["epoch"] for r in history] == [1.0, 2.0, 3.0]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds", "images_per_second"} <= set(history[0])
    assert "epoch 3/3: " in second.stderr and "img/s" in second.stderr and "left" in second.stderr
    # TensorBoard scalars: one event file per process, the heartbeat gone once training ended.
    assert len(list(run.logs_dir.glob("events.out.tfevents.*"))) == 2
    assert not run.heartbeat_file.exists() and run_status(run) == "finished"
    # The optimizer resumed with its state: 3 epochs x 32 steps, not 1 epoch's worth.
    state = run.state()
    assert state["epoch"] == 3
    assert _optimizer_iterations(run.checkpoint_dir / state["checkpoint"]) == 3 * 32
    assert list(run.checkpoint_dir.glob("*.keras")) == [run.checkpoint_dir / state["checkpoint"]]
    config = json.loads(run.config_file.read_text())
    assert config["epochs"] == 3 and config["limit"] == 2000
    metrics = run.metrics()
    assert metrics["split"] == "public" and 0 <= metrics["accuracy"] <= 1
    assert np.array(metrics["confusion_matrix"]).sum() == metrics["samples"]
    predictions = run.predictions()
    assert predictions["probabilities"].shape == (metrics["samples"], 7)


@pytest.mark.slow
def test_saved_best_model_is_inference_only_and_reloads(killed_and_resumed):
    run = killed_and_resumed["run"]
    model = load_model(run.root)
    with zipfile.ZipFile(run.model_file) as archive, archive.open("model.weights.h5") as raw:
        with h5py.File(raw) as weights:
            assert "optimizer" not in weights and "layers" in weights
    assert run.model_file.stat().st_size < 20 * 2**20
    assert {type(layer).__module__.split(".")[0] for layer in model.layers} == {"keras"}  # no fused training layers
    public = load_fer2013(killed_and_resumed["data"])["public"]
    probabilities = model.predict(public.images[:64, ..., None].astype("float32"), verbose=0)
    np.testing.assert_allclose(probabilities, run.predictions()["probabilities"][:64], rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_evaluate_and_predict_commands(killed_and_resumed, tmp_path, capsys, monkeypatch):
    run, data = killed_and_resumed["run"], str(killed_and_resumed["data"])
    monkeypatch.setenv("FER_CACHE", killed_and_resumed["env"]["FER_CACHE"])
    assert cli.main(["evaluate", str(run.root), "--data", data]) == 0
    out = capsys.readouterr().out
    assert "public accuracy:" in out and "most confused: " in out and " is read as " in out
    submission = tmp_path / "submission.csv"
    assert cli.main(["predict", str(run.root), "--split", "private", "--data", data, "--out", str(submission)]) == 0
    lines = submission.read_text().splitlines()
    private = load_fer2013(data)["private"]
    assert lines[0] == "id,label" and len(lines) == len(private) + 1
    assert sorted(int(line.split(",")[0]) for line in lines[1:]) == sorted(private.ids.tolist())
    assert all(0 <= int(line.split(",")[1]) <= 6 for line in lines[1:])
    assert f"wrote {len(private)} predictions for the private split" in capsys.readouterr().out
    # Any image: colour, other size.
    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (120, 90, 3), dtype=np.uint8)).save(photo)
    assert cli.main(["predict", str(run.root), str(photo)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{photo}: ") and line.count(",") == 2
    (tmp_path / "broken.png").write_bytes(b"garbage")
    assert cli.main(["predict", str(run.root), str(tmp_path / "broken.png")]) == 2
    assert "broken.png: not a readable image" in capsys.readouterr().err


def test_config_checks_and_defaults():
    assert TrainConfig().run_dir().as_posix() == "runs/seed-standardize-aug-s0"
    assert TrainConfig(augment=False, seed=3).run_dir().as_posix() == "runs/seed-standardize-noaug-s3"
    with pytest.raises(FerError, match="--validation 'half'"):
        TrainConfig(validation="half").check()
    with pytest.raises(FerError, match="--epochs 0: expected an integer >= 1"):
        TrainConfig(epochs=0).check()
    TrainConfig(validation="0.1").check()


def test_a_validation_fraction_that_leaves_a_side_empty_is_refused(kaggle_folder):
    from fer_core.training.pipeline import split_train_validation

    dataset = load_fer2013(kaggle_folder[0])  # 21 Training faces
    train_split, validation = split_train_validation(dataset, TrainConfig(validation="0.2"))
    assert (len(train_split), len(validation)) == (17, 4)  # round(21 * 0.2) = 4
    assert not set(train_split.ids) & set(validation.ids)
    for fraction, held in (("0.01", 0), ("0.99", 21)):
        with pytest.raises(FerError, match=f"--validation {fraction}: {held} of the 21 Training faces would validate"):
            split_train_validation(dataset, TrainConfig(validation=fraction))


def test_train_refuses_a_different_config_in_an_existing_run(tmp_path, kaggle_folder, capsys):
    folder, _, _ = kaggle_folder
    out = tmp_path / "run"
    args = ["train", "--data", str(folder), "--out", str(out), "--epochs", "1", "--batch-size", "8"]
    assert cli.main(args) == 0
    assert len(Run(out).history()) == 1
    assert cli.main(args[:-2] + ["--batch-size", "16"]) == 2
    assert "holds a run with batch_size=8, not 16" in capsys.readouterr().err
    assert cli.main(args[:-4] + ["--epochs", "2", "--batch-size", "8"]) == 0  # more epochs: resumes
    assert [r["epoch"] for r in Run(out).history()] == [1.0, 2.0]


def test_scoring_another_keras_file_in_a_run_writes_its_own_files_and_leaves_the_runs(tmp_path, kaggle_folder,
                                                                                      monkeypatch):
    folder, _, _ = kaggle_folder
    monkeypatch.setenv("FER_DATA", str(folder))
    run = Run(tmp_path / "run")
    assert cli.main(["train", "--out", str(run.root), "--epochs", "1", "--batch-size", "8"]) == 0
    assert cli.main(["predict", str(run.root), "--split", "private"]) == 0
    shutil.copy(run.model_file, run.root / "copy.keras")
    before = snapshot(run.root)
    assert cli.main(["evaluate", str(run.root / "copy.keras")]) == 0
    assert cli.main(["predict", str(run.root / "copy.keras"), "--split", "private"]) == 0
    after = snapshot(run.root)
    assert {k: v for k, v in after.items() if k in before} == before, "the run's own results are untouched"
    assert set(after) - set(before) == {"copy.metrics.json", "copy.predictions.npz", "copy.submission.csv"}
    assert Run.of_model(run.root / "copy.keras").metrics() == run.metrics()


def test_missing_model_file_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["predict", str(tmp_path / "nope"), "x.png"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nope'}: no such model file" in err
    assert len(err.strip().splitlines()) == 1



def test_array_batches_cover_every_row_once_per_epoch_and_reshuffle():
    from fer_core.data.splits import Split
    from fer_core.training.pipeline import ArrayBatches, augmenter

    images, labels = make_faces(50)
    split = Split(images, labels, np.arange(50))
    batches = ArrayBatches(split, 16, shuffle=True, seed=0)
    assert len(batches) == 4
    x, y = batches[0]
    assert x.shape == (16, 48, 48, 1) and x.dtype == np.float32 and y.dtype == labels.dtype
    first = np.concatenate([batches[i][1] for i in range(len(batches))])
    order = batches.order.copy()
    assert sorted(order.tolist()) == list(range(50)) and len(first) == 50
    batches.on_epoch_end()
    assert sorted(batches.order.tolist()) == list(range(50)) and not np.array_equal(order, batches.order)
    plain = ArrayBatches(split, 16)
    np.testing.assert_array_equal(plain[3][0][..., 0], images[48:].astype(np.float32))
    moved = ArrayBatches(split, 50, augment=augmenter(TrainConfig(seed=1)))[0]
    assert moved[0].shape == (50, 48, 48, 1) and not np.array_equal(moved[0][..., 0], images)
    np.testing.assert_array_equal(moved[1], labels)


def test_crop_windows_are_centered_for_scoring_and_random_per_image_for_training():
    from fer_core.training.pipeline import crop_windows

    images = np.arange(3 * 48 * 48, dtype=np.float32).reshape(3, 48, 48, 1)
    np.testing.assert_array_equal(crop_windows(images, 40, None), images[:, 4:44, 4:44])
    random = crop_windows(images, 40, np.random.default_rng(0))
    assert random.shape == (3, 40, 40, 1)
    offsets = [divmod(int(r[0, 0, 0] - i * 48 * 48), 48) for i, r in enumerate(random)]
    assert all(0 <= t <= 8 and 0 <= s <= 8 for t, s in offsets) and len(set(offsets)) > 1
    for i, (t, s) in enumerate(offsets):
        np.testing.assert_array_equal(random[i], images[i, t:t + 40, s:s + 40])


def test_random_erasing_blanks_a_patch_of_about_the_asked_share_of_images():
    from fer_core.training.pipeline import augmenter

    erase = augmenter(TrainConfig(flip=False, rotation=0, shift=0, zoom=0, erase=0.5))
    faces = np.full((400, 48, 48, 1), 128.0, np.float32)
    changed = (np.asarray(erase(faces, training=True)) != 128).any(axis=(1, 2, 3)).mean()
    assert 0.4 < changed < 0.6


def test_sgd_weight_decay_shrinks_weights_by_rate_times_decay_outside_the_momentum():
    import keras

    from fer_core.training.build import make_optimizer

    optimizer = make_optimizer(TrainConfig(optimizer="sgd", schedule="constant", learning_rate=0.1,
                                           weight_decay=0.01), steps_per_epoch=1)
    weight = keras.Variable(np.full((3,), 2.0, np.float32))
    for _ in range(3):  # zero gradients: only the decay moves the weight, and no momentum builds up from it
        optimizer.apply_gradients([(keras.ops.zeros((3,)), weight)])
    np.testing.assert_allclose(np.asarray(weight), 2.0 * (1 - 0.1 * 0.01) ** 3, rtol=1e-6)


def test_label_smoothing_is_applied_once_by_the_loss(kaggle_folder):
    from fer_core.data.dataset import load_fer2013
    from fer_core.training.build import new_model
    from fer_core.training.pipeline import make_dataset

    folder, _, _ = kaggle_folder
    train = load_fer2013(folder)["train"]
    config = TrainConfig(label_smoothing=0.2, normalization="none")
    model = new_model(config, train, steps_per_epoch=1)
    x, y = next(iter(make_dataset(train, 8, one_hot=True)))
    x, y = np.asarray(x), np.asarray(y)
    np.testing.assert_array_equal(y, np.eye(7, dtype=np.float32)[train.labels[:8]])
    p = model.predict(x, verbose=0)
    target = 0.8 * y + 0.2 / 7  # (1 - s) one-hot + s / K
    expected = -(target * np.log(np.clip(p, 1e-7, 1.0))).sum(axis=1).mean()
    assert float(model.compute_loss(x=x, y=y, y_pred=p)) == pytest.approx(expected, rel=1e-4)


def test_new_options_are_checked_and_runs_saved_before_them_still_resume(tmp_path, kaggle_folder):
    for bad, message in (({"crop": 50}, "--crop 50"), ({"erase": 1.5}, "--erase 1.5"),
                         ({"label_smoothing": -0.1}, "--label-smoothing -0.1"),
                         ({"erase": 0.5, "augment": False}, "--erase 0.5: acts only with --augment"),
                         ({"rotation": 5.0, "augment": False}, "--rotation 5.0: acts only with --augment"),
                         ({"flip": False, "augment": False}, "--no-flip: acts only with --augment"),
                         ({"warmup_epochs": 1.0, "schedule": "constant"}, "--warmup-epochs 1.0: acts only with "
                                                                           "--schedule cosine"),
                         ({"teacher_weight": 0.3}, "--teacher-weight 0.3: acts only with --teacher")):
        with pytest.raises(FerError, match=message):
            TrainConfig(**bad).check()
    folder, _, _ = kaggle_folder
    out = tmp_path / "old"
    assert cli.main(["train", "--data", str(folder), "--out", str(out), "--epochs", "1", "--batch-size", "8"]) == 0
    saved = json.loads((out / "config.json").read_text())
    for key in ("crop", "erase", "label_smoothing"):
        del saved[key]  # as written before these options existed
    (out / "config.json").write_text(json.dumps(saved))
    assert cli.main(["train", "--data", str(folder), "--out", str(out), "--epochs", "2", "--batch-size", "8"]) == 0
    assert [r["epoch"] for r in Run(out).history()] == [1.0, 2.0]


def test_a_crop_run_with_smoothing_and_erasing_saves_a_whole_face_model(tmp_path, kaggle_folder, capsys):
    folder, images, _ = kaggle_folder
    out = tmp_path / "vgg"
    args = ["train", "--data", str(folder), "--out", str(out), "--model", "vgg", "--crop", "40", "--erase", "0.5",
            "--label-smoothing", "0.1", "--optimizer", "sgd", "--learning-rate", "0.01", "--warmup-epochs", "0.5",
            "--epochs", "1", "--batch-size", "8", "--precision", "float32"]  # one epoch: the best model is the checkpoint
    assert cli.main(args) == 0
    assert "public accuracy" in capsys.readouterr().out
    model = load_model(out)
    assert model.inputs[0].shape[1:] == (48, 48, 1)
    last = json.loads((out / "checkpoint" / "state.json").read_text())["checkpoint"]
    checkpoint = load_model(out / "checkpoint" / last, contract=False)  # a training model: it takes 40x40 crops
    assert checkpoint.inputs[0].shape[1:] == (40, 40, 1)
    faces = images[:4, :, :, None].astype(np.float32)
    np.testing.assert_allclose(model.predict(faces, verbose=0), checkpoint.predict(faces[:, 4:44, 4:44], verbose=0),
                               atol=1e-5)


@pytest.mark.slow
def test_calibrate_keeps_new_batch_norm_statistics_only_when_publictest_rises(killed_and_resumed, tmp_path, capsys,
                                                                              monkeypatch):
    run = Run(tmp_path / "copy")
    shutil.copytree(killed_and_resumed["run"].root, run.root)
    monkeypatch.setenv("FER_CACHE", killed_and_resumed["env"]["FER_CACHE"])
    before_bytes, before_metrics = run.model_file.read_bytes(), run.metrics()
    assert cli.main(["calibrate", str(run.root), "--faces", "512", "--data", str(killed_and_resumed["data"])]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("public accuracy ") and "with BatchNorm statistics of 512 Training faces" in line
    before, after = (float(v) for v in line.split("public accuracy ")[1].split(" with")[0].split(" -> "))
    assert before == pytest.approx(before_metrics["accuracy"], abs=1e-5)
    if after > before:
        assert "kept" in line and run.metrics()["accuracy"] == pytest.approx(after, abs=1e-5)
        assert run.model_file.read_bytes() != before_bytes
    else:
        assert "not kept" in line and run.model_file.read_bytes() == before_bytes
    assert cli.main(["calibrate", str(run.root), "--faces", "0"]) == 2


@pytest.mark.parametrize("validation", ["public", "0.5"])
def test_a_kept_calibration_is_the_bar_a_longer_run_must_clear_when_chosen_on_publictest(tmp_path, kaggle_folder,
                                                                                         monkeypatch, validation):
    from fer_core.training import precise_bn

    folder, _, _ = kaggle_folder
    run = Run(tmp_path / "run")
    args = ["train", "--data", str(folder), "--out", str(run.root), "--batch-size", "8", "--precision", "float32",
            "--validation", validation]
    assert cli.main([*args, "--epochs", "1"]) == 0
    dataset, best = load_fer2013(folder), run.state()["best"]
    calls = iter(range(2))  # scored wrong before the calibration, right after it: the calibration is kept

    def predict(model, images):
        right = next(calls) == 1
        return np.eye(7, dtype=np.float32)[(dataset["public"].labels + (0 if right else 1)) % 7]

    monkeypatch.setattr(precise_bn, "predict_proba", predict)
    assert precise_bn.calibrate_run(run, dataset, faces=8) == (0.0, 1.0, True)
    kept = run.model_file.read_bytes()
    assert run.state()["best"] == (1.0 if validation == "public" else best)
    monkeypatch.undo()
    assert cli.main([*args, "--epochs", "2"]) == 0
    if validation == "public":
        assert run.model_file.read_bytes() == kept, "no epoch beats 1.0: the calibrated model stays"


def _moving_statistics(model) -> list[np.ndarray]:
    import keras

    return [w.numpy() for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
            for w in (layer.moving_mean, layer.moving_variance)]


def test_precise_bn_validates_and_saves_the_best_epoch_with_re_estimated_statistics(tmp_path, kaggle_folder):
    from fer_core.evaluation.scores import predict_proba
    from fer_core.training.precise_bn import precise_batch_norm, sample_faces

    folder, _, _ = kaggle_folder
    dataset = load_fer2013(folder)
    public, faces = dataset["public"], sample_faces(dataset["train"].images, 16, seed=0)
    for precise in (16, 0):
        out = tmp_path / f"precise-{precise}"
        args = ["train", "--data", str(folder), "--out", str(out), "--epochs", "2", "--batch-size", "8",
                "--precision", "float32", "--precise-bn", str(precise)]
        assert cli.main(args) == 0
        history = Run(out).history()
        assert all({"val_accuracy", "val_loss"} <= set(row) for row in history)
        model = load_model(out)
        best = max(row["val_accuracy"] for row in history)
        accuracy = float((predict_proba(model, public.images).argmax(1) == public.labels).mean())
        assert accuracy == pytest.approx(best, abs=1e-6)  # the recorded validation is the saved model's
        saved = _moving_statistics(model)
        precise_batch_norm(model, faces)
        fixed_point = all(np.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(saved, _moving_statistics(model)))
        assert fixed_point == bool(precise), "saved statistics are the precise ones over those faces (only then)"
    with pytest.raises(FerError, match="--precise-bn -1"):
        TrainConfig(precise_bn=-1).check()


@pytest.mark.slow
def test_calibrate_last_epoch_takes_the_final_checkpoints_weights_or_leaves_the_model(killed_and_resumed, tmp_path,
                                                                                      capsys, monkeypatch):
    import shutil

    import keras

    from fer_core.models import fused  # noqa: F401  (the checkpoint's layers)

    run = Run(tmp_path / "copy")
    shutil.copytree(killed_and_resumed["run"].root, run.root)
    monkeypatch.setenv("FER_CACHE", killed_and_resumed["env"]["FER_CACHE"])
    before_bytes = run.model_file.read_bytes()
    args = ["calibrate", str(run.root), "--faces", "512", "--last-epoch", "--data", str(killed_and_resumed["data"])]
    assert cli.main(args) == 0
    line = capsys.readouterr().out.strip()
    assert "(last epoch's weights)" in line
    checkpoint = keras.models.load_model(run.checkpoint_dir / run.state()["checkpoint"], compile=False)
    trained = [w for w in checkpoint.weights if "moving" not in w.path]
    if "; kept" in line:
        saved = [w for w in load_model(run.root).weights if "moving" not in w.path]
        assert len(saved) == len(trained)
        assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(saved, trained))
    else:
        assert run.model_file.read_bytes() == before_bytes
    shutil.rmtree(run.checkpoint_dir)
    assert cli.main(args) == 2
    assert "no checkpoint to calibrate" in capsys.readouterr().err


def quick_train(folder, *extra: str) -> list[str]:
    """``fer train`` argv for one float32 epoch in batches of 8 on the fixture ``folder``, then ``extra``."""
    return ["train", "--data", str(folder), "--epochs", "1", "--batch-size", "8", "--precision", "float32", *extra]


def test_init_starts_a_run_from_a_trained_models_weights_and_refuses_another_architecture(tmp_path, kaggle_folder, capsys):
    folder, _, _ = kaggle_folder
    base = quick_train(folder)
    assert cli.main([*base, "--out", str(tmp_path / "first")]) == 0
    still = ["--learning-rate", "1e-12"]  # the second runs' steps change no weight visibly
    assert cli.main([*base, *still, "--out", str(tmp_path / "warm"), "--init", str(tmp_path / "first")]) == 0
    assert cli.main([*base, *still, "--out", str(tmp_path / "cold")]) == 0
    kernels = {name: load_model(tmp_path / name).get_layer("conv3").get_weights()[0]
               for name in ("first", "warm", "cold")}
    np.testing.assert_allclose(kernels["warm"], kernels["first"], atol=1e-6)
    assert np.abs(kernels["cold"] - kernels["first"]).max() > 1e-4, "without --init the run starts from random weights"
    capsys.readouterr()
    assert cli.main([*base, "--model", "vgg", "--out", str(tmp_path / "vgg"), "--init", str(tmp_path / "first")]) == 2
    assert "--init model has no layer 'conv1_1'" in capsys.readouterr().err
    assert cli.main([*base, "--out", str(tmp_path / "none"), "--init", str(tmp_path / "missing.keras")]) == 2
    assert "missing.keras: no such model file" in capsys.readouterr().err
    assert not (tmp_path / "vgg").exists() and not (tmp_path / "none").exists(), "a refused run writes nothing"


def test_init_refuses_a_model_whose_input_normalization_differs(tmp_path, kaggle_folder, capsys):
    folder, _, _ = kaggle_folder
    base = quick_train(folder)
    assert cli.main([*base, "--normalization", "none", "--out", str(tmp_path / "raw")]) == 0
    capsys.readouterr()
    assert cli.main([*base, "--out", str(tmp_path / "std"), "--init", str(tmp_path / "raw")]) == 2
    err = capsys.readouterr().err
    assert "--init model normalizes its input with 'none', this run with 'standardize'" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "std").exists()
    assert cli.main([*base, "--normalization", "none", "--out", str(tmp_path / "raw2"),
                     "--init", str(tmp_path / "raw")]) == 0


def test_restart_refuses_to_delete_the_init_or_teacher_model_it_reads(tmp_path, kaggle_folder, capsys):
    folder, _, _ = kaggle_folder
    out = tmp_path / "run"
    base = quick_train(folder, "--out", str(out))
    assert cli.main(base) == 0
    before = snapshot(out)
    for option in ("--init", "--teacher"):
        capsys.readouterr()
        assert cli.main([*base, option, str(out), "--restart"]) == 2
        err = capsys.readouterr().err
        assert f"the {option} model is one of the files --restart deletes" in err and len(err.strip().splitlines()) == 1
        assert snapshot(out) == before, "a refused restart removes nothing"


def test_a_folder_holding_a_model_without_a_checkpoint_is_refused_unless_restart(tmp_path, kaggle_folder, capsys):
    """A shipped model or an ensemble has no checkpoint: training there would overwrite it, so it is refused."""
    folder, _, _ = kaggle_folder
    out = tmp_path / "shipped"
    base = quick_train(folder, "--out", str(out))
    assert cli.main(base) == 0
    shutil.rmtree(out / "checkpoint")  # as assets/models/seed is shipped
    before = snapshot(out)
    capsys.readouterr()
    assert cli.main(base) == 2
    err = capsys.readouterr().err
    assert f"{out}: holds a model.keras but no checkpoint to resume it from" in err
    assert len(err.strip().splitlines()) == 1 and snapshot(out) == before, "nothing is written"
    with pytest.raises(FerError, match="no checkpoint to resume it from"):  # the library refuses it too
        train(TrainConfig(data=str(folder), out=str(out), epochs=1, batch_size=8, precision="float32"))
    assert snapshot(out) == before
    assert cli.main([*base, "--restart"]) == 0 and (out / "checkpoint" / "state.json").is_file()


def test_a_restart_whose_new_model_cannot_be_built_deletes_nothing(tmp_path, kaggle_folder, capsys):
    folder, _, _ = kaggle_folder
    base = quick_train(folder)
    assert cli.main([*base, "--out", str(tmp_path / "other")]) == 0  # standardizes its input
    out = tmp_path / "run"
    assert cli.main([*base, "--out", str(out)]) == 0
    before = snapshot(out)
    capsys.readouterr()
    bad = ["--normalization", "none", "--init", str(tmp_path / "other")]
    assert cli.main([*base, "--out", str(out), "--restart", *bad]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "normalizes its input" in err, err
    assert snapshot(out) == before, "the old run is kept"


def test_a_finished_run_run_again_trains_nothing_and_keeps_its_config(tmp_path, kaggle_folder, capsys):
    folder, _, _ = kaggle_folder
    run = Run(tmp_path / "run")
    base = ["train", "--data", str(folder), "--out", str(run.root), "--batch-size", "8", "--precision", "float32"]
    assert cli.main([*base, "--epochs", "2"]) == 0
    config, history = run.config_file.read_text(), run.history()
    capsys.readouterr()
    assert cli.main([*base, "--epochs", "1"]) == 0
    assert f"{run.root}: already trained 2 epochs (asked for 1); nothing to train" in capsys.readouterr().err
    assert run.config_file.read_text() == config and run.history() == history


@pytest.mark.parametrize("first, then", [("mixed_bfloat16", "float32"), ("float32", "mixed_bfloat16")])
def test_a_resume_trains_in_the_asked_precision_with_the_optimizer_state_carried_over(tmp_path, kaggle_folder,
                                                                                       first, then):
    from fer_core.training.resume import in_precision

    folder, images, _ = kaggle_folder
    run = Run(tmp_path / "run")
    base = ["train", "--data", str(folder), "--out", str(run.root), "--batch-size", "8", "--optimizer", "adam"]
    assert cli.main([*base, "--epochs", "1", "--precision", first]) == 0
    checkpoint = keras.models.load_model(run.checkpoint_dir / run.state()["checkpoint"], safe_mode=True)
    assert checkpoint.get_layer("conv1").compute_dtype == ("bfloat16" if first == "mixed_bfloat16" else "float32")
    converted = in_precision(checkpoint, then)
    assert converted.get_layer("conv1").compute_dtype == ("bfloat16" if then == "mixed_bfloat16" else "float32")
    assert converted.get_layer("softmax").compute_dtype == "float32"
    for mine, saved in zip(converted.optimizer.variables, checkpoint.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(saved))
    assert int(converted.optimizer.iterations) == 3  # 21 faces in batches of 8
    faces = images[:4, :, :, None].astype(np.float32)
    np.testing.assert_allclose(converted.predict(faces, verbose=0), checkpoint.predict(faces, verbose=0), atol=0.05)
    assert cli.main([*base, "--epochs", "2", "--precision", then]) == 0
    resumed = keras.models.load_model(run.checkpoint_dir / run.state()["checkpoint"], safe_mode=True)
    assert resumed.get_layer("conv1").compute_dtype == converted.get_layer("conv1").compute_dtype
    assert int(resumed.optimizer.iterations) == 6, "the step count went on from the checkpoint's"


def test_a_new_best_model_takes_the_old_ones_scores_with_it_until_it_is_scored(tmp_path, kaggle_folder, monkeypatch):
    """A finished run made longer: each better epoch replaces model.keras, and metrics.json / predictions.npz
    (written when training ends) must not stand for it meanwhile, nor after a kill before the end."""
    from fer_core.training import loop

    folder, _, _ = kaggle_folder
    config = TrainConfig(data=str(folder), out=str(tmp_path / "run"), epochs=1, batch_size=8, precision="float32")
    run = loop.train(config)
    assert run.metrics_file.is_file() and run.predictions_file.is_file()
    run.state_file.write_text(json.dumps({**run.state(), "best": -1.0}))  # so the next epoch is a new best
    before = run.model_file.read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "evaluate_run", killed)
    with pytest.raises(KeyboardInterrupt):
        loop.train(dataclasses.replace(config, epochs=2))
    assert run.model_file.read_bytes() != before
    assert not run.metrics_file.exists() and not run.predictions_file.exists()


def test_an_extension_killed_before_its_first_epoch_resumes_on_the_longer_schedule(tmp_path, kaggle_folder):
    """``fer train --epochs 3`` on a 1-epoch run saves config.json saying 3 before epoch 2 ends; killed then, the
    same command must still train epochs 2-3 on the 3-epoch cosine, not past the end of the 1-epoch one (rate 0)."""
    folder, _, _ = kaggle_folder
    base = ["train", "--data", str(folder), "--batch-size", "8", "--precision", "float32", "--learning-rate", "0.01"]
    assert cli.main([*base, "--epochs", "3", "--out", str(tmp_path / "straight")]) == 0
    killed = Run(tmp_path / "killed")
    assert cli.main([*base, "--epochs", "1", "--out", str(killed.root)]) == 0
    killed.config_file.write_text(json.dumps({**killed.config(), "epochs": 3}))  # what the kill left
    assert cli.main([*base, "--epochs", "3", "--out", str(killed.root)]) == 0
    rates = {name: [r["learning_rate"] for r in Run(tmp_path / name).history()] for name in ("straight", "killed")}
    assert rates["straight"][1] > 1e-3
    np.testing.assert_allclose(rates["killed"][1:], rates["straight"][1:], rtol=1e-6)  # epoch 1 ran on its own


def _with_votes(folder):
    """Random FER+ votes beside the fixture's CSV (35 labeled rows); returns them, ``int (35, 10)``."""
    from tests.data.test_ferplus import random_votes, votes_csv

    votes = random_votes(35)
    (folder / "fer2013new.csv").write_text(votes_csv(votes))
    return votes


@pytest.mark.parametrize("mode", ["ferplus", "blend"])
def test_vote_targets_reach_the_loss_as_given(kaggle_folder, mode):
    from fer_core.data.dataset import load_fer2013
    from fer_core.evaluation.label_noise import vote_targets
    from fer_core.training.build import new_model
    from fer_core.training.pipeline import make_dataset

    folder, _, _ = kaggle_folder
    _with_votes(folder)
    train = load_fer2013(folder)["train"]
    config = TrainConfig(targets=mode, label_smoothing=0.3 if mode == "blend" else 0.0, normalization="none")
    targets = vote_targets(train.labels, train.votes, mode, config.label_smoothing)
    model = new_model(config, train, steps_per_epoch=1)
    x, y = next(iter(make_dataset(train, 8, targets=targets)))
    x, y = np.asarray(x), np.asarray(y)
    np.testing.assert_allclose(y, targets[:8])
    p = model.predict(x, verbose=0)
    expected = -(y * np.log(np.clip(p, 1e-7, 1.0))).sum(axis=1).mean()  # no uniform smoothing on top
    assert float(model.compute_loss(x=x, y=y, y_pred=p)) == pytest.approx(expected, rel=1e-4)


def test_a_run_on_vote_targets_trains_and_a_source_without_votes_is_refused(tmp_path, kaggle_folder, capsys):
    folder, _, _ = kaggle_folder
    args = ["train", "--data", str(folder), "--out", str(tmp_path / "run"), "--targets", "ferplus", "--epochs", "1",
            "--batch-size", "8", "--precision", "float32", "--no-augment"]
    assert cli.main(args) == 2
    assert "--targets ferplus needs FER+ votes for the Training faces" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    _with_votes(folder)
    assert cli.main(args) == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["targets"] == "ferplus"
    assert cli.main([a if a != "ferplus" else "blend" for a in args]) == 2
    assert "--targets blend moves --label-smoothing" in capsys.readouterr().err


def test_a_loss_that_becomes_nan_stops_the_run_and_keeps_the_last_good_epoch(tmp_path):
    from fer_core.training.callbacks import RunRecorder
    from fer_core.training.loop import _diverged_error
    from tests.models.test_models import tiny_model

    images, labels = make_faces(21)
    x = images[..., None].astype(np.float32)
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    run = Run(tmp_path / "run")
    recorder = RunRecorder(run, [], -1.0, images=len(x), epochs=3)
    blow_up = keras.callbacks.LearningRateScheduler(lambda epoch, rate: 1e-3 if epoch == 0 else 1e30)
    model.fit(x, labels, batch_size=4, epochs=3, validation_data=(x[:7], labels[:7]), callbacks=[blow_up, recorder],
              verbose=0)
    assert recorder.diverged is not None and recorder.diverged.startswith("the training loss became")
    assert " in epoch 2, batch " in recorder.diverged, "stopped inside epoch 2, not at its end or later"
    assert run.state()["epoch"] == 1 and [r["epoch"] for r in run.history()] == [1]
    load_model(run.root)  # the kept model is epoch 1's: finite probabilities (the contract check would refuse NaN)
    message = str(_diverged_error(run, recorder.diverged, TrainConfig(learning_rate=1e30)))
    assert "model.keras (the best of 1 good epoch) and the checkpoint of epoch 1 are kept" in message
    assert "a lower --learning-rate (this run: 1e+30)" in message and "\n" not in message


def test_fer_train_whose_loss_becomes_nan_exits_2_with_one_line_and_saves_no_nan_model(tmp_path, kaggle_folder,
                                                                                        capsys):
    out = tmp_path / "run"
    args = ["train", "--data", str(kaggle_folder[0]), "--out", str(out), "--epochs", "2", "--batch-size", "8",
            "--learning-rate", "1e30", "--precision", "float32"]
    assert cli.main(args) == 2
    message = one_error_line(capsys.readouterr().err)
    assert message.startswith(f"{out}: the training loss became") or message.startswith(f"{out}: val_loss became")
    assert "no epoch finished cleanly, so no model was saved" in message
    assert not Run(out).model_file.exists() and not Run(out).state_file.exists()


def test_a_second_trainer_in_a_busy_run_folder_is_refused_naming_the_first_and_a_killed_ones_lock_is_taken_over(
        tmp_path, kaggle_folder, capsys):
    from fer_core.runs.lock import run_lock
    from fer_core.training import precise_bn

    out = tmp_path / "run"
    args = ["train", "--data", str(kaggle_folder[0]), "--out", str(out), "--epochs", "1000", "--batch-size", "8",
            "--limit", "8", "--val-limit", "7", "--precision", "float32"]
    first = subprocess.Popen([sys.executable, "-m", "fer_core.cli", *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + EPOCH_SECONDS_LIMIT
        while not Run(out).heartbeat_file.is_file():  # the first trainer is in its first epoch
            assert first.poll() is None, f"the first trainer exited: {first.stderr.read()[-2000:]}"
            assert time.time() < deadline, "the first trainer did not start training in time"
            time.sleep(0.5)
        assert cli.main(args) == 2  # the command asks before TensorFlow loads ...
        message = one_error_line(capsys.readouterr().err)
        assert message.startswith(f"{out}: another process is training or calibrating in this folder "
                                  f"(pid {first.pid} on ")
        assert "fer_core.cli train --data" in message or "cli.py train --data" in message
        while not Run(out).model_file.is_file():  # a first epoch has ended: there is a model to calibrate
            assert first.poll() is None and time.time() < deadline + EPOCH_SECONDS_LIMIT
            time.sleep(0.5)
        assert cli.main(["calibrate", str(out), "--data", str(kaggle_folder[0])]) == 2  # it writes model.keras too
        assert f"pid {first.pid} on " in one_error_line(capsys.readouterr().err)
        with pytest.raises(FerError, match=f"pid {first.pid} on "):
            precise_bn.calibrate_run(Run(out), load_fer2013(kaggle_folder[0]), faces=8)
        config = TrainConfig(data=str(kaggle_folder[0]), out=str(out), epochs=1000, batch_size=8, limit=8, val_limit=7,
                             precision="float32")
        with pytest.raises(FerError, match=f"pid {first.pid} on "):  # ... and train() itself holds the lock
            train(config)
        assert first.poll() is None, "the refused starts left the first trainer alone"
    finally:
        first.kill()  # SIGKILL: no clean-up; the kernel drops its lock
        first.wait()
    assert (out / ".lock").exists(), "a killed trainer leaves its lock file behind"
    with run_lock(out):  # taken over
        assert json.loads((out / ".lock").read_text())["pid"] == os.getpid()
    assert not (out / ".lock").exists()



@pytest.mark.slow
def test_a_damaged_checkpoint_is_named_with_the_way_out_and_killed_writes_are_swept(tmp_path, kaggle_folder, capsys):
    folder, _, _ = kaggle_folder
    out = tmp_path / "run"
    run = Run(out)
    train = ["train", "--data", str(folder), "--out", str(out), "--batch-size", "8", "--epochs"]
    assert cli.main(train + ["2"]) == 0
    assert sorted(p.name for p in run.checkpoint_dir.iterdir()) == ["epoch-0002.keras", "state.json"]
    checkpoint = run.checkpoint_dir / "epoch-0002.keras"
    whole = checkpoint.read_bytes()
    checkpoint.write_bytes(whole[:100_000])  # cut short, as by a full disk or an interrupted copy
    leftover = killed_write(run.model_file, size=0)  # a kill as model.keras was being written: a 0-byte temp
    capsys.readouterr()

    assert cli.main(train + ["3"]) == 2  # no earlier checkpoint: say so, and how to start over
    assert one_error_line(capsys.readouterr().err) == (
        f"{checkpoint}: checkpoint damaged (cut short or not a .keras archive: 100,000 bytes), and no earlier "
        "checkpoint to resume from; run the same command with --restart to train this run from scratch "
        "(its history and models are replaced)")
    assert not leftover.exists()
    before = snapshot(tmp_path)
    files = lambda shot: {path: entry for path, entry in shot.items() if path != "run"}  # noqa: E731
    # The refusal changes no file; the run folder's own mtime moves as the run lock comes and goes.
    assert cli.main(train + ["3"]) == 2 and files(snapshot(tmp_path)) == files(before)

    # An earlier checkpoint, as a kill between writing state.json and removing the older file leaves one
    # (the whole epoch-2 file stands in for it: any loadable checkpoint of an earlier name will do).
    (run.checkpoint_dir / "epoch-0001.keras").write_bytes(whole)
    assert cli.main(train + ["3"]) == 0
    assert (f"warning: {checkpoint}: checkpoint damaged (cut short or not a .keras archive: 100,000 bytes); "
            "resuming from epoch-0001.keras instead (training again from epoch 2)") in capsys.readouterr().err
    assert [row["epoch"] for row in run.history()] == [1, 2, 3]
    assert sorted(p.name for p in run.checkpoint_dir.iterdir()) == ["epoch-0003.keras", "state.json"]

    run.state_file.write_text('{"epoch": 3, "checkp')  # cut short
    assert cli.main(train + ["4"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"{run.state_file}: damaged (not valid JSON") and line.endswith(
        "run the same command with --restart to train this run from scratch (its history and models are replaced)")
    assert cli.main(train + ["1", "--restart"]) == 0
    assert [row["epoch"] for row in run.history()] == [1]
    assert sorted(p.name for p in run.checkpoint_dir.iterdir()) == ["epoch-0001.keras", "state.json"]
