"""Training: a config object, an input pipeline with augmentation,
``model.fit`` with per-epoch checkpoints, and resume after a kill.

Under TensorFlow the pipeline is ``tf.data`` with augmentation in the graph;
under Keras's other backends (JAX or PyTorch, e.g. on a GPU machine without
TensorFlow) it is :class:`ArrayBatches`. The saved ``.keras`` files are the
same either way and load with TensorFlow.

A run is resumable: every finished epoch writes a full checkpoint (model and
optimizer state) and then ``checkpoint/state.json``, which names it. Running
the same command again loads that checkpoint and continues at the next epoch,
so a ``kill -9`` loses at most the epoch in flight.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import sys
import time
import zipfile
from pathlib import Path

import keras
import numpy as np

from fer_core.training.accel import cluster_config, distribution_strategy, is_chief, resolve_jit, resolve_precision
from fer_core.training.augment import RandomAffine
from fer_core.config import RESUMABLE_CHANGES, TrainConfig
from fer_core.data.dataset import Dataset, Split, load_fer2013
from fer_core.errors import FerError
from fer_core.evaluation.scores import evaluate_run
from fer_core.models.fused import builtin_config, fused_model
from fer_core.evaluation.label_noise import vote_targets
from fer_core.labels import IMAGE_SIZE, NUM_CLASSES, center_start
from fer_core.models.builders import build_model, flat_layers, load_model, with_center_crop
from fer_core.training.precise_bn import PreciseValidation, sample_faces
from fer_core.runs.files import atomic_path, make_folder, remove_dead_temps, write_json
from fer_core.runs.folder import Run
from fer_core.runs.lock import run_lock
from fer_core.runs.summary import format_duration, seconds_per_epoch
from fer_core.training.swa import prune_snapshots, snapshot_path

# ----------------------------------------------------------------------------- data


def split_train_validation(dataset: Dataset, config: TrainConfig) -> tuple[Split, Split]:
    """The training and validation splits the config asks for."""
    train = dataset["train"]
    if config.validation == "public":
        validation = dataset["public"]
    else:
        order = np.random.default_rng(config.seed).permutation(len(train))
        n_val = int(round(len(train) * float(config.validation)))
        votes = train.votes
        pick = lambda idx: Split(train.images[idx], train.labels[idx], train.ids[idx],  # noqa: E731
                                 None if votes is None else votes[idx])
        train, validation = pick(np.sort(order[n_val:])), pick(np.sort(order[:n_val]))
    if config.limit:
        train = train.take(config.limit)
    if config.val_limit:
        validation = validation.take(config.val_limit)
    return train, validation


def augmenter(config: TrainConfig) -> keras.Sequential | None:
    """Random flip, rotation, shift and zoom in one resampling (:class:`~fer_core.augment.RandomAffine`),
    then random erasing, as Keras layers; None when off."""
    if not config.augment:
        return None
    steps = []
    if config.flip or config.rotation or config.shift or config.zoom:
        steps.append(RandomAffine(config.flip, config.rotation, config.shift, config.zoom, seed=config.seed + 1))
    if config.erase:
        # A (p, p) factor: every image is erased with chance p (a single float would draw the chance from 0..p).
        steps.append(keras.layers.RandomErasing((config.erase, config.erase), value_range=(0, 255), seed=config.seed + 4))
    return keras.Sequential(steps, name="augment") if steps else None


def make_dataset(split: Split, batch_size: int, *, shuffle: bool = False, augment: keras.Sequential | None = None,
                 seed: int = 0, crop: int = 0, one_hot: bool = False, targets: np.ndarray | None = None):
    """Batches of ``(float32 (B, S, S, 1) pixels 0..255, labels)`` for ``model.fit``.

    ``S`` is 48, or ``crop``: a random window of each face when ``shuffle`` (training),
    else the center one. Labels are ``int64 (B,)``, or ``float32 (B, 7)`` one-hot
    rows with ``one_hot`` (for a loss that smooths them), or the rows of ``targets``
    (``float32 (N, 7)``, e.g. :func:`fer_core.label_noise.vote_targets`). A ``tf.data.Dataset``
    under the TensorFlow backend, else :class:`ArrayBatches`.
    """
    if targets is None:
        targets = one_hot_labels(split.labels) if one_hot else split.labels
    if keras.config.backend() == "tensorflow":
        return _tf_dataset(split, batch_size, shuffle=shuffle, augment=augment, seed=seed, crop=crop, targets=targets)
    return ArrayBatches(split, batch_size, shuffle=shuffle, augment=augment, seed=seed, crop=crop, targets=targets)


def one_hot_labels(labels: np.ndarray) -> np.ndarray:
    """``float32 (N, 7)``: row i is 1 at ``labels[i]`` and 0 elsewhere."""
    return np.eye(NUM_CLASSES, dtype=np.float32)[labels]


def crop_windows(images: np.ndarray, crop: int, rng: np.random.Generator | None) -> np.ndarray:
    """``(N, crop, crop, ...)`` windows of ``(N, 48, 48, ...)`` images: random per image with ``rng``, else centered."""
    if rng is None:
        start = center_start(crop)
        return images[:, start:start + crop, start:start + crop]
    tops, lefts = rng.integers(0, IMAGE_SIZE - crop + 1, (2, len(images)))
    return np.stack([image[t:t + crop, s:s + crop] for image, t, s in zip(images, tops, lefts)])


def _tf_dataset(split: Split, batch_size: int, *, shuffle: bool, augment, seed: int, crop: int, targets: np.ndarray):
    """tf.data: augmentation runs inside the graph on whole batches, in parallel with training."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((split.images[..., None], targets))
    if shuffle:
        ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    if crop and shuffle:
        ds = ds.map(lambda x, y: (tf.image.random_crop(x, (crop, crop, 1), seed=seed), y),
                    num_parallel_calls=tf.data.AUTOTUNE)
    elif crop:
        start = center_start(crop)
        ds = ds.map(lambda x, y: (x[start:start + crop, start:start + crop], y))
    ds = ds.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None:
        ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


