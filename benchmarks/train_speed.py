"""Training speed of the seed CNN: stock Keras vs FER Lens's training path, side by side.

(a) stock: ``keras.layers.BatchNormalization``, float32, ``model.fit`` on numpy arrays;
(b) fer:   what ``fer train`` does here: precision from ``--precision auto``, the
           tf.data pipeline with in-graph augmentation, ``model.fit`` on it.

Both train the same number of steps on the same images after the same warm-up,
in one process. Also times the input pipeline alone. The last line is
``ratio=<fer img/s / stock img/s>``.

    python benchmarks/train_speed.py --steps 40 --batch-size 64
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

from fer_core.accel import cpu_supports_bf16, resolve_precision
from fer_core.config import TrainConfig
from fer_core.data import Split, load_fer2013
from fer_core.models import build_model
from fer_core.train import augmenter, make_dataset, new_model


def training_images(count: int, data: str | None) -> Split:
    try:
        return load_fer2013(data)["train"].take(count)
    except Exception as exc:  # no data here: the speed does not depend on the pixels
        print(f"(no FER2013: {exc}; using random faces)")
        rng = np.random.default_rng(0)
        return Split(rng.integers(0, 256, (count, 48, 48), np.uint8), rng.integers(0, 7, count), np.arange(count))


def stock_images_per_second(split: Split, batch: int, warmup: int) -> float:
    keras.mixed_precision.set_dtype_policy("float32")
    model = build_model("seed", normalization="standardize", train_images=split.images)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = split.images[..., None].astype("float32"), split.labels
    model.fit(x[: warmup * batch], y[: warmup * batch], batch_size=batch, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    return len(x) / (time.perf_counter() - start)


def fer_images_per_second(split: Split, config: TrainConfig, warmup: int) -> float:
    keras.mixed_precision.set_dtype_policy(resolve_precision(config.precision))
    steps = len(split) // config.batch_size
    model = new_model(config, split, steps)
    dataset = make_dataset(split, config.batch_size, shuffle=True, augment=augmenter(config), seed=config.seed)
    model.fit(dataset.take(warmup), epochs=1, verbose=0, shuffle=False)
    start = time.perf_counter()
    model.fit(dataset, epochs=1, verbose=0, shuffle=False)
    keras.mixed_precision.set_dtype_policy("float32")
    return len(split) / (time.perf_counter() - start)


def pipeline_images_per_second(split: Split, config: TrainConfig) -> float:
    dataset = make_dataset(split, config.batch_size, shuffle=True, augment=augmenter(config), seed=config.seed)
    for _ in dataset.take(2):
        pass
    start = time.perf_counter()
    count = sum(int(x.shape[0]) for x, _ in dataset)
    return count / (time.perf_counter() - start)


def training_gflop_per_image(model: keras.Model) -> float:
    """About 3x the forward multiply-adds of conv and dense layers, x2 FLOP each, in GFLOP."""
    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            h, w, c_out = layer.output.shape[1:]
            macs += h * w * c_out * np.prod(layer.kernel_size) * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            macs += layer.input.shape[-1] * layer.units
    return 3 * 2 * macs / 1e9


def matmul_gflops(size: int = 2048, repeats: int = 8) -> float:
    """float32 GFLOP/s of a large matrix product: what this CPU can do at best."""
    import tensorflow as tf

    a, b = tf.random.normal([size, size]), tf.random.normal([size, size])
    tf.matmul(a, b).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        c = tf.matmul(a, b)
    c.numpy()
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40, help="timed training steps per path")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (tracing)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", default="auto", choices=("auto", "float32", "mixed_bfloat16"))
    parser.add_argument("--data", help="FER2013 file or folder (default: $FER_DATA)")
    args = parser.parse_args()
    config = TrainConfig(batch_size=args.batch_size, precision=args.precision)
    split = training_images(args.steps * args.batch_size, args.data)
    print(f"CPU native bf16: {cpu_supports_bf16()}; fer precision: {resolve_precision(config.precision)}")
    print(f"{args.steps} steps of {args.batch_size} images per path")
    pipeline = pipeline_images_per_second(split, config)
    print(f"input pipeline alone (augmentation on): {pipeline:9.1f} img/s")
    stock = stock_images_per_second(split, args.batch_size, args.warmup)
    print(f"stock Keras (float32, numpy fit):       {stock:9.1f} img/s")
    fer = fer_images_per_second(split, config, args.warmup)
    print(f"fer train path:                         {fer:9.1f} img/s")
    gflop = training_gflop_per_image(build_model("seed", normalization="none"))
    ceiling = matmul_gflops()
    print(f"seed CNN training: {gflop:.2f} GFLOP/image; float32 matmul here: {ceiling:.1f} GFLOP/s "
          f"(stock uses {100 * stock * gflop / ceiling:.0f}% of it; ratio 4 would need {400 * stock * gflop / ceiling:.0f}%)")
    print(f"ratio={fer / stock:.2f}")


if __name__ == "__main__":
    main()
