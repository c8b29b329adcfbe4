"""The 2x2 normalization x augmentation table and the sentences that read it."""

from fer_core.evaluation.ablation import ablation_findings, ablation_rows
from fer_core.runs.files import write_json
from fer_core.runs.folder import Run

CELLS = {  # (normalization, augment) -> (PublicTest accuracy, last training accuracy)
    ("none", False): (0.60, 0.92),
    ("standardize", False): (0.61, 0.90),
    ("none", True): (0.70, 0.68),
    ("standardize", True): (0.69, 0.66),
}


def _write_cells(folder, cells=CELLS):
    for (norm, aug), (public, train) in cells.items():
        run = Run(folder / f"{norm}-{'aug' if aug else 'noaug'}")
        write_json(run.config_file, {"model": "seed", "normalization": norm, "augment": aug, "epochs": 15})
        run.write_history([{"epoch": 1, "accuracy": train - 0.2, "val_accuracy": public - 0.05},
                           {"epoch": 15, "accuracy": train, "val_accuracy": public}])
        write_json(run.metrics_file, {"accuracy": public, "split": "public"})


def test_rows_carry_ours_the_budget_and_the_last_training_accuracy(tmp_path):
    _write_cells(tmp_path)
    rows = {(r["normalization"], r["augmentation"]): r for r in ablation_rows(tmp_path)}
    assert rows[("none", False)]["ours"] == 0.60 and rows[("none", False)]["train accuracy"] == 0.92
    assert rows[("standardize", True)]["epochs"] == "15" and rows[("standardize", True)]["runs"] == "standardize-aug"


def test_ours_counts_only_publictest_scores_and_takes_the_training_figure_from_the_same_run(tmp_path):
    _write_cells(tmp_path)
    for name, extra, train in (("holdout", {"validation": "0.1"}, 0.99), ("few", {"val_limit": 100}, 0.98),
                               ("public-history", {}, 0.50)):
        run = Run(tmp_path / name)  # none-noaug runs without metrics.json, their history only
        write_json(run.config_file, {"model": "seed", "normalization": "none", "augment": False, "epochs": 15, **extra})
        run.write_history([{"epoch": 15, "accuracy": train, "val_accuracy": 0.75 if extra else 0.55}])
    row = next(r for r in ablation_rows(tmp_path) if (r["normalization"], r["augmentation"]) == ("none", False))
    assert row["ours"] == 0.60 and row["train accuracy"] == 0.92, "a holdout or a PublicTest subset is not PublicTest"
    assert row["runs"] == "none-noaug, public-history"


def test_findings_say_what_each_option_did_and_whether_the_report_agrees(tmp_path):
    _write_cells(tmp_path)
    normalization, augmentation, overfit = ablation_findings(ablation_rows(tmp_path))
    # Report: standardizing +1.8 without augmentation, -0.7 with it; ours +1.0 and -1.0: the same directions.
    assert normalization == ("Standardizing the input changed PublicTest accuracy by +1.0 points without "
                             "augmentation and -1.0 points with augmentation; the report measured +1.8 and -0.7, "
                             "so this agrees with it.")
    assert augmentation.startswith("Augmentation changed PublicTest accuracy by +10.0 points on raw pixels and "
                                   "+8.0 points with standardized input") and augmentation.endswith("agrees with it.")
    assert overfit.endswith("they overfit.") and "0.920 on Training vs 0.600 on PublicTest" in overfit


def test_findings_say_when_augmentation_hurts_and_when_a_cell_is_missing(tmp_path):
    cells = {**CELLS, ("none", True): (0.55, 0.50), ("standardize", True): (0.56, 0.52)}
    _write_cells(tmp_path, cells)
    assert ablation_findings(ablation_rows(tmp_path))[1].endswith("so this disagrees with it.")
    other = tmp_path / "partial"
    _write_cells(other, {k: v for k, v in CELLS.items() if k != ("none", True)})
    findings = ablation_findings(ablation_rows(other))
    assert "+8.0 points with standardized input" in findings[1] and "raw pixels" not in findings[1]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert ablation_findings(ablation_rows(empty))[:2] == [
        "Normalization: not measured yet (a cell of the 2x2 has no scored run).",
        "Augmentation: not measured yet (a cell of the 2x2 has no scored run).",
    ]


def _write_last_epochs(run: Run, accuracies: list[float]) -> None:
    run.write_history([{"epoch": e + 1, "accuracy": 0.6, "val_accuracy": v} for e, v in enumerate([0.5, *accuracies])])


def test_findings_say_whether_the_augmented_cells_converged(tmp_path):
    _write_cells(tmp_path)
    _write_last_epochs(Run(tmp_path / "none-aug"), [0.660, 0.664, 0.662, 0.663, 0.663])
    _write_last_epochs(Run(tmp_path / "standardize-aug"), [0.640, 0.650, 0.655, 0.660, 0.668])
    rows = {(r["normalization"], r["augmentation"]): r for r in ablation_rows(tmp_path)}
    assert abs(rows[("none", True)]["last 5 range"] - 0.004) < 1e-9 and rows[("none", False)]["last 5 range"] is None
    assert ablation_findings(list(rows.values()))[-1] == (
        "Over their last 5 epochs the augmented cells' PublicTest accuracy moved by 0.40 points (on raw pixels) and "
        "2.80 points (with standardized input): still moving (the rule: within 0.5 points).")
    _write_last_epochs(Run(tmp_path / "standardize-aug"), [0.660, 0.661, 0.660, 0.662, 0.660])
    assert ablation_findings(ablation_rows(tmp_path))[-1].endswith(": converged (the rule: within 0.5 points).")


def test_findings_give_the_size_when_an_effect_agrees_in_direction_but_not_in_size(tmp_path):
    # Augmentation +2.0 and +2.0 points against the report's +11.4 and +8.9: 4.0 / 20.3 of its size.
    cells = {**CELLS, ("none", True): (0.62, 0.68), ("standardize", True): (0.63, 0.66)}
    _write_cells(tmp_path, cells)
    normalization, augmentation, _ = ablation_findings(ablation_rows(tmp_path))
    assert augmentation.endswith("so this agrees with it in direction, at 20% of its size.")
    assert normalization.endswith("so this partly agrees with it.")  # no size where the directions differ