class ArrayBatches(keras.utils.PyDataset):
    """Batches from in-memory arrays for any Keras backend, reshuffled every epoch.

    Augmentation applies the same Keras layers as the tf.data path, on the backend's device.
    """

    def __init__(self, split: Split, batch_size: int, *, shuffle: bool = False, augment=None, seed: int = 0,
                 crop: int = 0, targets: np.ndarray | None = None):
        super().__init__()
        self.split, self.batch_size, self.shuffle, self.augment = split, batch_size, shuffle, augment
        self.crop, self.targets = crop, split.labels if targets is None else targets
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(split)) if shuffle else np.arange(len(split))

    def __len__(self) -> int:
        return math.ceil(len(self.split) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        x = self.split.images[rows][..., None].astype(np.float32)
        if self.crop:
            x = crop_windows(x, self.crop, self.rng if self.shuffle else None)
        if self.augment is not None:
            x = keras.ops.convert_to_numpy(self.augment(x, training=True))
        return x, self.targets[rows]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.order = self.rng.permutation(len(self.split))


def soft_targets(config: TrainConfig) -> bool:
    """Whether the run trains on rows of 7 probabilities (label smoothing or FER+ votes) instead of class indices."""
    return bool(config.label_smoothing) or config.targets != "labels"


# ----------------------------------------------------------------------------- model


def learning_rate(config: TrainConfig, steps_per_epoch: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The peak rate, or a (warm-up +) cosine schedule over ``epochs * steps_per_epoch`` steps."""
    if config.schedule != "cosine":
        return config.learning_rate
    warmup = int(config.warmup_epochs * steps_per_epoch)
    total = max(config.epochs * steps_per_epoch - warmup, 1)
    if warmup:
        return keras.optimizers.schedules.CosineDecay(0.0, total, warmup_target=config.learning_rate, warmup_steps=warmup)
    return keras.optimizers.schedules.CosineDecay(config.learning_rate, total)


def make_optimizer(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The configured optimizer with its learning-rate schedule."""
    rate = learning_rate(config, steps_per_epoch)
    decay = config.weight_decay or None
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=0.9, nesterov=True, weight_decay=decay)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=config.weight_decay or 1e-4)
    return keras.optimizers.Adam(rate, weight_decay=decay)


def new_model(config: TrainConfig, train: Split, steps_per_epoch: int) -> keras.Model:
    """The configured architecture (taking ``config.crop`` crops if set), compiled.

    Its BatchNormalization layers are :class:`fer_core.fused.FusedBatchNormalization` for training speed.
    """
    model = fused_model(build_model(config.model, input_size=config.crop or IMAGE_SIZE,
                                    normalization=config.normalization, train_images=train.images))
    if config.init:
        copy_weights(load_model(config.init), model, config.init)
    if config.targets == "blend":  # the pipeline gives rows already smoothed toward the votes
        loss = keras.losses.CategoricalCrossentropy()
    elif soft_targets(config):  # the pipeline gives one-hot or vote rows; the loss smooths them (Szegedy et al. 2016)
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
    model.compile(optimizer=make_optimizer(config, steps_per_epoch), loss=loss, metrics=["accuracy"],
                  jit_compile=resolve_jit(config.jit))
    return model


