"""A tiny workspace for the dashboard tests: a small FER2013-format CSV and two runs of a tiny CNN.

Random faces only (never FER2013). ``python tests/dashboard/workspace.py DIR`` writes one
for trying the dashboard by hand and prints the variables to export.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TRAIN_FACES = 14
PUBLIC_FACES = 84


def tiny_model(seed: int = 0):
    """A 2-conv CNN in the saved-model contract: raw pixels (N, 48, 48, 1) -> 7 softmax probabilities."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((48, 48, 1), name="pixels")
    x = layers.Rescaling(1 / 255.0, name="scale")(inputs)
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(4, name="pool1")(x)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(7, name="logits")(x)
    outputs = layers.Activation("softmax", name="softmax")(x)
    return keras.Model(inputs, outputs, name="tiny")


def faces(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random ``uint8 (48, 48)`` faces (smooth blobs, not noise) and labels cycling through 0..6."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:48]
    centers = rng.uniform(10, 38, (n, 2, 1, 1))
    blobs = np.exp(-((yy - centers[:, 0]) ** 2 + (xx - centers[:, 1]) ** 2) / 120.0)
    images = np.clip(60 + 160 * blobs + rng.normal(0, 12, (n, 48, 48)), 0, 255).astype(np.uint8)
    return images, np.arange(n) % 7


VOTE_HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
FERPLUS_ORDER = (6, 3, 5, 4, 0, 1, 2)  # the FER2013 class of FER+'s first 7 vote columns


def random_votes(labels: np.ndarray, seed: int) -> np.ndarray:
    """``int (N, 10)`` FER+-style votes: 10 per face; on even rows half of them on average for the face's label,
    on odd rows spread evenly (so the annotators side with the model, the label or neither)."""
    rng = np.random.default_rng(seed)
    column_of = {cls: col for col, cls in enumerate(FERPLUS_ORDER)}
    votes = np.zeros((len(labels), 10), np.int64)
    for row, label in enumerate(labels):
        weights = np.full(10, 0.5 / 9 if row % 2 == 0 else 0.1)
        weights[column_of[int(label)]] = 0.5 if row % 2 == 0 else 0.1
        np.add.at(votes[row], rng.choice(10, 10, p=weights), 1)
    return votes


def write_votes(folder: Path, usages: list[str], votes: np.ndarray) -> None:
    """``folder/fer2013new.csv``: FER+'s format, one row per CSV row."""
    rows = [f"{u},fer{i:07d}.png,{','.join(map(str, v))}" for i, (u, v) in enumerate(zip(usages, votes))]
    (folder / "fer2013new.csv").write_text("\n".join([VOTE_HEADER, *rows]) + "\n")


def write_data(folder: Path, votes: bool = True) -> Path:
    """``folder/fer2013.csv`` with Training and PublicTest rows in the Kaggle format, and FER+ votes beside it."""
    train, train_labels = faces(TRAIN_FACES, 1)
    public, public_labels = faces(PUBLIC_FACES, 2)
    rows = ["emotion,pixels,Usage"]
    for images, labels, usage in ((train, train_labels, "Training"), (public, public_labels, "PublicTest")):
        rows += [f"{y},{' '.join(map(str, x.reshape(-1).tolist()))},{usage}" for x, y in zip(images, labels)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fer2013.csv").write_text("\n".join(rows) + "\n")
    if votes:
        usages = ["Training"] * TRAIN_FACES + ["PublicTest"] * PUBLIC_FACES
        write_votes(folder, usages, random_votes(np.r_[train_labels, public_labels], 3))
    return folder


def write_run(folder: Path, seed: int) -> Path:
    """A run folder as `fer train` + `fer evaluate` leave it, for a tiny model."""
    from fer_core.config import TrainConfig
    from fer_core.evaluation.scores import metrics_from_probabilities, predict_proba
    from fer_core.runs.files import write_json, write_npz
    from fer_core.runs.folder import Run

    run = Run(folder)
    model = tiny_model(seed)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(run.model_file)
    write_json(run.config_file, TrainConfig(model="tiny", epochs=3, seed=seed, augment=bool(seed % 2)).to_dict())
    rng = np.random.default_rng(seed)
    run.write_history(
        [
            {
                "epoch": e,
                "loss": 2.0 - 0.2 * e,
                "accuracy": 0.2 + 0.05 * e + rng.uniform(0, 0.02),
                "val_loss": 2.1 - 0.15 * e,
                "val_accuracy": 0.18 + 0.04 * e,
                "learning_rate": 1e-3,
                "seconds": 1.0,
            }
            for e in (1, 2, 3)
        ]
    )
    public, labels = faces(PUBLIC_FACES, 2)
    probabilities = predict_proba(model, public)
    write_json(run.metrics_file, metrics_from_probabilities(probabilities, labels))
    write_npz(run.predictions_file, probabilities=probabilities, labels=labels, ids=np.arange(len(labels)))
    return folder


def write_workspace(root: Path) -> dict[str, str]:
    """Data, two runs and a cache folder under ``root``; returns the environment to set."""
    root = Path(root)
    write_data(root / "data")
    write_data(root / "data-novotes", votes=False)  # the same faces without fer2013new.csv
    for name, seed in (("tiny-a", 0), ("tiny-b", 1)):
        write_run(root / "runs" / name, seed)
    return {"FER_DATA": str(root / "data"), "FER_RUNS": str(root / "runs"), "FER_CACHE": str(root / "cache")}


if __name__ == "__main__":
    for name, value in write_workspace(Path(sys.argv[1])).items():
        print(f"export {name}={value}")
