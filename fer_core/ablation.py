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
from fer_core.runs import Run, best_epoch, subfolders

# The seed report's 2x2 ablation: (normalization, augment) -> (public, private) accuracy.
SEED_ABLATION: dict[tuple[str, bool], tuple[float, float]] = {
    ("none", False): (0.58066, 0.59152),
    ("standardize", False): (0.59877, 0.60769),
    ("none", True): (0.69434, 0.70409),
    ("standardize", True): (0.68737, 0.69295),
}

Groups = dict[tuple[str, bool], list[dict]]


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


def _scored(run: Run, entry: dict) -> dict:
    """``entry`` with the accuracy from ``metrics.json``, else the best ``val_accuracy`` of ``history.csv``."""
    if run.metrics_file.is_file():
        try:
            metrics = run.metrics()
            return {**entry, "accuracy": float(metrics["accuracy"]), "split": metrics.get("split", "public"),
                    "source": "metrics.json"}
        except (FerError, KeyError, TypeError, ValueError):
            entry = {**entry, "source": "metrics.json unreadable"}
    try:
        best = best_epoch(run.history())
    except (ValueError, OSError):
        best = None
    if best is not None:
        entry = {**entry, "accuracy": best["val_accuracy"], "source": "best val_accuracy in history.csv"}
    return entry


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
        groups.setdefault(key, []).append(_scored(run, entry))
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
        (their names), ``epochs`` (their training budgets, as text), ``seed
        public`` and ``seed private`` (the report's).
    """
    groups, _ = ablation_runs(folder)
    rows = []
    for (norm, aug), (public, private) in SEED_ABLATION.items():
        entries = [e for e in groups.get((norm, aug), []) if e["accuracy"] is not None]
        rows.append({
            "normalization": norm,
            "augmentation": aug,
            "ours": max((e["accuracy"] for e in entries), default=None),
            "runs": ", ".join(e["name"] for e in entries),
            "epochs": ", ".join(sorted({str(e["epochs"]) for e in entries})),
            "seed public": public,
            "seed private": private,
        })
    return rows
