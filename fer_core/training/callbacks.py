"""What a run writes while it trains: per-epoch checkpoint, best model, snapshots, history,
TensorBoard scalars and the progress line (:class:`RunRecorder`), and the heartbeat (:class:`Heartbeat`).

``checkpoint/state.json`` is written last and is the commit point of an epoch, so a
``kill -9`` loses at most the epoch in flight (see :mod:`fer_core.training.resume`).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import keras

from fer_core.models.inference import save_inference_model
from fer_core.runs.files import atomic_path, write_json
from fer_core.runs.folder import Run
from fer_core.runs.summary import format_duration, seconds_per_epoch
from fer_core.training.swa import prune_snapshots, snapshot_path


class RunRecorder(keras.callbacks.Callback):
    """After each epoch: keep the best model (and, in the last ``snapshots`` epochs, a snapshot
    for :mod:`fer_core.training.swa`), checkpoint, then record history.

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
        if improved:  # the scores of the model it replaces go first: no page may show them as this one's
            for stale in (self.run.metrics_file, self.run.predictions_file):
                stale.unlink(missing_ok=True)
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

    The time left is :func:`~fer_core.runs.summary.seconds_per_epoch` times the epochs still to go.
    """
    row = rows[-1]
    left = max(epochs - row["epoch"], 0) * (seconds_per_epoch(rows) or 0.0)
    return (f"epoch {row['epoch']}/{epochs}: {row['seconds']:.0f} s, {row['images_per_second']:.0f} img/s, "
            f"best validation accuracy {best:.4f}, about {format_duration(left)} left")
