"""Precise BatchNorm statistics: re-estimate every BatchNormalization layer's moving mean and variance.

With the seed CNN's momentum of 0.5 (the report's), a BatchNormalization layer's
moving statistics are in effect those of the last two or three training batches,
augmented ones, so the inference model sees noisy statistics. Re-estimating them
as plain averages over many training faces ("PreciseBN", Wu & Johnson,
"Rethinking 'Batch' in BatchNorm", 2021) changes no weight and no layer; on the
seed CNN's epoch-33 checkpoint here it raised PublicTest accuracy from 0.6336 to
0.6542.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np

from fer_core.errors import FerError
from fer_core.evaluation.scores import predict_proba, write_evaluation
from fer_core.models import fused  # noqa: F401  (registers the training layers a checkpoint holds)
from fer_core.models.builders import flat_layers, load_model
from fer_core.models.inference import inference_model
from fer_core.runs.files import atomic_path, write_json
from fer_core.runs.lock import run_lock
from fer_core.training.swa import averaged_snapshots


def _layers(model: keras.Model, kind) -> list:
    """Every layer of type ``kind`` in ``model``, nested models included."""
    return [layer for layer in flat_layers(model) if isinstance(layer, kind)]


@contextlib.contextmanager
def _without_noise(model: keras.Model):
    """Dropout and GaussianNoise off while ``model`` runs with ``training=True`` (restored afterwards)."""
    dropouts, noises = _layers(model, keras.layers.Dropout), _layers(model, keras.layers.GaussianNoise)
    rates, stddevs = [d.rate for d in dropouts], [n.stddev for n in noises]
    for layer in dropouts:
        layer.rate = 0.0
    for layer in noises:
        layer.stddev = 0.0
    try:
        yield
    finally:
        for layer, rate in zip(dropouts, rates):
            layer.rate = rate
        for layer, stddev in zip(noises, stddevs):
            layer.stddev = stddev


def precise_batch_norm(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> int:
    """Set every BatchNormalization layer's moving statistics to their average over ``images``, in place.

    Runs ``model`` with ``training=True`` on ``images`` (``uint8 (N, 48, 48)`` or
    float ``(N, S, S, 1)`` raw pixels) in full batches (a last partial batch is left
    out, so every batch weighs the same), dropout and noise off, with each
    layer's momentum set so the moving mean and variance become the mean over
    batches of the batch statistics (the batch variance is the biased one, as the
    layer's own). Other weights are untouched; momenta are restored.

    Returns:
        The number of BatchNormalization layers re-estimated (0: the model is unchanged).
    """
    norms = _layers(model, keras.layers.BatchNormalization)
    if not norms or len(images) == 0:
        return 0
    x = images[..., None] if images.ndim == 3 else images
    momenta = [layer.momentum for layer in norms]
    try:
        with _without_noise(model):
            starts = range(0, max(len(x) - batch_size, 0) + 1, batch_size)  # full batches only (one if N < batch)
            for k, start in enumerate(starts, start=1):
                for layer in norms:
                    layer.momentum = (k - 1) / k  # k-th batch: moving = running mean of the k batch statistics
                model(x[start:start + batch_size].astype("float32"), training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    return len(norms)


def sample_faces(images: np.ndarray, faces: int, seed: int = 0) -> np.ndarray:
    """``faces`` rows of ``images`` drawn without replacement by ``seed``, in their original order."""
    rows = np.random.default_rng(seed).permutation(len(images))[:faces]
    return images[np.sort(rows)]


class PreciseValidation(keras.callbacks.Callback):
    """After every epoch, before the callbacks after it see the logs: re-estimate the BatchNorm
    statistics on ``faces`` (:func:`precise_batch_norm`), then validate on ``validation``.

    Put it first in ``fit``'s callbacks and give ``fit`` no ``validation_data``: the
    ``val_*`` entries of the epoch's logs are then this validation's, so the
    history, the best-epoch choice and the saved model use precise statistics.
    Training is unchanged: it normalizes with batch statistics, and the next
    epoch's updates overwrite the moving ones.

    Args:
        faces: raw pixels the model takes, ``uint8 (N, S, S)`` or float ``(N, S, S, 1)``.
        validation: a dataset ``model.evaluate`` takes (batches of images and labels).
    """

    def __init__(self, faces: np.ndarray, validation):
        super().__init__()
        self.faces, self.validation = faces, validation

    def on_epoch_end(self, epoch, logs=None):
        precise_batch_norm(self.model, self.faces)
        scores = self.model.evaluate(self.validation, verbose=0, return_dict=True)
        if logs is not None:
            logs.update({f"val_{name}": float(value) for name, value in scores.items()})


def calibrate_run(run, dataset, faces: int = 8192, seed: int = 0, last_epoch: bool = False,
                  average: int = 0) -> tuple[float, float, bool]:
    """Re-estimate the BatchNorm statistics of ``run``'s model on ``faces`` random Training faces; keep them
    only if PublicTest accuracy rises (chosen on PublicTest, never PrivateTest).

    With ``last_epoch`` the weights come from the run's last checkpoint (the
    final epoch, not the best-validated one); with ``average`` K they are the
    mean of the run's last K snapshots (:func:`fer_core.training.swa.averaged_snapshots`).
    Either way the calibrated result must beat the current ``model.keras``. On a rise, ``model.keras`` is rewritten
    atomically and ``metrics.json`` / ``predictions.npz`` with it, from the
    PublicTest scores already computed; a run chosen on PublicTest also gets the new accuracy as its best, so a
    longer ``--epochs`` replaces the calibrated model only with a better epoch.

    It holds the run's lock (:func:`~fer_core.runs.lock.run_lock`) throughout, so it never writes over a
    model or ``state.json`` that a ``fer train`` in the same folder is writing.

    Returns:
        ``(accuracy of model.keras before, accuracy after, kept)``.

    Raises:
        FerError: another process holds the run's lock.
    """
    with run_lock(run.root):
        return _calibrate(run, dataset, faces, seed, last_epoch, average)


def _calibrate(run, dataset, faces: int, seed: int, last_epoch: bool, average: int) -> tuple[float, float, bool]:
    """:func:`calibrate_run` inside the run's lock."""
    public, train = dataset["public"], dataset["train"]
    model = load_model(run.model_file)
    before = float((predict_proba(model, public.images).argmax(1) == public.labels).mean())
    if last_epoch:
        model = _last_checkpoint(run)
    elif average:
        model, _ = averaged_snapshots(run, average)
    precise_batch_norm(model, sample_faces(train.images, faces, seed))
    probabilities = predict_proba(model, public.images)
    after = float((probabilities.argmax(1) == public.labels).mean())
    if after <= before:
        return before, after, False
    with atomic_path(run.model_file) as tmp:
        model.save(tmp)
    write_evaluation(run, probabilities, public)
    _raise_best(run, after)
    return before, after, True


def _raise_best(run, accuracy: float) -> None:
    """Make ``accuracy`` the bar a resumed run's epochs must clear to replace ``model.keras``, when the run is
    chosen on PublicTest like the calibration: otherwise a longer ``--epochs`` could overwrite the calibrated
    model with a worse epoch that beats only the uncalibrated best."""
    state = None if run.results else run.state()  # the training's bar is model.keras's, not a side file's
    if state is not None and run.config().get("validation", "public") == "public" and accuracy > state["best"]:
        write_json(run.state_file, {**state, "best": accuracy})


def _last_checkpoint(run) -> keras.Model:
    """The inference model of ``run``'s last checkpoint (``checkpoint/state.json`` names it)."""
    state = run.state()
    path = run.checkpoint_dir / state["checkpoint"] if state and "checkpoint" in state else None
    if path is None or not path.is_file():
        raise FerError(f"{run.root}: no checkpoint to calibrate (checkpoint/state.json names none that exists)")
    return inference_model(load_model(path, contract=False))  # a training model (crops); a corrupt one is a FerError
