"""Runs that differ in one option -> a comparison table: the seed report's normalization x augmentation 2x2.

A folder of run directories (see :mod:`fer_core.runs`) is grouped by each
run's ``(normalization, augment)``; each cell is set beside the seed report's
public and private accuracy (:data:`SEED_ABLATION`). Used by ``fer report``
(section 2) and the dashboard's comparison page. No Keras, no HTML.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from fer_core.errors import FerError
from fer_core.paths import ablation_from_env
from fer_core.runs.discovery import subfolders
from fer_core.runs.folder import Run
from fer_core.runs.history import best_epoch

# The seed report's 2x2 ablation: (normalization, augment) -> (public, private) accuracy.
SEED_ABLATION: dict[tuple[str, bool], tuple[float, float]] = {
    ("none", False): (0.58066, 0.59152),
    ("standardize", False): (0.59877, 0.60769),
    ("none", True): (0.69434, 0.70409),
    ("standardize", True): (0.68737, 0.69295),
}

Groups = dict[tuple[str, bool], list[dict]]
SETTLED_EPOCHS, SETTLED_POINTS = 5, 0.5  # a cell has converged when PublicTest moved within 0.5 points in its last 5
SMALL_POINTS = 1.0  # an effect under 1 point of PublicTest accuracy is no clear effect either way


def _config_problem(run: Run) -> tuple[dict | None, str | None]:
    """``(config, None)`` for a usable seed-CNN run, else ``(None, why it is skipped)``."""
    if not run.config_file.is_file():
        return None, "no config.json"
    try:
        config = run.config()
    except FerError as exc:
        return None, str(exc)
    if "normalization" not in config or "augment" not in config:
        return None, "config.json lacks normalization or augment"
    if config.get("model", "seed") != "seed":
        return None, f"model {config['model']}, not the seed CNN"
    return config, None


def _scored(run: Run, entry: dict, config: dict) -> dict:
    """``entry`` with the accuracy from ``metrics.json`` (else the best ``val_accuracy`` of ``history.csv``,
    when the run validated on the whole of PublicTest: not on a Training holdout or ``--val-limit`` faces)
    and ``train_accuracy``, the last epoch's training accuracy (when the history has one)."""
    try:
        history = run.history()
    except (ValueError, OSError):
        history = []
    if history and "accuracy" in history[-1]:
        entry = {**entry, "train_accuracy": history[-1]["accuracy"]}
    last = [row["val_accuracy"] for row in history[-SETTLED_EPOCHS:] if "val_accuracy" in row]
    if len(last) == SETTLED_EPOCHS:
        entry = {**entry, "last_range": max(last) - min(last)}
    if run.metrics_file.is_file():
        try:
            metrics = run.metrics()
            return {**entry, "accuracy": float(metrics["accuracy"]), "split": metrics.get("split", "public"),
                    "source": "metrics.json"}
        except (FerError, KeyError, TypeError, ValueError):
            entry = {**entry, "source": "metrics.json unreadable"}
    best = best_epoch(history)
    if best is None:
        return entry
    if config.get("validation", "public") != "public" or config.get("val_limit"):
        return {**entry, "source": "not evaluated (its history.csv validates on other faces than PublicTest)"}
    return {**entry, "accuracy": best["val_accuracy"], "source": "best val_accuracy in history.csv"}


