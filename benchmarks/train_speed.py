"""Training speed of the seed CNN: stock Keras vs FER Lens's training path, side by side.

(a) stock: the seed CNN as a user writes it in plain Keras: built-in layers
           (``keras.layers.BatchNormalization``), float32, no XLA,
           ``model.fit`` on numpy arrays, no augmentation;
(b) fer:   exactly what ``fer train`` does here: its compile options
           (precision and XLA from ``--precision auto`` and ``--jit auto``), its
           training-time layers, the tf.data pipeline with augmentation, ``model.fit``.

Both train on the same real FER2013 faces (random faces without the data), in
one process, after a warm-up of both. Then ``--rounds`` rounds alternate the two
paths (stock, fer, stock, fer, ...), each round ``--steps`` steps, so a slow
phase of the machine hits both alike. A round's speed is timed from the end of
its first step to the end of its last (a ``fit`` call's set-up is not an
epoch's cost). It prints the median img/s of each with
its spread, the median of the per-round ratios, the input pipeline alone, the
measured float32 matmul ceiling and the share of it each path reaches; the last
line is ``ratio=<median of fer / stock>``.

    python benchmarks/train_speed.py                 # 5 rounds of 30 steps
    python benchmarks/train_speed.py --profile       # + per-layer forward+backward table
    python benchmarks/train_speed.py --quality 3     # PublicTest accuracy of both after 3 epochs

``--profile`` times every layer of both paths' seed CNN alone (forward, then
the gradients with respect to its input and its weights) on a batch of its
real input shape, and prints milliseconds per batch side by side and the fer
path's GFLOP/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from fer_core.config import TrainConfig  # noqa: E402
from fer_core.data.dataset import load_fer2013
from fer_core.data.splits import Split
from fer_core.models.builders import build_model  # noqa: E402
from fer_core.training.accel import resolve_jit, resolve_precision  # noqa: E402
from fer_core.training.build import new_model
from fer_core.training.pipeline import augmenter, make_dataset


def training_images(count: int, data: str | None) -> Split:
    try:
        return load_fer2013(data)["train"].take(count)
    except Exception as exc:  # no data here: the speed does not depend on the pixels
        print(f"(no FER2013: {exc}; using random faces)")
        rng = np.random.default_rng(0)
        return Split(rng.integers(0, 256, (count, 48, 48), np.uint8), rng.integers(0, 7, count), np.arange(count))


class StepClock(keras.callbacks.Callback):
    """Wall-clock time at the end of every training batch."""

    def on_train_begin(self, logs=None):
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())

    def images_per_second(self, batch: int) -> float:
        """Steady-state speed: the steps after the first, so a ``fit`` call's set-up is left out."""
        return (len(self.times) - 1) * batch / (self.times[-1] - self.times[0])


class StockPath:
    """The seed CNN in plain Keras: float32, ``jit_compile=False``, ``fit`` on numpy arrays."""

    name = "stock Keras (float32, numpy fit)"

    def __init__(self, split: Split, batch: int, steps: int):
        keras.mixed_precision.set_dtype_policy("float32")
        self.model = build_model("seed", normalization="standardize", train_images=split.images)
        self.model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"],
                           jit_compile=False)
        self.x, self.y = split.images[: steps * batch, ..., None].astype("float32"), split.labels[: steps * batch]
        self.batch = batch

    def fit(self, steps: int) -> float:
        """Train ``steps`` steps; return images per second (see :class:`StepClock`)."""
        n, clock = steps * self.batch, StepClock()
        self.model.fit(self.x[:n], self.y[:n], batch_size=self.batch, epochs=1, verbose=0, callbacks=[clock])
        return clock.images_per_second(self.batch)


