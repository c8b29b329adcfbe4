"""Resuming a run after a kill: the same settings, the last checkpoint that loads, and ``--restart``.

Every finished epoch writes a full checkpoint (model and optimizer state) and then
``checkpoint/state.json``, which names it; :func:`resume` loads it so training continues at the next epoch.
"""

from __future__ import annotations

import re
import shutil
import sys
import zipfile
from pathlib import Path

import keras

from fer_core.config import RESUMABLE_CHANGES, TrainConfig
from fer_core.errors import FerError
from fer_core.runs.folder import Run
from fer_core.models.builders import flat_layers
from fer_core.models.inference import policy_config
from fer_core.training.accel import resolve_jit, resolve_precision
from fer_core.training.build import learning_rate


def check_same_config(run: Run, config: TrainConfig) -> None:
    """Raise FerError when ``config`` changes a setting of the saved run that a resume must keep.

    Only today's :class:`TrainConfig` fields are compared: a key the saved ``config.json`` has and
    the config no longer has (an option since removed) is ignored, and so is a setting that acts on
    nothing in this run (:meth:`TrainConfig.inert`: a run saved with ``--no-augment --rotation 5``,
    before that was refused, resumes without ``--rotation``).
    """
    saved = run.config()
    for key, value in config.to_dict().items():
        before = saved.get(key, TrainConfig.default(key))  # a key saved runs predate had its default
        if key not in RESUMABLE_CHANGES and before != value and not config.inert(key):
            raise FerError(
                f"{run.root}: holds a run with {key}={before!r}, not {value!r}; "
                "use another --out or delete the folder to start over"
            )


RESTART_HINT = "run the same command with --restart to train this run from scratch (its history and models are replaced)"
CHECKPOINT_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)  # what a damaged .keras file raises


def resume(run: Run, config: TrainConfig, steps_per_epoch: int) -> tuple[keras.Model | None, int, list[dict], float]:
    """Load the last checkpoint if the run has one: (model, epochs done, history, best).

    Raises:
        FerError: one line naming a damaged ``state.json`` or checkpoint (when no earlier
            checkpoint loads either) and the way out, ``--restart``.
    """
    state = _checkpoint_state(run) if run.config_file.is_file() else None
    if state is None:
        return None, 0, [], -1.0
    check_same_config(run, config)
    model, done = _load_checkpoint(run, state)
    model = in_precision(model, resolve_precision(config.precision))
    model.jit_compile = resolve_jit(config.jit)  # the checkpoint keeps the setting it was compiled with
    if config.schedule == "cosine":
        # The cosine schedule spans the run, so it is rebuilt from the command's --epochs on every resume: the
        # checkpoint's own may predate a longer --epochs (an extension killed before its first epoch finished
        # has config.json already saying the new length), and past its end the rate would be 0.
        model.optimizer._learning_rate = learning_rate(config, steps_per_epoch)
    history = [r for r in run.history() if r["epoch"] <= done]
    return model, done, history, float(state["best"])


def in_precision(model: keras.Model, policy: str) -> keras.Model:
    """A compiled checkpoint computing in ``policy``: itself when it does, else rebuilt in it with its weights
    and optimizer state (step count and moments: variables are float32 under either policy).

    A checkpoint keeps the dtype policy it was saved with, so without this a run begun in bfloat16 on a GPU
    would go on in bfloat16 on a CPU without bf16 instructions (about 10 times slower) whatever ``--precision``
    says.
    """
    if next(layer for layer in flat_layers(model) if layer.weights).dtype_policy.name == policy:
        return model
    clone = model.__class__.from_config(policy_config(model.get_config(), policy))
    clone.set_weights(model.get_weights())
    optimizer = model.optimizer.__class__.from_config(model.optimizer.get_config())
    clone.compile(optimizer=optimizer, loss=model.loss, metrics=["accuracy"], jit_compile=model.jit_compile)
    optimizer.build(clone.trainable_variables)
    for mine, saved in zip(optimizer.variables, model.optimizer.variables, strict=True):
        mine.assign(saved)
    return clone


