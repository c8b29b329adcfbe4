"""``history.csv`` rows: the best epoch, and an ensemble's merged history (one column set per member)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

MEMBER_SEPARATOR = "/"  # an ensemble's history.csv column: ``<member>/<column>`` (``vggw/val_accuracy``)


def best_epoch(history: Sequence[dict]) -> dict | None:
    """The ``history.csv`` row (:meth:`fer_core.runs.Run.history`) with the highest finite ``val_accuracy``.

    Returns:
        That row (the first of equal ones), or ``None`` when no row has a finite ``val_accuracy``.
    """
    rows = [row for row in history if math.isfinite(row.get("val_accuracy", math.nan))]
    return max(rows, key=lambda row: row["val_accuracy"], default=None)


def merge_histories(histories: Mapping[str, Sequence[dict]]) -> list[dict]:
    """One ``history.csv`` for an ensemble: row ``e`` holds epoch ``e`` of every member that has it.

    ``histories`` maps a member name to its :meth:`Run.history` rows; their
    columns become ``<member>/<column>`` (cells of a shorter member stay empty).
    """
    by_epoch: dict[int, dict] = {}
    for name, rows in histories.items():
        for i, row in enumerate(rows):
            epoch = int(row.get("epoch", i + 1))
            cells = {f"{name}{MEMBER_SEPARATOR}{k}": v for k, v in row.items() if k != "epoch"}
            by_epoch.setdefault(epoch, {"epoch": epoch}).update(cells)
    return [by_epoch[e] for e in sorted(by_epoch)]


def split_history(rows: Sequence[dict], single: str = "this run") -> dict[str, list[dict]]:
    """The inverse of :func:`merge_histories`: ``{member: rows}``; a plain run's rows as ``{single: rows}``."""
    members: dict[str, dict[int, dict]] = {}
    for row in rows:
        for key, value in row.items():
            name, separator, column = key.partition(MEMBER_SEPARATOR)
            if separator:
                members.setdefault(name, {}).setdefault(row["epoch"], {"epoch": row["epoch"]})[column] = value
    if not members:
        return {single: list(rows)} if rows else {}
    return {name: list(by_epoch.values()) for name, by_epoch in members.items()}
