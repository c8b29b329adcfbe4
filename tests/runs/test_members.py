"""A new ensemble's members: their source, history rows and training time, read from the folder that holds each."""

import pytest

from fer_core.errors import FerError
from fer_core.runs.files import write_json
from fer_core.runs.folder import ENSEMBLE, Run
from fer_core.runs.history import merge_histories
from fer_core.runs.members import member_record, member_run


def _trained(root, seconds) -> Run:
    run = Run(root)
    run.write_history([{"epoch": e, "val_accuracy": 0.5, "seconds": s} for e, s in enumerate(seconds, 1)])
    return run


def test_a_member_file_belongs_to_the_run_that_holds_it(tmp_path):
    run = tmp_path / "run"
    assert member_run(str(run / "model.keras")).root == run
    assert member_run(str(run / "snapshots" / "epoch-0007.keras")).root == run
    run.mkdir()
    assert member_run(str(run)).root == run


def test_a_plain_member_brings_its_history_and_its_seconds(tmp_path):
    run = _trained(tmp_path / "a", [10.0, 12.5])
    source, history, seconds = member_record(str(run.model_file), None)
    assert source == str(run.model_file)
    assert [row["epoch"] for row in history] == [1, 2]
    assert seconds == 22.5


def test_a_member_of_an_ensemble_keeps_the_source_and_time_that_ensemble_recorded(tmp_path):
    pair = Run(tmp_path / "pair")
    histories = {"a": [{"epoch": 1, "val_accuracy": 0.6, "seconds": 30.0}],
                 "b": [{"epoch": 1, "val_accuracy": 0.4, "seconds": 5.0}, {"epoch": 2, "val_accuracy": 0.5}]}
    write_json(pair.config_file, {"model": ENSEMBLE, "names": ["a", "b"], "members": ["/runs/a", "/runs/b"],
                                  "training_seconds": {"a": 30.0, "b": 7.0}})
    pair.write_history(merge_histories(histories))
    source, history, seconds = member_record(str(pair.model_file), "b")
    assert (source, seconds) == ("/runs/b", 7.0)
    assert [row["val_accuracy"] for row in history] == [0.4, 0.5]
    assert member_record(str(pair.model_file), "c")[0] == f"{pair.model_file} (c)"  # not recorded: named by place


@pytest.mark.parametrize("config", [{"names": "ab", "members": 3}, {"training_seconds": {"a": "slow"}},
                                    {"names": ["a"], "members": ["x"], "training_seconds": ["a"]}])
def test_a_malformed_ensemble_config_is_one_line_naming_the_file(tmp_path, config):
    run = Run(tmp_path / "bad")
    write_json(run.config_file, {"model": ENSEMBLE, **config})
    with pytest.raises(FerError, match="config.json: not the config.json of an ensemble"):
        member_record(str(run.model_file), "a")
