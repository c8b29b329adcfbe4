"""The training config: its flags, their ranges, and run folders saved with options since removed."""

import dataclasses

import pytest

from fer_core import cli
from fer_core.config import TrainConfig
from fer_core.errors import FerError
from fer_core.runs.files import write_json
from fer_core.runs.folder import Run
from tests.conftest import files_under, one_error_line

REMOVED = {"blur": 1.5, "deblur": 2.8}  # in the config.json of runs saved before these options were removed


def test_fer_train_help_lists_no_removed_option(capsys):
    from fer_core.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    help_text = capsys.readouterr().out
    assert "--normalization" in help_text and "per_image" in help_text
    assert not any(f"--{name}" in help_text for name in REMOVED)


def test_a_run_saved_with_removed_options_resumes_and_still_refuses_a_real_change(tmp_path):
    from fer_core.training.resume import check_same_config

    config = TrainConfig(out=str(tmp_path), normalization="per_image", epochs=3)
    write_json(Run(tmp_path).config_file, {**config.to_dict(), **REMOVED})
    check_same_config(Run(tmp_path), config)  # the removed keys are ignored
    with pytest.raises(FerError, match="holds a run with batch_size=64, not 16"):
        check_same_config(Run(tmp_path), TrainConfig(out=str(tmp_path), normalization="per_image", batch_size=16))


def test_a_run_saved_with_a_setting_its_partner_ignored_resumes_without_it(tmp_path):
    """Before such settings were refused, --no-augment --rotation 5 was saved as given; it acted on nothing."""
    from fer_core.training.resume import check_same_config

    old = TrainConfig(out=str(tmp_path), augment=False, epochs=3)
    write_json(Run(tmp_path).config_file, {**old.to_dict(), "rotation": 5.0, "teacher_weight": 0.3})
    assert old.inert("rotation") and old.inert("teacher_weight") and not old.inert("epochs")
    check_same_config(Run(tmp_path), old)  # resumes
    with pytest.raises(FerError, match="holds a run with augment=False, not True"):
        check_same_config(Run(tmp_path), TrainConfig(out=str(tmp_path), epochs=3))


def test_the_ablation_table_reads_runs_saved_with_removed_options(tmp_path):
    from fer_core.evaluation.ablation import ablation_runs

    config = {**TrainConfig(epochs=2, augment=False).to_dict(), **REMOVED}
    write_json(Run(tmp_path / "standardize-noaug").config_file, config)
    groups, skipped = ablation_runs(tmp_path)
    assert not skipped and [entry["epochs"] for entry in groups[("standardize", False)]] == [2]


BAD_NUMBERS = {  # fer train option and value -> the one line
    "--learning-rate nan": "--learning-rate nan: expected a finite number > 0",
    "--learning-rate inf": "--learning-rate inf: expected a finite number > 0",
    "--learning-rate 0": "--learning-rate 0.0: expected a finite number > 0",
    "--warmup-epochs -1": "--warmup-epochs -1.0: expected a finite number >= 0",
    "--weight-decay -0.0001": "--weight-decay -0.0001: expected a finite number >= 0",
    "--limit -5": "--limit -5: expected an integer >= 0",
    "--val-limit -1": "--val-limit -1: expected an integer >= 0",
    "--seed -1": "--seed -1: expected an integer >= 0 and < 2147483648",
    "--rotation nan": "--rotation nan: expected a finite number >= 0 and <= 180",
    "--zoom 1": "--zoom 1.0: expected a finite number >= 0 and < 1",
    "--crop -3": "--crop -3: expected an integer >= 0 and < 48",
}


@pytest.mark.parametrize("option", list(BAD_NUMBERS))
def test_a_number_that_is_not_finite_or_out_of_range_stops_fer_train_before_anything_is_written(
        tmp_path, monkeypatch, capsys, kaggle_folder, option):
    monkeypatch.chdir(tmp_path)  # the default run folder, runs/..., would land here
    before = files_under(tmp_path)
    assert cli.main(["train", "--data", str(kaggle_folder[0]), "--epochs", "1", *option.split()]) == 2
    assert one_error_line(capsys.readouterr().err) == BAD_NUMBERS[option]
    assert files_under(tmp_path) == before


def test_every_numeric_option_has_a_range():
    numeric = [f for f in dataclasses.fields(TrainConfig)
               if isinstance(f.default, (int, float)) and not isinstance(f.default, bool)]
    assert len(numeric) > 10
    assert [f.name for f in numeric if f.metadata.get("bounds") is None] == []
    TrainConfig().check()  # every default lies in its range


def test_a_malformed_flag_is_one_line_not_the_whole_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "--epochs", "abc"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "fer train: error: argument --epochs: invalid int value: 'abc' (see fer train --help)"