class FerPath:
    """``fer train``'s model, compile options and input pipeline for ``config``."""

    name = "fer train path"

    def __init__(self, split: Split, config: TrainConfig):
        keras.mixed_precision.set_dtype_policy(resolve_precision(config.precision))
        self.model = new_model(config, split, len(split) // config.batch_size)
        keras.mixed_precision.set_dtype_policy("float32")
        self.data = make_dataset(split, config.batch_size, shuffle=True, augment=augmenter(config),
                                 seed=config.seed).repeat()
        self.batch = config.batch_size

    def fit(self, steps: int) -> float:
        clock = StepClock()
        self.model.fit(self.data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[clock])
        return clock.images_per_second(self.batch)


def pipeline_images_per_second(split: Split, config: TrainConfig) -> float:
    """The tf.data pipeline alone (shuffle, augmentation, batching), no model."""
    dataset = make_dataset(split, config.batch_size, shuffle=True, augment=augmenter(config), seed=config.seed)
    for _ in dataset.take(2):
        pass
    start = time.perf_counter()
    count = sum(int(x.shape[0]) for x, _ in dataset)
    return count / (time.perf_counter() - start)


def layer_macs(layer: keras.layers.Layer) -> int:
    """Forward multiply-adds per image of a Conv2D or Dense layer (0 for others)."""
    if isinstance(layer, keras.layers.Conv2D):
        h, w, c_out = layer.output.shape[1:]
        return int(h * w * c_out * np.prod(layer.kernel_size) * layer.input.shape[-1])
    if isinstance(layer, keras.layers.Dense):
        return int(layer.input.shape[-1] * layer.units)
    return 0


def training_gflop_per_image(model: keras.Model) -> float:
    """Forward + both backward products (3x the forward multiply-adds, 2 FLOP each), in GFLOP."""
    return 3 * 2 * sum(layer_macs(layer) for layer in model.layers) / 1e9


def matmul_gflops(size: int = 2048, repeats: int = 8) -> float:
    """float32 GFLOP/s of a large matrix product: what this CPU can do at best (best of 3)."""
    import tensorflow as tf

    a, b = tf.random.normal([size, size]), tf.random.normal([size, size])
    tf.matmul(a, b).numpy()
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            c = tf.matmul(a, b)
        c.numpy()
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def interleaved(paths: list, steps: int, rounds: int) -> dict[str, list[float]]:
    """``rounds`` alternating timings of every path: {name: [img/s per round]}."""
    results = {path.name: [] for path in paths}
    for _ in range(rounds):
        for path in paths:
            results[path.name].append(path.fit(steps))
    return results


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):7.1f}  (min {min(values):6.1f}, max {max(values):6.1f})"


def profile_layers(model: keras.Model, batch: int, repeats: int = 10) -> list[dict]:
    """Forward + backward time of each layer alone, on a random batch of its input shape.

    Backward means the gradient with respect to the layer's input and to its
    trainable weights (conv1's input gradient is not needed in training but is
    timed too). Layers run with ``training=True`` (BatchNormalization with batch
    statistics, dropout and noise active).

    Returns:
        Rows ``{layer, type, ms, gflop, gflops}``: median milliseconds per batch
        of ``batch`` images, GFLOP per batch (3x forward, 0 for non-matmul layers)
        and achieved GFLOP/s.
    """
    import tensorflow as tf

    rows = []
    for layer in model.layers[1:]:
        x = tf.random.normal([batch, *layer.input.shape[1:]])
        upstream = tf.random.normal([batch, *layer.output.shape[1:]])

        @tf.function
        def step(x, upstream, layer=layer):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x, training=True)
                loss = tf.reduce_sum(tf.cast(y, tf.float32) * upstream)
            return tape.gradient(loss, [x, *layer.trainable_weights])

        step(x, upstream)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = step(x, upstream)
            _ = out[0].numpy()
            times.append(time.perf_counter() - start)
        ms = 1000 * statistics.median(times)
        gflop = 3 * 2 * layer_macs(layer) * batch / 1e9
        rows.append({"layer": layer.name, "type": type(layer).__name__, "ms": ms, "gflop": gflop,
                     "gflops": gflop / (ms / 1000) if gflop else 0.0})
    return rows


def print_profile(stock: list[dict], fer: list[dict], step_ms: dict[str, float]) -> None:
    """Both paths' per-layer rows side by side, slowest fer rows first."""
    stock_ms = {r["layer"]: r["ms"] for r in stock}
    total = {"stock": sum(stock_ms.values()), "fer": sum(r["ms"] for r in fer)}
    print(f"\nper layer, forward + backward, one batch: sum stock {total['stock']:.0f} ms, fer {total['fer']:.0f} ms "
          f"(a whole training step: stock {step_ms['stock']:.0f} ms, fer {step_ms['fer']:.0f} ms)")
    print(f"{'layer':12s} {'fer type':24s} {'stock ms':>9s} {'fer ms':>8s} {'share':>6s} {'GFLOP':>6s} {'fer GFLOP/s':>11s}")
    for r in sorted(fer, key=lambda r: -r["ms"]):
        rate = f"{r['gflops']:11.1f}" if r["gflop"] else f"{'-':>11s}"
        print(f"{r['layer']:12s} {r['type']:24s} {stock_ms.get(r['layer'], float('nan')):9.2f} {r['ms']:8.2f} "
              f"{100 * r['ms'] / total['fer']:5.1f}% {r['gflop']:6.2f} {rate}")