def _checkpoint_state(run: Run) -> dict | None:
    """``checkpoint/state.json`` with its ``epoch`` (int), ``checkpoint`` (a file name) and ``best`` (float) checked."""
    try:
        state = run.state()
        if state is not None:
            state = {**state, "epoch": int(state["epoch"]), "checkpoint": Path(state["checkpoint"]).name,
                     "best": float(state["best"])}
    except (FerError, KeyError, TypeError, ValueError) as exc:
        reason = f"lacks {exc}" if isinstance(exc, KeyError) else str(exc).removeprefix(f"{run.state_file}: ")
        raise FerError(f"{run.state_file}: damaged ({reason}); {RESTART_HINT}") from None
    return state


def _checkpoint_epoch(path: Path) -> int | None:
    """The epoch of a checkpoint file named ``epoch-XXXX.keras``, or None for another name."""
    match = re.fullmatch(r"epoch-(\d+)\.keras", path.name)
    return int(match[1]) if match else None


def _load_checkpoint(run: Run, state: dict) -> tuple[keras.Model, int]:
    """The checkpoint ``state`` names and its epoch; when that file is missing or damaged, the newest
    earlier one that loads (with a warning: the epochs after it are trained again)."""
    named = run.checkpoint_dir / state["checkpoint"]
    epochs = {path: _checkpoint_epoch(path) for path in run.checkpoint_dir.glob("epoch-*.keras")}
    earlier = sorted((p for p, e in epochs.items() if e is not None and e < state["epoch"]), key=epochs.get, reverse=True)
    problem = None
    for path in [named, *earlier]:
        try:
            model = keras.models.load_model(path, safe_mode=True)
        except CHECKPOINT_ERRORS as exc:
            problem = problem or _checkpoint_problem(path, exc)
            continue
        if path == named:
            return model, state["epoch"]
        epoch = epochs[path]
        print(f"warning: {named}: {problem}; resuming from {path.name} instead (training again from epoch "
              f"{epoch + 1})", file=sys.stderr)
        return model, epoch
    raise FerError(f"{named}: {problem}, and no earlier checkpoint to resume from; {RESTART_HINT}")


def _checkpoint_problem(path: Path, exc: Exception) -> str:
    """What is wrong with a checkpoint that did not load, in a few words."""
    if not path.is_file():
        return "checkpoint missing"
    if not zipfile.is_zipfile(path):
        return f"checkpoint damaged (cut short or not a .keras archive: {path.stat().st_size:,} bytes)"
    return f"checkpoint damaged ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"


def _training_outputs(run: Run) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The files and the folders training writes in ``run``: what ``--restart`` removes."""
    return ((run.config_file, run.history_file, run.model_file, run.metrics_file, run.predictions_file,
             run.heartbeat_file), (run.checkpoint_dir, run.snapshot_dir, run.logs_dir))


def clear_training(run: Run, inputs: dict[str, Path] | None = None) -> None:
    """Remove what training wrote in ``run`` (config, history, models, checkpoints, snapshots, logs,
    scores), so ``fer train --restart`` starts it over; other files (a report, a submission) stay.

    Args:
        inputs: the model files the new run reads, by option (``{"--init": path}``): none may be among them.

    Raises:
        FerError: one line naming an input that clearing would delete; nothing is removed then.
    """
    files, folders = _training_outputs(run)
    doomed = {f.resolve() for f in files}
    for option, path in (inputs or {}).items():
        path = Path(path).resolve()
        if path in doomed or any(folder.resolve() in path.parents for folder in folders):
            raise FerError(f"{path}: the {option} model is one of the files --restart deletes in {run.root}; "
                           "copy it out of the run folder first")
    for file in files:
        file.unlink(missing_ok=True)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