def copy_weights(source: keras.Model, target: keras.Model, name: str) -> None:
    """Give every layer of ``target`` that has weights the weights of ``source``'s layer of the same name.

    Nested models (a crop wrapper) are looked into; ``source`` may be an inference
    model and ``target`` a fused training model: their layers hold the same variables.

    Raises:
        FerError: one line naming ``name`` and the first layer it lacks or whose shapes differ.
    """
    by_name = {layer.name: layer for layer in flat_layers(source)}
    for layer in flat_layers(target):
        if not layer.weights:
            continue
        other = by_name.get(layer.name)
        shapes = [tuple(w.shape) for w in layer.weights]
        if other is None or [tuple(w.shape) for w in other.weights] != shapes:
            raise FerError(f"{name}: --init model has no layer {layer.name!r} with weights of shapes {shapes}: "
                           "it must be the same architecture")
        layer.set_weights(other.get_weights())


def float32_config(config):
    """A copy of a Keras config with every dtype policy and tensor dtype set to float32."""
    if isinstance(config, list):
        return [float32_config(item) for item in config]
    if not isinstance(config, dict):
        return config
    if config.get("class_name") == "DTypePolicy":
        return {**config, "config": {**config["config"], "name": "float32"}}
    return {k: ("float32" if k == "dtype" and v == "bfloat16" else float32_config(v)) for k, v in config.items()}


def inference_model(model: keras.Model) -> keras.Model:
    """``model`` (a training model or checkpoint) in float32 with built-in layers only, uncompiled, same weights.

    A model trained on crops comes behind a center crop, so it takes whole 48x48 faces.
    """
    clone = model.__class__.from_config(builtin_config(float32_config(model.get_config())))  # uncompiled
    clone.set_weights(model.get_weights())  # variables are float32 under mixed precision too
    return with_center_crop(clone)


def save_inference_model(model: keras.Model, path: Path) -> None:
    """Save :func:`inference_model` of ``model`` (no optimizer state) atomically."""
    with atomic_path(path) as tmp:
        inference_model(model).save(tmp)


# ----------------------------------------------------------------------------- run bookkeeping


class RunRecorder(keras.callbacks.Callback):
    """After each epoch: keep the best model (and, in the last ``snapshots`` epochs, a snapshot
    for :mod:`fer_core.swa`), checkpoint, then record history.

    ``state.json`` is written last and is the commit point of an epoch. Only
    the chief writes; other workers of a cluster train and write nothing.

    A loss (or any logged value) that is NaN or infinite stops training at once: that
    epoch is neither recorded nor saved, so the run keeps its last good epoch, and
    ``diverged`` says what happened (for :func:`_diverged_error`).
    """

    def __init__(self, run: Run, history: list[dict], best: float, chief: bool = True, *, images: int = 0,
                 epochs: int = 0, snapshots: int = 0):
        super().__init__()
        self.run, self.rows, self.best, self.chief = run, history, best, chief
        self.images, self.epochs, self.snapshots = images, epochs, snapshots
        self.started, self.logs, self.epoch, self.diverged = time.time(), None, 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.started, self.epoch = time.time(), epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if self.diverged is None and loss is not None and not math.isfinite(float(loss)):
            self._stop(f"the training loss became {float(loss)} in epoch {self.epoch}, batch {batch + 1}")

    def _stop(self, reason: str) -> None:
        self.diverged = reason
        self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        bad = {k: float(v) for k, v in (logs or {}).items() if not math.isfinite(float(v))}
        if self.diverged is None and bad:
            self._stop(f"{', '.join(f'{k} became {v}' for k, v in bad.items())} in epoch {epoch + 1}")
        if self.diverged is not None:
            return
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row["seconds"] = round(time.time() - self.started, 2)
        row["images_per_second"] = round(self.images / max(row["seconds"], 1e-9), 1)
        accuracy = row.get("val_accuracy", row.get("accuracy", 0.0))
        improved = accuracy > self.best
        self.best = max(self.best, accuracy)
        self.rows.append(row)
        if self.chief:
            self._write(epoch + 1, improved)
            print(epoch_line(self.rows, self.epochs, self.best), file=sys.stderr, flush=True)

    def _write(self, epoch: int, improved: bool) -> None:
        if improved:
            save_inference_model(self.model, self.run.model_file)
        if epoch > self.epochs - self.snapshots:  # one of the last N epochs: keep its weights for averaging
            save_inference_model(self.model, snapshot_path(self.run, epoch))
            prune_snapshots(self.run, after=self.epochs - self.snapshots)
        checkpoint = self.run.checkpoint_dir / f"epoch-{epoch:04d}.keras"
        with atomic_path(checkpoint) as tmp:
            self.model.save(tmp)
        self.run.write_history(self.rows)
        self.logs = write_scalars(self.run.logs_dir, self.rows[-1], self.logs)
        write_json(self.run.state_file, {"epoch": epoch, "checkpoint": checkpoint.name, "best": self.best})
        for older in self.run.checkpoint_dir.glob("epoch-*.keras"):  # the one before, or one a resume skipped
            if older != checkpoint:
                older.unlink(missing_ok=True)


