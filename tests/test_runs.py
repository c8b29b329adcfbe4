"""A run folder's status and history, from its files alone, half-written ones included."""

import json
import time

from fer_core.accel import resolve_jit
from fer_core.runs import Run, run_status, write_json
from fer_core.train import epoch_line, format_duration


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


def test_epoch_line_gives_speed_and_time_left():
    rows = [{"epoch": e, "seconds": s, "images_per_second": 28709 / s} for e, s in ((1, 100.0), (2, 80.0), (3, 90.0))]
    line = epoch_line(rows, 40, 0.61)
    assert line == "epoch 3/40: 90 s, 319 img/s, best validation accuracy 0.6100, about 55 min left"  # 37 x 90 s
    assert format_duration(3 * 3600 + 5 * 60) == "3 h 05 min" and format_duration(40) == "40 s"


def test_jit_is_off_on_a_cpu_unless_asked_for():
    assert resolve_jit("on") is True and resolve_jit("off") is False
    assert resolve_jit("auto") is False  # no GPU on the test machines