def ablation_runs(folder: str | os.PathLike) -> tuple[Groups, list[str]]:
    """The run directories under ``folder``, grouped by ``(normalization, augment)``.

    Each entry is ``{"name", "accuracy" (float or None), "split", "source", "epochs"}``:
    accuracy from ``metrics.json``, else the best ``val_accuracy`` in
    ``history.csv`` (``source`` says which), else ``None``.

    Returns:
        ``(groups, skipped)``: ``skipped`` names subfolders that are not usable runs, with the reason.

    Raises:
        FerError: when ``folder`` is not a folder.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FerError(f"{root}: no such folder (--ablation expects a folder of run directories)")
    groups: Groups = {}
    skipped = []
    for sub in subfolders(root):
        run = Run(sub)
        config, problem = _config_problem(run)
        if problem:
            skipped.append(f"{sub.name} ({problem})")
            continue
        entry = {"name": sub.name, "accuracy": None, "split": "public", "source": "not evaluated",
                 "epochs": config.get("epochs")}
        key = (str(config["normalization"]), bool(config["augment"]))
        groups.setdefault(key, []).append(_scored(run, entry, config))
    return groups, skipped


def ablation_folder(root: str | os.PathLike, env: Mapping[str, str] | None = None) -> Path | None:
    """The folder of ablation runs: ``$FER_ABLATION`` (:func:`fer_core.paths.ablation_from_env`), else
    ``ROOT/assets/ablation``; ``None`` when that is not a folder. ``env`` defaults to ``os.environ``."""
    folder = ablation_from_env(env) or Path(root) / "assets" / "ablation"
    return folder if folder.is_dir() else None


def ablation_rows(folder: str | os.PathLike) -> list[dict]:
    """The 2x2 normalization x augmentation table as rows, ours beside the seed report's.

    Returns:
        One dict per cell: ``normalization``, ``augmentation`` (bool), ``ours``
        (best PublicTest accuracy among the cell's runs, or ``None``), ``runs``
        (their names), ``epochs`` (their training budgets, as text), and of the run
        that gives ``ours``: ``train accuracy`` (its last epoch's on Training, or
        ``None``) and ``last 5 range`` (how far its PublicTest accuracy moved over
        the last 5 epochs, 0..1; ``None`` with fewer epochs); ``seed public`` and
        ``seed private`` (the report's).
    """
    groups, _ = ablation_runs(folder)
    rows = []
    for (norm, aug), (public, private) in SEED_ABLATION.items():
        entries = [e for e in groups.get((norm, aug), []) if e["accuracy"] is not None and e["split"] == "public"]
        best = max(entries, key=lambda e: e["accuracy"], default={})
        rows.append({
            "normalization": norm,
            "augmentation": aug,
            "ours": best.get("accuracy"),
            "runs": ", ".join(e["name"] for e in entries),
            "epochs": ", ".join(sorted({str(e["epochs"]) for e in entries})),
            "train accuracy": best.get("train_accuracy"),
            "last 5 range": best.get("last_range"),
            "seed public": public,
            "seed private": private,
        })
    return rows


def _effect(ours: dict, option: str) -> str:
    """One sentence: what switching ``option`` on did in our cells against the report's public numbers."""
    other = "normalization" if option == "augmentation" else "augmentation"
    ours_parts, seed_parts, effects = [], [], []
    for row_off, row_on in _pairs(ours, option):
        if _missing(row_off["ours"]) or _missing(row_on["ours"]):
            continue
        mine = 100 * (row_on["ours"] - row_off["ours"])
        report = 100 * (row_on["seed public"] - row_off["seed public"])
        ours_parts.append(f"{mine:+.1f} points {_setting(row_off, other)}")
        seed_parts.append(f"{report:+.1f}")
        effects.append((mine, report))
    if not effects:
        return f"{option.capitalize()}: not measured yet (a cell of the 2x2 has no scored run)."
    verdicts = [_agrees(mine, report) for mine, report in effects]
    verdict = "agrees with" if all(verdicts) else "disagrees with" if not any(verdicts) else "partly agrees with"
    name = "Standardizing the input" if option == "normalization" else "Augmentation"
    return (f"{name} changed PublicTest accuracy by {' and '.join(ours_parts)}; the report measured "
            f"{' and '.join(seed_parts)}, so this {verdict} it{_scale(effects) if all(verdicts) else ''}.")


def _scale(effects: list[tuple[float, float]]) -> str:
    """``" in direction, at N% of its size"`` when effects that agree in sign differ more than twofold in size
    (``effects``: ``(ours, report)`` in points, their sizes summed over the pairs), else ``""``."""
    ours, report = sum(abs(e[0]) for e in effects), sum(abs(e[1]) for e in effects)
    clear = SMALL_POINTS * len(effects)
    if report < clear or ours < clear or 0.5 <= ours / report <= 2:
        return ""
    return f" in direction, at {100 * ours / report:.0f}% of its size"


def _missing(value) -> bool:
    """None or NaN (a table's empty cell)."""
    return value is None or value != value


def _pairs(rows: dict, option: str):
    """(off, on) row pairs for ``option`` ("normalization": none -> standardize; "augmentation": off -> on)."""
    if option == "normalization":
        return [(rows[("none", aug)], rows[("standardize", aug)]) for aug in (False, True)]
    return [(rows[(norm, False)], rows[(norm, True)]) for norm in ("none", "standardize")]


def _setting(row: dict, other: str) -> str:
    if other == "augmentation":
        return "with augmentation" if row["augmentation"] else "without augmentation"
    return "with standardized input" if row["normalization"] == "standardize" else "on raw pixels"


def _agrees(ours: float, report: float) -> bool:
    """Same direction, or both under :data:`SMALL_POINTS` (no clear effect either way)."""
    small = SMALL_POINTS
    return (abs(ours) < small and abs(report) < small) or (ours * report > 0 and abs(ours) >= small)


def ablation_findings(rows: list[dict]) -> list[str]:
    """What normalization and augmentation did, one sentence each, and whether that agrees with the report.

    ``rows`` from :func:`ablation_rows`. A third sentence says whether the cells
    without augmentation overfit (last training accuracy at least 10 points
    above PublicTest): the regime in which the report measured its gain; a fourth
    whether the augmented cells had converged (PublicTest within
    :data:`SETTLED_POINTS` points over their last :data:`SETTLED_EPOCHS` epochs).
    """
    by_cell = {(row["normalization"], row["augmentation"]): row for row in rows}
    findings = [_effect(by_cell, "normalization"), _effect(by_cell, "augmentation")]
    plain = [row for row in rows if not row["augmentation"] and not _missing(row["ours"])
             and not _missing(row["train accuracy"])]
    if plain:
        gaps = ", ".join(f"{row['train accuracy']:.3f} on Training vs {row['ours']:.3f} on PublicTest"
                         f" ({_setting(row, 'normalization')})" for row in plain)
        overfit = all(row["train accuracy"] - row["ours"] >= 0.10 for row in plain)
        findings.append(f"Without augmentation the last epoch reached {gaps}: "
                        f"{'they overfit' if overfit else 'not yet overfitting'}.")
    settled = [row for row in rows if row["augmentation"] and not _missing(row.get("last 5 range"))]
    if settled:
        moves = " and ".join(f"{100 * row['last 5 range']:.2f} points ({_setting(row, 'normalization')})"
                             for row in settled)
        done = all(100 * row["last 5 range"] <= SETTLED_POINTS for row in settled)
        findings.append(f"Over their last {SETTLED_EPOCHS} epochs the augmented cells' PublicTest accuracy moved "
                        f"by {moves}: {'converged' if done else 'still moving'} (the rule: within "
                        f"{SETTLED_POINTS} points).")
    return findings