def write_scalars(logs_dir: Path, row: dict, writer=None):
    """Append one epoch's history row to TensorBoard logs in ``logs_dir`` (TensorFlow backend only).

    Each value but ``epoch`` becomes a scalar at step ``epoch``, so a resumed run
    continues its curves. Pass the returned writer back in: one event file per process.

    Returns:
        The ``tf.summary`` writer, or None where there is none (other backends, no TensorBoard).
    """
    if keras.config.backend() != "tensorflow":
        return None
    import tensorflow as tf

    writer = writer or tf.summary.create_file_writer(str(logs_dir))
    try:
        with writer.as_default():
            for key, value in row.items():
                if key != "epoch":
                    tf.summary.scalar(key, value, step=int(row["epoch"]))
        writer.flush()
    except ImportError as exc:  # TBNotInstalledError: training goes on without the logs
        print(f"warning: no TensorBoard logs ({exc})", file=sys.stderr)
        return None
    return writer


class Heartbeat(keras.callbacks.Callback):
    """Refresh ``RUN/heartbeat.json`` (time, epoch, batch) at most every ``every`` seconds while training.

    A run whose heartbeat has gone stale without its last epoch done was interrupted
    (:func:`fer_core.runs.run_status`).
    """

    def __init__(self, run: Run, epochs: int, steps: int, every: float = 5.0):
        super().__init__()
        self.run, self.epochs, self.steps, self.every = run, epochs, steps, every
        self.epoch, self.last = 0, 0.0

    def beat(self, batch: int, force: bool = False) -> None:
        now = time.time()
        if force or now - self.last >= self.every:
            self.last = now
            write_json(self.run.heartbeat_file, {"time": now, "every": self.every, "epoch": self.epoch + 1,
                                                 "epochs": self.epochs, "batch": batch, "batches": self.steps})

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.beat(0, force=True)

    def on_train_batch_end(self, batch, logs=None):
        self.beat(batch + 1)

    def on_train_end(self, logs=None):
        self.run.heartbeat_file.unlink(missing_ok=True)


def epoch_line(rows: list[dict], epochs: int, best: float) -> str:
    """One line after the last of ``rows`` (history rows): speed, best validation accuracy, time left.

    The time left is :func:`~fer_core.runs.seconds_per_epoch` times the epochs still to go.
    """
    row = rows[-1]
    left = max(epochs - row["epoch"], 0) * (seconds_per_epoch(rows) or 0.0)
    return (f"epoch {row['epoch']}/{epochs}: {row['seconds']:.0f} s, {row['images_per_second']:.0f} img/s, "
            f"best validation accuracy {best:.4f}, about {format_duration(left)} left")


def _diverged_error(run: Run, reason: str, config: TrainConfig) -> FerError:
    """The one line for a run stopped by a NaN or infinite loss (:class:`RunRecorder`): what happened, what is kept."""
    state = run.state()
    good = state["epoch"] if state else 0
    kept = (f"{run.model_file.name} (the best of {good} good epoch{'s' if good > 1 else ''}) and the checkpoint of "
            f"epoch {good} are kept" if good else "no epoch finished cleanly, so no model was saved")
    return FerError(f"{run.root}: {reason}: training stopped; {kept}; a lower --learning-rate "
                    f"(this run: {config.learning_rate:g}) in a new --out may train")


def _check_same_config(run: Run, config: TrainConfig) -> None:
    """Raise FerError when ``config`` changes a setting of the saved run that a resume must keep.

    Only today's :class:`TrainConfig` fields are compared: a key the saved ``config.json`` has and
    the config no longer has (an option since removed) is ignored.
    """
    saved = run.config()
    for key, value in config.to_dict().items():
        before = saved.get(key, TrainConfig.default(key))  # a key saved runs predate had its default
        if key not in RESUMABLE_CHANGES and before != value:
            raise FerError(
                f"{run.root}: holds a run with {key}={before!r}, not {value!r}; "
                "use another --out or delete the folder to start over"
            )


