"""The Training page in streamlit's AppTest: no run, finished runs, a run in progress and half-written run folders."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from test_pages import no_exception, plotly_figures, table_with

from fer_core.runs.summary import differing_options

ROOT = Path(__file__).resolve().parents[2]


def runs_table(at):
    return table_with(at, "progress").set_index("run")


def test_training_page_without_a_run_says_how_to_start_one(open_page, monkeypatch, tmp_path):
    if (ROOT / "runs").is_dir() and any((ROOT / "runs").iterdir()):  # a clean checkout (CI) has none
        pytest.skip("this checkout has runs of its own in runs/")
    monkeypatch.chdir(tmp_path)  # no CWD/runs either
    monkeypatch.setenv("FER_RUNS", str(tmp_path))
    at = open_page("training", model=None)
    no_exception(at)
    assert len(at.info) == 1 and "fer train --out runs/NAME" in at.info[0].value
    table = runs_table(at)
    models = ROOT / "assets" / "models"
    assert list(table.index) == [f"{p.parent.name} (shipped)" for p in sorted(models.glob("*/model.keras"))]
    shipped_history = (models / "seed" / "history.csv").read_text().strip().splitlines()[1:]
    shipped = json.loads((models / "seed" / "config.json").read_text())
    expected = "finished" if len(shipped_history) >= shipped["epochs"] else "interrupted"  # it may stop early
    assert table.loc["seed (shipped)", "status"] == expected
    shown = table.loc["seed (shipped)", "options (not default)"]
    assert all(f"{key}=" in shown for key in differing_options(shipped)), shown  # what the shipped run changed


def test_training_page_shows_a_finished_run_and_opens_it_everywhere(open_page, app_env):
    at = open_page("training")
    no_exception(at)
    assert not at.info
    table = runs_table(at)
    row = table.loc["tiny-b (run)"]
    assert (row["status"], row["epoch"], row["progress"], row["time left"]) == ("finished", "epoch 3 of 3", 1.0, "—")
    assert row["model"] == "tiny" and row["options (not default)"] == "model=tiny, epochs=3, seed=1"
    assert row["per epoch"] == "1 s" and row["best val accuracy"] == pytest.approx(0.30)
    at.selectbox(key="train_run").set_value("tiny-b (run)").run()
    no_exception(at)
    figures = plotly_figures(at)
    assert [f["layout"]["title"]["text"] for f in figures] == ["Loss", "Accuracy"]
    assert all(len(f["data"]) == 2 for f in figures), "training and validation curves"
    at.button(key="train_open").click().run()
    no_exception(at)
    assert at.session_state["model"] == str((Path(app_env["FER_RUNS"]) / "tiny-b" / "model.keras").resolve())
    assert at.sidebar.selectbox(key="model").value == at.session_state["model"]
    assert "The other pages show this model." in [c.value for c in at.caption]


def half_written_runs(folder: Path, finished: Path) -> None:
    """A run in progress with a cut history line, an interrupted one with broken files, one just started."""
    running = folder / "running"
    shutil.copytree(finished, running)
    config = json.loads((running / "config.json").read_text())
    (running / "config.json").write_text(json.dumps({**config, "epochs": 10}))
    (running / "history.csv").write_text((running / "history.csv").read_text() + "4,0.3")  # the 4th epoch cut
    (running / "heartbeat.json").write_text(
        json.dumps({"time": time.time() + 600, "every": 5.0, "epoch": 4, "epochs": 10, "batch": 3, "batches": 10})
    )
    broken = folder / "broken"
    shutil.copytree(finished, broken)
    (broken / "model.keras").unlink()
    (broken / "config.json").write_text('{"epochs": 1')
    (broken / "checkpoint").mkdir()
    (broken / "checkpoint" / "state.json").write_text("")
    (broken / "heartbeat.json").write_text("[")
    (folder / "started").mkdir()
    (folder / "started" / "config.json").write_text(json.dumps({**config, "epochs": 10}))


def test_training_page_reads_half_written_run_folders(open_page, app_env, monkeypatch, tmp_path):
    half_written_runs(tmp_path, Path(app_env["FER_RUNS"]) / "tiny-a")
    monkeypatch.setenv("FER_RUNS", str(tmp_path))
    at = open_page("training", model=None)
    no_exception(at)
    table = runs_table(at)
    running, broken, started = table.loc["running (run)"], table.loc["broken (run)"], table.loc["started (run)"]
    assert (running["status"], running["epoch"]) == ("running", "epoch 4 of 10")
    assert running["progress"] == pytest.approx(0.33)  # 3 epochs and 3 batches of 10 done
    assert running["time left"] == "7 s"  # 6.7 epochs x 1 s
    assert (broken["status"], broken["epoch"]) == ("interrupted", "3 epochs")  # config.json is broken: epochs unknown
    assert broken["options (not default)"] == "—"
    assert (started["status"], started["epoch"], started["per epoch"]) == ("new", "epoch 0 of 10", "—")
    assert at.selectbox(key="train_run").value == "running (run)", "a running run is picked first"
    assert len(plotly_figures(at)) == 2 and any("Refreshes every" in c.value for c in at.caption)
    at.selectbox(key="train_run").set_value("broken (run)").run()
    no_exception(at)
    skipped = [c.value for c in at.caption if c.value.startswith("Skipped")]
    assert len(skipped) == 3, skipped  # config.json, state.json, heartbeat.json
    assert not [b for b in at.button if b.key == "train_open"], "no model.keras: nothing to open"
    at.selectbox(key="train_run").set_value("started (run)").run()
    no_exception(at)
    assert not plotly_figures(at) and any("No finished epoch yet" in c.value for c in at.caption)