def quality(epochs: int, data: str | None) -> tuple[float, float]:
    """PublicTest accuracy after ``epochs`` epochs on the full Training split: (stock, fer train).

    Both from seed 0, batch 64, Adam at a constant 1e-3, no augmentation, so
    they differ only in the training path (precision, fused layers, tf.data).
    """
    import tempfile

    from fer_core.training.loop import train

    dataset = load_fer2013(data)
    train_split, public = dataset["train"], dataset["public"]
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_dtype_policy("float32")
    stock = build_model("seed", normalization="standardize", train_images=train_split.images)
    stock.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
    stock.fit(train_split.images[..., None].astype("float32"), train_split.labels, batch_size=64, epochs=epochs, verbose=2)
    stock_accuracy = float(np.mean(stock.predict(public.images[..., None].astype("float32"), verbose=0).argmax(1)
                                   == public.labels))
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(out=out, epochs=epochs, augment=False, schedule="constant", seed=0)
        fer_accuracy = train(config, dataset, verbose=2).metrics()["accuracy"]
    return stock_accuracy, fer_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="timed training steps per path and round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of both paths")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps of each path first (tracing, caches)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", default="auto", choices=("auto", "float32", "mixed_bfloat16"))
    parser.add_argument("--jit", default="auto", choices=("auto", "on", "off"), help="the fer path's --jit")
    parser.add_argument("--profile", action="store_true", help="also time every layer alone")
    parser.add_argument("--quality", type=int, metavar="EPOCHS",
                        help="instead: train both paths EPOCHS epochs on all of Training, print PublicTest accuracy")
    parser.add_argument("--data", help="FER2013 file or folder (default: $FER_DATA)")
    args = parser.parse_args()
    if args.quality:
        stock, fer = quality(args.quality, args.data)
        print(f"PublicTest accuracy after {args.quality} epochs: stock {stock:.4f}, fer train {fer:.4f}, "
              f"difference {100 * (fer - stock):+.2f} points")
        return
    config = TrainConfig(batch_size=args.batch_size, precision=args.precision, jit=args.jit)
    split = training_images(args.steps * args.batch_size, args.data)
    print(f"fer path: precision {resolve_precision(config.precision)}, XLA {resolve_jit(config.jit)}; "
          f"{args.rounds} rounds x {args.steps} steps of {args.batch_size} images per path, after {args.warmup} warm-up steps")
    pipeline = pipeline_images_per_second(split, config)
    print(f"input pipeline alone (augmentation on): {pipeline:9.1f} img/s")
    paths = [StockPath(split, args.batch_size, args.steps), FerPath(split, config)]
    for path in paths:
        path.fit(max(args.warmup, 2))
    results = interleaved(paths, args.steps, args.rounds)
    stock, fer = (results[p.name] for p in paths)
    ratios = [f / s for f, s in zip(fer, stock)]
    gflop = training_gflop_per_image(build_model("seed", normalization="none"))
    ceiling = matmul_gflops()
    for path in paths:
        speed = statistics.median(results[path.name])
        print(f"{path.name:34s} {spread(results[path.name])} img/s = {100 * speed * gflop / ceiling:.0f}% of the ceiling")
    print(f"per-round ratio fer/stock: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"seed CNN training: {gflop:.2f} GFLOP/image; float32 matmul here: {ceiling:.1f} GFLOP/s "
          f"(= {ceiling / gflop:.0f} img/s at full use)")
    if args.profile:
        step_ms = {"stock": 1000 * args.batch_size / statistics.median(stock),
                   "fer": 1000 * args.batch_size / statistics.median(fer)}
        print_profile(profile_layers(paths[0].model, args.batch_size), profile_layers(paths[1].model, args.batch_size),
                      step_ms)
    print(f"ratio={statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