RESTART_HINT = "run the same command with --restart to train this run from scratch (its history and models are replaced)"
CHECKPOINT_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)  # what a damaged .keras file raises


def _resume(run: Run, config: TrainConfig, steps_per_epoch: int) -> tuple[keras.Model | None, int, list[dict], float]:
    """Load the last checkpoint if the run has one: (model, epochs done, history, best).

    Raises:
        FerError: one line naming a damaged ``state.json`` or checkpoint (when no earlier
            checkpoint loads either) and the way out, ``--restart``.
    """
    state = _checkpoint_state(run) if run.config_file.is_file() else None
    if state is None:
        return None, 0, [], -1.0
    _check_same_config(run, config)
    model, done = _load_checkpoint(run, state)
    model.jit_compile = resolve_jit(config.jit)  # the checkpoint keeps the setting it was compiled with
    if run.config().get("epochs") != config.epochs and config.schedule == "cosine":
        # The cosine schedule spans the run: stretch it to the new length.
        model.optimizer._learning_rate = learning_rate(config, steps_per_epoch)
    history = [r for r in run.history() if r["epoch"] <= done]
    return model, done, history, float(state["best"])


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


def clear_training(run: Run) -> None:
    """Remove what training wrote in ``run`` (config, history, models, checkpoints, snapshots, logs,
    scores), so ``fer train --restart`` starts it over; other files (a report, a submission) stay."""
    for file in (run.config_file, run.history_file, run.model_file, run.metrics_file, run.predictions_file,
                 run.heartbeat_file):
        file.unlink(missing_ok=True)
    for folder in (run.checkpoint_dir, run.snapshot_dir, run.logs_dir):
        shutil.rmtree(folder, ignore_errors=True)


def _fit(config: TrainConfig, run: Run, train_split: Split, val_split: Split, verbose) -> None:
    steps_per_epoch = -(-len(train_split) // config.batch_size)
    chief = is_chief()
    strategy = distribution_strategy() if keras.config.backend() == "tensorflow" else None
    with strategy.scope() if strategy else contextlib.nullcontext():
        model, done, history, best = _resume(run, config, steps_per_epoch)
        if model is None:
            model = new_model(config, train_split, steps_per_epoch)
        elif done:
            print(f"Resuming {run.root} at epoch {done + 1} of {config.epochs}", file=sys.stderr)
    if chief:
        make_folder(run.root)
        write_json(run.config_file, config.to_dict())
    if done >= config.epochs:
        return
    targets = vote_targets(train_split.labels, train_split.votes, config.targets, config.label_smoothing)
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

    With ``restart``, what an earlier run in the folder trained is removed first
    (:func:`clear_training`), once the data has loaded. Temporary files that a killed
    write left in the run folder are removed (:func:`fer_core.runs.remove_dead_temps`).

    Precision follows ``config.precision`` (see :mod:`fer_core.accel`); the
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
    if config.precise_bn and cluster_config() is not None:
        raise FerError("--precise-bn is not supported in multi-worker runs (TF_CONFIG)")
    if soft_targets(config) and cluster_config() is not None:
        raise FerError("--label-smoothing and --targets are not supported in multi-worker runs (TF_CONFIG): "
                       "their loop uses integer labels")
    dataset = dataset or load_fer2013(config.data)
    train_split, val_split = split_train_validation(dataset, config)
    if config.targets != "labels" and train_split.votes is None:
        raise FerError(f"--targets {config.targets} needs FER+ votes for the Training faces: put fer2013new.csv "
                       f"beside the FER2013 CSV or set FER_PLUS (see fer data)")
    run = Run(config.run_dir())
    with run_lock(run.root) if is_chief() else contextlib.nullcontext():  # one trainer per folder
        if is_chief():
            if restart:
                clear_training(run)
            for folder in (run.root, run.checkpoint_dir, run.snapshot_dir):
                remove_dead_temps(folder)
        keras.utils.set_random_seed(config.seed)
        previous_policy = keras.mixed_precision.dtype_policy()
        keras.mixed_precision.set_dtype_policy(resolve_precision(config.precision))
        try:
            _fit(config, run, train_split, val_split, verbose)
        finally:
            keras.mixed_precision.set_dtype_policy(previous_policy)
        if is_chief() and "public" in dataset:
            evaluate_run(run, keras.models.load_model(run.model_file, safe_mode=True), dataset["public"])
    return run
