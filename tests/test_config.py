"""The training config: its flags, and run folders saved with options since removed."""

import pytest

from fer_core.config import TrainConfig
from fer_core.errors import FerError
from fer_core.runs import Run, write_json

REMOVED = {"blur": 1.5, "deblur": 2.8}  # in the config.json of runs saved before these options were removed


def test_fer_train_help_lists_no_removed_option(capsys):
    from fer_core.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = capsys.readouterr().out
    assert "--normalization" in help_text and "per_image" in help_text
    assert not any(f"--{name}" in help_text for name in REMOVED)


def test_a_run_saved_with_removed_options_resumes_and_still_refuses_a_real_change(tmp_path):
    from fer_core.train import _check_same_config

    config = TrainConfig(out=str(tmp_path), normalization="per_image", epochs=3)
    write_json(Run(tmp_path).config_file, {**config.to_dict(), **REMOVED})
    _check_same_config(Run(tmp_path), config)  # the removed keys are ignored
    with pytest.raises(FerError, match="holds a run with batch_size=64, not 16"):
        _check_same_config(Run(tmp_path), TrainConfig(out=str(tmp_path), normalization="per_image", batch_size=16))


def test_the_ablation_table_reads_runs_saved_with_removed_options(tmp_path):
    from fer_core.report import ablation_runs

    config = {**TrainConfig(epochs=2, augment=False).to_dict(), **REMOVED}
    write_json(Run(tmp_path / "standardize-noaug").config_file, config)
    groups, skipped = ablation_runs(tmp_path)
    assert not skipped and [entry["epochs"] for entry in groups[("standardize", False)]] == [2]
