"""The input pipeline: training and validation splits, augmentation layers, and batches for ``model.fit``.

Under TensorFlow the pipeline is ``tf.data`` with augmentation in the graph;
under Keras's other backends (JAX or PyTorch, e.g. on a GPU machine without
TensorFlow) it is :class:`ArrayBatches`.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from fer_core.config import TrainConfig
from fer_core.data.splits import Dataset, Split
from fer_core.errors import FerError
from fer_core.labels import IMAGE_SIZE, NUM_CLASSES, center_start
from fer_core.training.augment import RandomAffine


def split_train_validation(dataset: Dataset, config: TrainConfig) -> tuple[Split, Split]:
    """The training and validation splits the config asks for.

    Raises:
        FerError: ``--validation F`` leaves no face on one side (F times the Training faces rounds to 0 or all).
    """
    train = dataset["train"]
    if config.validation == "public":
        validation = dataset["public"]
    else:
        order = np.random.default_rng(config.seed).permutation(len(train))
        n_val = int(round(len(train) * float(config.validation)))
        if not 0 < n_val < len(train):
            raise FerError(f"--validation {config.validation}: {n_val} of the {len(train)} Training faces would "
                           "validate; give a fraction that leaves faces on both sides")
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
    """Random flip, rotation, shift and zoom in one resampling (:class:`~fer_core.training.augment.RandomAffine`),
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
    (``float32 (N, 7)``, e.g. :func:`fer_core.evaluation.label_noise.vote_targets`). A ``tf.data.Dataset``
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
    """Whether the run trains on rows of 7 probabilities (label smoothing, FER+ votes or a teacher's
    probabilities) instead of class indices."""
    return bool(config.label_smoothing) or config.targets != "labels" or bool(config.teacher)
