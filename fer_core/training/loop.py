"""The training loop: ``fer train`` loads the data, takes the run lock, builds or resumes the model,
fits it with the run's callbacks, and scores the best model on PublicTest.

The pieces it puts together live beside it: :mod:`~fer_core.training.pipeline` (batches and
augmentation), :mod:`~fer_core.training.build` (model, loss, optimizer),
:mod:`~fer_core.training.callbacks` (what each epoch writes), :mod:`~fer_core.training.resume`
(continuing after a kill), :mod:`~fer_core.training.accel` (precision, XLA, devices).
The saved ``.keras`` files are the same under every Keras backend and load with TensorFlow.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import keras

from fer_core.config import TrainConfig
from fer_core.data.dataset import load_fer2013
from fer_core.data.splits import Dataset, Split
from fer_core.errors import FerError
from fer_core.evaluation.label_noise import vote_targets
from fer_core.evaluation.scores import evaluate_run
from fer_core.paths import model_file
from fer_core.runs.files import make_folder, remove_dead_temps, write_json
from fer_core.runs.folder import Run, check_resumable
from fer_core.runs.lock import run_lock
from fer_core.training.accel import cluster_config, distribution_strategy, is_chief, resolve_precision
from fer_core.training.build import new_model
from fer_core.training.callbacks import Heartbeat, RunRecorder
from fer_core.training.distill import distilled_targets, teacher_probabilities
from fer_core.training.pipeline import augmenter, crop_windows, make_dataset, soft_targets, split_train_validation
from fer_core.training.precise_bn import PreciseValidation, sample_faces
from fer_core.training.resume import clear_training, resume


def _diverged_error(run: Run, reason: str, config: TrainConfig) -> FerError:
    """The one line for a run stopped by a NaN or infinite loss (:class:`RunRecorder`): what happened, what is kept."""
    state = run.state()
    good = state["epoch"] if state else 0
    kept = (f"{run.model_file.name} (the best of {good} good epoch{'s' if good > 1 else ''}) and the checkpoint of "
            f"epoch {good} are kept" if good else "no epoch finished cleanly, so no model was saved")
    return FerError(f"{run.root}: {reason}: training stopped; {kept}; a lower --learning-rate "
                    f"(this run: {config.learning_rate:g}) in a new --out may train")


def _fit(config: TrainConfig, run: Run, train_split: Split, val_split: Split, verbose,
         restart: dict[str, Path] | None = None) -> None:
    """Resume or start the run and fit it. With ``restart`` (the input models by option, see
    :func:`clear_training`) the new model is built first, so a bad option or ``--init`` fails before
    anything of the old run is deleted."""
    steps_per_epoch = -(-len(train_split) // config.batch_size)
    chief = is_chief()
    strategy = distribution_strategy() if keras.config.backend() == "tensorflow" else None
    with strategy.scope() if strategy else contextlib.nullcontext():
        if restart is not None:
            model, done, history, best = new_model(config, train_split, steps_per_epoch), 0, [], -1.0
            if chief:
                clear_training(run, restart)
        else:
            model, done, history, best = resume(run, config, steps_per_epoch)
            if model is None:
                model = new_model(config, train_split, steps_per_epoch)
            elif done >= config.epochs:
                print(f"{run.root}: already trained {done} epochs (asked for {config.epochs}); nothing to train",
                      file=sys.stderr)
                return
            elif done:
                print(f"Resuming {run.root} at epoch {done + 1} of {config.epochs}", file=sys.stderr)
    if chief:
        make_folder(run.root)
        write_json(run.config_file, config.to_dict())
    targets = vote_targets(train_split.labels, train_split.votes, config.targets, config.label_smoothing)
    if config.teacher:
        teacher = teacher_probabilities(config.teacher, train_split.images)
        targets = distilled_targets(targets, teacher, config.teacher_weight)
    train_data = make_dataset(train_split, config.batch_size, shuffle=True, augment=augmenter(config),
                              seed=config.seed + done, crop=config.crop, targets=targets if soft_targets(config) else None)
    val_data = make_dataset(val_split, 256, crop=config.crop, one_hot=soft_targets(config))
    recorder = RunRecorder(run, history, best, chief, images=len(train_split), epochs=config.epochs,
                           snapshots=config.snapshots)
    callbacks = [recorder, Heartbeat(run, config.epochs, steps_per_epoch)] if chief else [recorder]
    if config.precise_bn:
        faces = sample_faces(train_split.images, config.precise_bn, config.seed)
        faces = crop_windows(faces, config.crop, None) if config.crop else faces  # what the training model takes
        callbacks.insert(0, PreciseValidation(faces, val_data))  # first: the recorder sees its val_* logs
    if strategy is not None and cluster_config() is not None:
        from fer_core.training.distributed import fit_distributed

        fit_distributed(model, strategy, train_data, val_data, global_batch=config.batch_size,
                        epochs=config.epochs, initial_epoch=done, callbacks=callbacks)
    else:
        model.fit(
            train_data,
            validation_data=None if config.precise_bn else val_data,  # PreciseValidation validates instead
            epochs=config.epochs,
            initial_epoch=done,
            callbacks=callbacks,
            shuffle=False,  # the dataset shuffles itself
            verbose=(1 if sys.stdout.isatty() else 2) if verbose == "auto" else verbose,
        )
    if recorder.diverged is not None:
        raise _diverged_error(run, recorder.diverged, config)


def train(config: TrainConfig, dataset: Dataset | None = None, verbose: int | str = "auto", restart: bool = False) -> Run:
    """Train (or resume) the run ``config`` describes; evaluate its best model on PublicTest.

    With ``restart``, what an earlier run in the folder trained is removed (:func:`clear_training`)
    once the data has loaded and the new model is built; without it a folder holding a model it
    cannot resume is refused (:func:`check_resumable`). Temporary files that a killed
    write left in the run folder are removed (:func:`fer_core.runs.files.remove_dead_temps`).

    Precision follows ``config.precision`` (see :mod:`fer_core.training.accel`); the
    global Keras dtype policy is restored afterwards. Under ``TF_CONFIG`` every
    worker runs this and only the chief writes the run, holding its lock
    (:func:`fer_core.runs.run_lock`) throughout.

    Raises:
        FerError: a bad option or dataset, a folder another process trains in, a run
        whose loss became NaN (:func:`_diverged_error`).

    Returns:
        The :class:`Run`.
    """
    config.check()
    if config.teacher:
        model_file(config.teacher)  # a missing teacher is named before the data loads
    if config.precise_bn and cluster_config() is not None:
        raise FerError("--precise-bn is not supported in multi-worker runs (TF_CONFIG)")
    if soft_targets(config) and cluster_config() is not None:
        raise FerError("--label-smoothing, --targets and --teacher are not supported in multi-worker runs "
                       "(TF_CONFIG): their loop uses integer labels")
    dataset = dataset or load_fer2013(config.data)
    train_split, val_split = split_train_validation(dataset, config)
    if config.targets != "labels" and train_split.votes is None:
        raise FerError(f"--targets {config.targets} needs FER+ votes for the Training faces: put fer2013new.csv "
                       f"beside the FER2013 CSV or set FER_PLUS (see fer data)")
    run = Run(config.run_dir())
    inputs = {option: model_file(path) for option, path in (("--init", config.init), ("--teacher", config.teacher))
              if path}
    with run_lock(run.root) if is_chief() else contextlib.nullcontext():  # one trainer per folder
        if is_chief():
            if not restart:
                check_resumable(run.root)
            for folder in (run.root, run.checkpoint_dir, run.snapshot_dir):
                remove_dead_temps(folder)
        keras.utils.set_random_seed(config.seed)
        previous_policy = keras.mixed_precision.dtype_policy()
        keras.mixed_precision.set_dtype_policy(resolve_precision(config.precision))
        try:
            _fit(config, run, train_split, val_split, verbose, inputs if restart else None)
        finally:
            keras.mixed_precision.set_dtype_policy(previous_policy)
        if is_chief() and "public" in dataset:
            evaluate_run(run, keras.models.load_model(run.model_file, safe_mode=True), dataset["public"])
    return run
