"""A run folder's status and history, from its files alone, half-written ones included."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_core import cli
from fer_core.config import TrainConfig
from fer_core.data.dataset import load_fer2013
from fer_core.errors import FerError
from fer_core.runs.files import remove_dead_temps, write_json
from fer_core.runs.folder import Run
from fer_core.runs.history import merge_histories, split_history
from fer_core.runs.status import run_status
from fer_core.runs.summary import differing_options, format_duration, run_summary, seconds_per_epoch
from fer_core.training.accel import resolve_jit
from fer_core.training.callbacks import epoch_line
from tests.conftest import REPO, one_error_line, snapshot, start_write


def _run(tmp_path, epochs=10, done=None) -> Run:
    run = Run(tmp_path / "run")
    write_json(run.config_file, {"epochs": epochs})
    if done is not None:
        write_json(run.state_file, {"epoch": done, "checkpoint": f"epoch-{done:04d}.keras", "best": 0.5})
        run.write_history([{"epoch": e, "val_accuracy": 0.5} for e in range(1, done + 1)])
    return run


def test_status_follows_the_heartbeat_and_the_checkpoint(tmp_path):
    assert run_status(Run(tmp_path / "nothing")) == "new"
    run = _run(tmp_path, epochs=10, done=3)
    assert run_status(run) == "interrupted"
    write_json(run.heartbeat_file, {"time": time.time(), "every": 5.0, "epoch": 4, "epochs": 10})
    assert run_status(run) == "running"
    assert run_status(run, now=time.time() + 60) == "interrupted"  # killed: the heartbeat went stale
    write_json(run.state_file, {"epoch": 10, "checkpoint": "epoch-0010.keras", "best": 0.6})
    run.heartbeat_file.unlink()
    assert run_status(run) == "finished"


def test_half_written_files_never_raise(tmp_path):
    run = _run(tmp_path, epochs=10, done=2)
    run.heartbeat_file.write_text('{"time": 17')
    run.state_file.write_text("{")
    assert run_status(run) == "interrupted"
    run.config_file.write_text("")
    assert run_status(run) == "interrupted"


def test_history_of_a_resumed_run_keeps_new_columns_and_integer_epochs(tmp_path):
    run = Run(tmp_path)
    run.write_history([{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.5, "images_per_second": 200.0}])
    rows = run.history()
    assert rows == [{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.5, "images_per_second": 200.0}]
    assert run.history_file.read_text().splitlines()[1] == "1,2.0,"
    json.dumps(rows)


def test_an_ensembles_history_keeps_each_members_epochs_and_splits_back(tmp_path):
    seed = [{"epoch": e, "accuracy": 0.1 * e, "val_accuracy": 0.05 * e} for e in (1, 2, 3)]
    vgg = [{"epoch": e, "accuracy": 0.2 * e, "seconds": 9.0} for e in (1, 2)]
    run = Run(tmp_path)
    run.write_history(merge_histories({"seed": seed, "vggw": vgg}))
    rows = run.history()
    assert len(rows) == 3 and rows[2] == {"epoch": 3, "seed/accuracy": 0.1 * 3, "seed/val_accuracy": 0.05 * 3}
    assert split_history(rows) == {"seed": seed, "vggw": vgg}
    assert split_history(seed) == {"this run": seed} and split_history([]) == {}


def test_training_seconds_of_a_run_and_of_an_ensemble_used_as_a_member(tmp_path):
    run = Run(tmp_path / "run")
    _history(run, seconds=(100.0, 80.0, 90.0))
    ens = Run(tmp_path / "ens")
    write_json(ens.config_file, {"model": "ensemble", "training_seconds": {"seed": 270.0, "vggw": 30.5}})
    ens.write_history(merge_histories({"seed": run.history()}))  # seed/seconds columns: no plain "seconds"
    assert run.training_seconds() == 270.0 and ens.training_seconds() == 300.5
    assert Run(tmp_path / "nothing").training_seconds() == 0.0


def test_epoch_line_gives_speed_and_time_left():
    rows = [{"epoch": e, "seconds": s, "images_per_second": 28709 / s} for e, s in ((1, 100.0), (2, 80.0), (3, 90.0))]
    line = epoch_line(rows, 40, 0.61)
    assert line == "epoch 3/40: 90 s, 319 img/s, best validation accuracy 0.6100, about 55 min left"  # 37 x 90 s
    assert format_duration(3 * 3600 + 5 * 60) == "3 h 05 min" and format_duration(40) == "40 s"


def test_one_slow_epoch_does_not_inflate_the_time_left():
    seconds = (82.0, 80.0, 687.0, 88.0, 84.0)  # epoch 3 shared the CPU with a test suite
    rows = [{"epoch": e, "seconds": s, "images_per_second": 28709 / s} for e, s in enumerate(seconds, 1)]
    assert seconds_per_epoch(rows) == pytest.approx(84.0)
    assert epoch_line(rows, 20, 0.6).endswith("about 21 min left")  # 15 x 84 s
    assert seconds_per_epoch([{"epoch": 1}]) is None


def test_jit_is_off_on_a_cpu_unless_asked_for(monkeypatch):
    for gpu in (False, True):
        monkeypatch.setattr("fer_core.training.accel.has_gpu", lambda gpu=gpu: gpu)
        assert resolve_jit("on") is True and resolve_jit("off") is False
        assert resolve_jit("auto") is gpu


# ----------------------------------------------------------------------------- run_summary (Training page)


def _history(run: Run, seconds=(100.0, 80.0, 90.0)) -> None:
    run.write_history(
        [{"epoch": e, "loss": 2.0 / e, "val_accuracy": 0.3 + 0.1 * e, "seconds": s} for e, s in enumerate(seconds, 1)]
    )


def test_summary_of_a_running_run_gives_speed_time_left_and_best(tmp_path):
    run = Run(tmp_path / "run")
    write_json(run.config_file, {**TrainConfig().to_dict(), "out": "runs/x", "epochs": 10, "augment": False})
    _history(run)
    write_json(run.state_file, {"epoch": 3, "checkpoint": "epoch-0003.keras", "best": 0.6})
    write_json(
        run.heartbeat_file, {"time": time.time(), "every": 5.0, "epoch": 4, "epochs": 10, "batch": 50, "batches": 100}
    )
    summary = run_summary(run)
    assert (summary.status, summary.epoch, summary.current, summary.epochs) == ("running", 3, 4, 10)
    assert summary.epoch_text == "epoch 4 of 10" and summary.progress == pytest.approx(0.35)
    assert summary.seconds_per_epoch == pytest.approx(90.0)
    assert summary.time_left == pytest.approx(6.5 * 90.0)  # 10 - 3.5 epochs to go
    assert summary.best_accuracy == pytest.approx(0.6)
    assert summary.options == {"epochs": 10, "augment": False} and summary.options_text == "epochs=10, augment=False"
    assert summary.model == "seed" and not summary.has_model and not summary.problems


def test_summary_of_a_finished_run_has_no_time_left(tmp_path):
    run = _run(tmp_path, epochs=3)
    _history(run)
    summary = run_summary(run)  # no state.json (a shipped model): the history reached the epochs
    assert (summary.status, summary.epoch_text, summary.progress, summary.time_left) == (
        "finished",
        "epoch 3 of 3",
        1.0,
        None,
    )
    assert summary.seconds_per_epoch == pytest.approx(90.0)


def test_summary_of_an_ensemble_is_finished_with_its_own_accuracy(tmp_path):
    run = Run(tmp_path / "ens")
    write_json(run.config_file, {"model": "ensemble", "members": ["a", "b"], "names": ["seed", "vggw"], "tta": "ten"})
    run.write_history(merge_histories({"seed": [{"epoch": 1, "val_accuracy": 0.6}], "vggw": [{"epoch": 1}]}))
    assert run_summary(run).status == "new"  # no model written yet
    run.model_file.write_bytes(b"model")
    write_json(run.metrics_file, {"accuracy": 0.71, "split": "public"})
    summary = run_summary(run)
    assert (summary.status, summary.epoch_text, summary.progress, summary.best_accuracy, summary.time_left) == (
        "finished", "2 members", 1.0, 0.71, None)
    assert summary.options_text == "members=seed + vggw, tta=ten"
    run.metrics_file.write_text("{")  # half-written: no accuracy, named in problems
    summary = run_summary(run)
    assert summary.best_accuracy is None and summary.problems


def test_summary_of_a_half_written_run_never_raises(tmp_path):
    run = _run(tmp_path, epochs=10)
    _history(run, seconds=(100.0, 80.0, 90.0, 70.0))
    run.history_file.write_text(run.history_file.read_text() + "5,0.4,0.7")  # the 5th line cut mid-write
    run.state_file.parent.mkdir(parents=True, exist_ok=True)
    run.state_file.write_text('{"epoch": ')
    run.heartbeat_file.write_text("")
    assert [row["epoch"] for row in run.history()] == [1, 2, 3, 4]
    summary = run_summary(run)
    assert (summary.status, summary.epoch, summary.epochs) == ("interrupted", 4, 10)
    assert summary.time_left == pytest.approx(6 * 85.0) and summary.best_accuracy == pytest.approx(0.7)
    assert {p.split(":")[0] for p in summary.problems} == {"state.json", "heartbeat.json"}
    run.config_file.write_text("[1, 2]")
    summary = run_summary(run)
    assert summary.epochs is None and summary.progress is None and summary.time_left is None
    assert summary.epoch_text == "4 epochs" and summary.options is None and summary.options_text == "—"
    write_json(run.config_file, TrainConfig().to_dict())
    assert run_summary(run).options_text == "defaults"


@pytest.mark.parametrize(
    "text, epochs",
    [
        ("epoch,loss\n1,2.0\n2,1.", [1, 2]),  # cut inside a number that still reads as one
        ("epoch,loss\n1,2.0\n2", [1]),  # cut before the last cell
        ("epoch,loss\n1,2.0\n2,1.5,9\n", [1]),  # a cell too many
        ("epoch,loss\n1,2.0\n2,1e", [1]),  # cut inside an exponent
        ("epoch,lo", []),  # cut inside the header
        ("", []),
    ],
)
def test_history_skips_a_cut_or_garbled_line(tmp_path, text, epochs):
    run = Run(tmp_path)
    run.history_file.write_text(text)
    assert [row["epoch"] for row in run.history()] == epochs


def test_summary_of_nothing_and_of_a_bare_model(tmp_path):
    assert run_summary(tmp_path / "nothing").status == "new"
    (tmp_path / "model.keras").write_bytes(b"")
    summary = run_summary(tmp_path)
    assert summary.status == "finished" and summary.has_model and summary.epoch_text == "0 epochs"


def test_differing_options_skip_paths_and_unset_unknown_options():
    config = {**TrainConfig().to_dict(), "data": "/x.csv", "out": "runs/a", "seed": 2, "gone": 0.0, "other": 1.5}
    assert differing_options(config) == {"seed": 2, "other": 1.5}


# ----------------------------------------------------------------------------- finding runs (the dashboard's pickers)


def _project(tmp_path):
    """A project with a shipped model ``zeta``, runs ``alpha`` (model, cut history), ``beta`` (config only)
    and a file that is not a run; an outside ``$FER_RUNS`` with ``gamma`` (metrics only)."""
    from fer_core.runs.files import write_text

    root, outside = tmp_path / "project", tmp_path / "outside"
    write_text(root / "assets" / "models" / "zeta" / "model.keras", "")
    write_text(root / "runs" / "alpha" / "model.keras", "")
    write_text(root / "runs" / "alpha" / "history.csv", "epoch,val_accuracy\n1,0.3\n2,0.4\n3")
    write_json(root / "runs" / "beta" / "config.json", {"epochs": 2})
    write_text(root / "runs" / "notes.txt", "not a run")
    write_json(outside / "gamma" / "metrics.json", {"accuracy": 0.5})
    return root, {"FER_RUNS": str(outside)}


def test_search_folders_shipped_first_then_runs_then_fer_runs(tmp_path, monkeypatch):
    from fer_core.paths import runs_from_env
    from fer_core.runs.discovery import search_folders

    root, env = _project(tmp_path)
    assert search_folders(root, tmp_path, env) == [
        ("shipped", root / "assets" / "models"),
        ("run", root / "runs"),
        ("run", tmp_path / "runs"),
        ("run", tmp_path / "outside"),
    ]
    assert len(search_folders(root, tmp_path, {"FER_RUNS": "  "})) == 3  # empty: no fourth folder
    monkeypatch.setenv("FER_RUNS", "~/elsewhere")
    assert runs_from_env() == search_folders(root)[-1][1] == Path.home() / "elsewhere"
    monkeypatch.delenv("FER_RUNS")
    assert runs_from_env() is None


def test_find_models_runs_and_all_runs_in_search_order(tmp_path):
    from fer_core.runs.discovery import find_all_runs, find_models, find_runs, search_folders

    root, env = _project(tmp_path)
    folders = search_folders(root, root, env)  # the current directory is the project: runs/ seen once
    models = find_models(folders)
    assert list(models.values()) == ["zeta (shipped)", "alpha (run)"]
    assert list(models) == [str((root / p / "model.keras").resolve()) for p in ("assets/models/zeta", "runs/alpha")]
    assert find_runs(folders) == {
        "alpha": (root / "runs" / "alpha").resolve(),
        "gamma": (tmp_path / "outside" / "gamma").resolve(),
    }
    everything = find_all_runs(folders)
    assert list(everything) == ["zeta (shipped)", "alpha (run)", "beta (run)"]  # metrics.json alone: not training
    assert everything["beta (run)"] == ("run", (root / "runs" / "beta").resolve())
    assert find_models(search_folders(tmp_path / "nothing", tmp_path / "nothing", {})) == {}


def test_a_run_with_the_same_name_elsewhere_is_listed_by_its_path(tmp_path):
    from fer_core.runs.discovery import find_all_runs, find_runs, search_folders

    root, env = _project(tmp_path)
    write_json(tmp_path / "outside" / "alpha" / "metrics.json", {"accuracy": 0.6})
    write_json(tmp_path / "outside" / "alpha" / "config.json", {"epochs": 2})
    folders = search_folders(root, root, env)
    assert list(find_runs(folders)) == ["alpha", str(tmp_path / "outside" / "alpha"), "gamma"]
    assert f"{tmp_path / 'outside' / 'alpha'} (run)" in find_all_runs(folders)


def test_contents_of_a_run_with_a_cut_history_and_a_broken_config(tmp_path):
    root, _ = _project(tmp_path)
    run = Run(root / "runs" / "alpha")
    history = [{"epoch": 1, "val_accuracy": 0.3}, {"epoch": 2, "val_accuracy": 0.4}]  # the cut third line left out
    assert run.contents() == {"config": {}, "history": history, "metrics": {}}
    run.config_file.write_text("{")
    contents = run.contents()
    assert contents["history"] == history and contents["config"] == {}
    assert contents["config_error"].startswith(f"{run.config_file}: not valid JSON")
    assert "metrics_error" not in contents


def test_a_history_or_json_that_is_not_utf8_is_one_line_naming_it(tmp_path):
    run = _run(tmp_path, done=2)
    run.history_file.write_bytes(b"epoch,val_accuracy\n1,0.5\n2,\xff\n")
    with pytest.raises(FerError, match=re.escape(f"{run.history_file}: not a UTF-8 CSV")):
        run.history()
    contents = run.contents()
    assert contents["history"] == [] and contents["history_error"].startswith(f"{run.history_file}: not a UTF-8")
    assert contents["config"] == {"epochs": 10}, "the other files are still read"
    assert run_summary(run.root).problems == ["history.csv: unreadable"]
    run.config_file.write_bytes(b'{"epochs": "\xff"}')
    with pytest.raises(FerError, match=re.escape(f"{run.config_file}: not UTF-8 text (byte 12)")):
        run.config()


def test_default_model_index_follows_fer_model(tmp_path):
    from fer_core.runs.discovery import default_model_index, find_models, search_folders

    root, env = _project(tmp_path)
    models = list(find_models(search_folders(root, root, env)))
    assert default_model_index(models, {}) == 0
    assert default_model_index(models, {"FER_MODEL": str(root / "runs" / "alpha")}) == 1  # a run folder
    assert default_model_index(models, {"FER_MODEL": str(root / "runs" / "alpha" / "model.keras")}) == 1
    assert default_model_index(models, {"FER_MODEL": str(root / "runs" / "beta")}) == 0  # no model there


def test_default_model_is_the_shipped_seed_unless_fer_model_names_another(tmp_path):
    from fer_core.runs.discovery import default_model_index, find_models, search_folders
    from fer_core.runs.files import write_text

    root, env = _project(tmp_path)
    for name in ("best", "seed"):
        write_text(root / "assets" / "models" / name / "model.keras", "")
    write_text(root / "runs" / "seed" / "model.keras", "")  # a run of the same name comes after the shipped one
    models = list(find_models(search_folders(root, root, env)))
    assert [Path(m).parent.name for m in models[:3]] == ["best", "seed", "zeta"]
    assert default_model_index(models, {}) == 1
    assert default_model_index(models, {"FER_MODEL": str(root / "assets" / "models" / "best")}) == 0
    assert default_model_index(models, {"FER_MODEL": str(root / "runs" / "alpha")}) == 3


def test_ablation_folder_from_fer_ablation_or_the_shipped_one(tmp_path):
    from fer_core.evaluation.ablation import ablation_folder

    root, _ = _project(tmp_path)
    assert ablation_folder(root, {}) is None
    (root / "assets" / "ablation").mkdir()
    assert ablation_folder(root, {}) == root / "assets" / "ablation"
    assert ablation_folder(root, {"FER_ABLATION": str(tmp_path / "outside")}) == tmp_path / "outside"
    assert ablation_folder(root, {"FER_ABLATION": str(tmp_path / "gone")}) is None


# ----------------------------------------------------------------------------- writes that fail, writes cut short


@pytest.fixture
def tiny_model(tmp_path) -> Path:
    """A small ``.keras`` file keeping the saved-model contract (48x48x1 pixels in, 7 probabilities out)."""
    from tests.vis.conftest import tiny_cnn

    path = tmp_path / "tiny" / "model.keras"
    path.parent.mkdir()
    tiny_cnn().save(path)
    return path


def _fails_cleanly(tmp_path, capsys, argv: list[str]) -> str:
    """Run ``fer ARGV``: it exits 2 with one line and changes nothing under ``tmp_path``; return the line."""
    before = snapshot(tmp_path)
    assert cli.main(argv) == 2
    assert snapshot(tmp_path) == before
    return one_error_line(capsys.readouterr().err)


def test_predict_refuses_split_options_beside_image_files(tmp_path, tiny_model, capsys):
    photo = tmp_path / "face.png"
    Image.fromarray(np.full((48, 48), 128, np.uint8)).save(photo)
    for option in ("--out", "--data"):
        assert cli.main(["predict", str(tiny_model), str(photo), option, str(tmp_path / "x")]) == 2
        assert one_error_line(capsys.readouterr().err) == (f"{option} goes with --split: for image files fer predict "
                                                          "prints each face's top 3 emotions")
    assert not (tmp_path / "x").exists()


def test_an_out_that_cannot_be_written_is_one_line_naming_it(tmp_path, kaggle_folder, tiny_model, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = str(kaggle_folder[0])
    load_fer2013(folder)  # parsed and cached before the snapshots: what fails below is the write alone
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file where a folder is expected")
    predict = ["predict", str(tiny_model), "--split", "private", "--data", folder, "--out"]
    assert _fails_cleanly(tmp_path, capsys, predict + [str(tmp_path)]) == f"{tmp_path}: cannot write (is a folder, not a file)"
    under = blocker / "sub" / "submission.csv"
    assert _fails_cleanly(tmp_path, capsys, predict + [str(under)]) == \
        f"{under}: cannot write ({blocker} is a file, not a folder)"
    ensemble = ["ensemble", str(tiny_model), "--tta", "none", "--out", str(blocker)]
    assert _fails_cleanly(tmp_path, capsys, ensemble) == \
        f"{blocker / 'model.keras'}: cannot write ({blocker} is a file, not a folder)"
    train = ["train", "--data", folder, "--epochs", "1", "--batch-size", "8", "--out", str(blocker)]
    assert _fails_cleanly(tmp_path, capsys, train) == f"{blocker}: cannot create the folder (a file is in the way)"


def _can_write_in(folder: Path) -> bool:
    try:
        (folder / "probe").touch()
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


def _lock(folder: Path) -> str:
    """Make ``folder`` unwritable; return the reason the error line must give. ``chmod`` stops every user but
    root (as CI runs), so as root the folder is made immutable (``chattr +i``), which stops root too."""
    folder.chmod(0o555)
    if not _can_write_in(folder):
        return "permission denied"
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        if not _can_write_in(folder):
            return "operation not permitted"
    pytest.skip("neither chmod nor chattr +i stops writes here (the out-under-a-file case covers refusal)")


def _unlock(folder: Path) -> None:
    if shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    folder.chmod(0o755)


def test_a_read_only_out_folder_is_one_line(tmp_path, kaggle_folder, tiny_model, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    try:
        reason = _lock(locked)
        out = locked / "submission.csv"
        argv = ["predict", str(tiny_model), "--split", "private", "--data", str(kaggle_folder[0]), "--out", str(out)]
        load_fer2013(kaggle_folder[0])
        assert _fails_cleanly(tmp_path, capsys, argv) == f"{out}: cannot write ({reason})"
    finally:
        _unlock(locked)


def test_a_write_cut_short_by_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, tiny_model):
    """A file-size limit (``RLIMIT_FSIZE``) stands in for a full disk: the OS refuses the write
    part way through, as with ``ENOSPC`` (here ``EFBIG``)."""
    resource = pytest.importorskip("resource")
    limit = 4096  # below the size of the model file
    assert tiny_model.stat().st_size > limit
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (%d, %d)); "
            "from fer_core.cli import main; sys.exit(main(sys.argv[1:]))" % (limit, limit))
    out = tmp_path / "ensemble"
    before = snapshot(tmp_path)
    done = subprocess.run([sys.executable, "-c", code, "ensemble", str(tiny_model), "--tta", "none", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                          timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert one_error_line(done.stderr) == (f"{out / 'model.keras'}: cannot write (file too large for the file system "
                                           "or the process's file-size limit)")
    assert snapshot(tmp_path) == before  # no temporary file, no empty folder


def test_a_cache_that_cannot_be_written_is_skipped_with_a_warning(tmp_path, kaggle_folder, capsys, monkeypatch):
    blocker = tmp_path / "cache-file"
    blocker.write_text("FER_CACHE names this file")
    monkeypatch.setenv("FER_CACHE", str(blocker))
    before = snapshot(tmp_path)
    assert cli.main(["data", "--data", str(kaggle_folder[0])]) == 0
    out, err = capsys.readouterr()
    assert [line.split()[:2] for line in out.splitlines()[2:5]] == [["train", "21"], ["public", "14"], ["private", "5"]]
    assert re.fullmatch(rf"warning: cache not written: {re.escape(str(blocker))}/fer2013-\w+\.npz: cannot write "
                        rf"\({re.escape(str(blocker))} is a file, not a folder\); going on without it\n", err)
    assert snapshot(tmp_path) == before


def test_a_temporary_file_is_kept_while_written_and_removed_once_its_writer_is_killed(tmp_path):
    target = tmp_path / "cache" / "fer2013-0123.npz"
    process, temp = start_write(target)
    try:
        assert temp.parent == target.parent and temp.stat().st_size == 1 << 20
        assert remove_dead_temps(target.parent) == [] and temp.is_file()  # its writer is alive
    finally:
        process.kill()
        process.wait()
    (target.parent / "notes.txt").write_text("not a temporary file")
    assert remove_dead_temps(target.parent) == [temp]
    assert sorted(p.name for p in target.parent.iterdir()) == ["notes.txt"]
