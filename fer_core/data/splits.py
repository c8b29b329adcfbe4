"""A split of FER2013 (faces, labels, ids, FER+ votes) and a dataset of splits: what every reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_core.errors import DataError


@dataclass(frozen=True)
class Split:
    """One split of FER2013.

    Attributes:
        images: ``uint8 (N, 48, 48)``, raw pixels 0..255.
        labels: ``int64 (N,)`` in 0..6 (``EMOTIONS`` order), or ``None`` if unlabeled.
        ids: ``int64 (N,)``, the sample ids (Kaggle submission ids for PrivateTest).
        votes: ``uint8 (N, 10)`` FER+ vote counts in :data:`fer_core.data.ferplus.VOTE_COLUMNS` order
            (a row of zeros: no votes for that face), or ``None`` when the split has no votes.
    """

    images: np.ndarray
    labels: np.ndarray | None
    ids: np.ndarray
    votes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)

    @property
    def labeled(self) -> bool:
        return self.labels is not None

    def take(self, n: int) -> "Split":
        """The first ``n`` samples (row order is already shuffled in FER2013)."""
        labels = None if self.labels is None else self.labels[:n]
        votes = None if self.votes is None else self.votes[:n]
        return Split(self.images[:n], labels, self.ids[:n], votes)


@dataclass(frozen=True)
class Dataset:
    """The splits found at a source: any of ``train``, ``public``, ``private``."""

    source: Path
    splits: dict[str, Split] = field(default_factory=dict)
    votes_file: Path | None = None

    def __getitem__(self, name: str) -> Split:
        if name not in self.splits:
            found = ", ".join(self.splits) or "none"
            raise DataError(f"{self.source}: no '{name}' split in this dataset (found: {found})")
        return self.splits[name]

    def __contains__(self, name: str) -> bool:
        return name in self.splits

    def labeled(self, name: str) -> Split | None:
        """The split ``name`` if it is here and has labels, else ``None``."""
        split = self.splits.get(name)
        return split if split is not None and split.labeled else None

    def describe(self) -> str:
        """One line: ``FER2013 at `PATH`: train 28,709, public 3,589, private 3,589``."""
        sizes = ", ".join(f"{name} {len(split):,}" for name, split in self.splits.items())
        return f"FER2013 at `{self.source}`: {sizes}"
