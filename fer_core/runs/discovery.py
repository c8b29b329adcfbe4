"""Finding runs and shipped models (the dashboard's pickers): where to look, and what counts as a run."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from fer_core.paths import MODEL_FILE, model_from_env, runs_from_env
from fer_core.runs.folder import Run

RUN_FILES = ("config.json", "history.csv", "heartbeat.json", MODEL_FILE, "checkpoint")  # any one makes a run
Folders = list[tuple[str, Path]]  # (kind, folder): kind "shipped" or "run"
DEFAULT_MODEL = "seed"  # the folder of the model the dashboard opens on, unless FER_MODEL names another


def search_folders(root: str | Path, cwd: str | Path | None = None, env: Mapping[str, str] | None = None) -> Folders:
    """Where runs are looked for, in order: ``ROOT/assets/models`` (``"shipped"``), then ``ROOT/runs``,
    ``CWD/runs`` and ``$FER_RUNS`` (:func:`fer_core.paths.runs_from_env`; ``"run"``). A folder may not exist.

    Args:
        root: the project folder; cwd: default the current directory; env: default ``os.environ``.
    """
    root, cwd = Path(root), Path.cwd() if cwd is None else Path(cwd)
    extra = runs_from_env(env)
    folders = [("shipped", root / "assets" / "models"), ("run", root / "runs"), ("run", cwd / "runs")]
    return folders + ([("run", extra)] if extra else [])


def subfolders(folder: str | Path) -> list[Path]:
    """The folders directly inside ``folder``, sorted by path (empty when ``folder`` is not a folder)."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _candidates(folders: Folders) -> Iterator[tuple[str, Path]]:
    """``(kind, subfolder)`` of every searched folder in order, each folder once (a second path to it,
    e.g. ``ROOT/runs`` seen again as ``CWD/runs`` or through a link, is skipped)."""
    seen: set[Path] = set()
    for kind, folder in folders:
        for sub in subfolders(folder):
            if sub.resolve() not in seen:
                seen.add(sub.resolve())
                yield kind, sub


def find_models(folders: Folders) -> dict[str, str]:
    """Every ``*/model.keras`` under ``folders`` (:func:`search_folders`), in search order:
    ``{resolved model path: "name (kind)"}``."""
    return {
        str(Run(sub).model_file.resolve()): f"{sub.name} ({kind})"
        for kind, sub in _candidates(folders)
        if Run(sub).model_file.is_file()
    }


def find_runs(folders: Folders) -> dict[str, Path]:
    """Runs with a ``metrics.json`` or ``history.csv`` (for comparing): ``{name: resolved folder}``;
    a name already taken is replaced by the folder's path."""
    found: dict[str, Path] = {}
    for _, sub in _candidates(folders):
        if Run(sub).metrics_file.is_file() or Run(sub).history_file.is_file():
            found[sub.name if sub.name not in found else str(sub)] = sub.resolve()
    return found


def find_all_runs(folders: Folders) -> dict[str, tuple[str, Path]]:
    """Every run folder and shipped model, however far it got (any of :data:`RUN_FILES`):
    ``{"name (kind)": (kind, resolved folder)}``; a label already taken uses the folder's path."""
    found: dict[str, tuple[str, Path]] = {}
    for kind, sub in _candidates(folders):
        if any((sub / name).exists() for name in RUN_FILES):
            label = f"{sub.name} ({kind})"
            found[label if label not in found else f"{sub} ({kind})"] = (kind, sub.resolve())
    return found


def default_model_index(models: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Index in ``models`` (model paths, shipped first) of the one ``$FER_MODEL`` names
    (:func:`fer_core.paths.model_from_env`), else of the first in a folder named :data:`DEFAULT_MODEL`
    (the shipped seed CNN, the report's network), else 0."""
    paths, wanted = [str(path) for path in models], model_from_env(env)
    if wanted is not None and str(wanted) in paths:
        return paths.index(str(wanted))
    return next((i for i, path in enumerate(paths) if Path(path).parent.name == DEFAULT_MODEL), 0)
