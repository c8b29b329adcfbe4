"""Speed of fer_core.vis: gradient ascent per filter, and saliency per method.

Run by hand (not a test), after ``pip install -r requirements-bench.txt``::

    python benchmarks/vis_speed.py [--model RUN_OR_FILE] [--layers conv1,conv3,conv6]

Prints, for each layer: seconds for ONE filter's gradient-ascent image at the
default steps (warm; the one-off tf.function tracing is printed apart),
seconds per filter when up to ``--max-filters`` filters of the layer run as
one batch, and seconds per filter for the same work done one filter at a time
by tf-keras-vis's ``ActivationMaximization`` at equal steps (its own default
input modifiers and regularizers). If tf-keras-vis cannot be imported or run,
it says why and times a naive baseline instead: one filter at a time, an eager
``tf.GradientTape`` loop, plain pixels, jitter only. Then seconds for each
saliency method on ``--images`` faces. The last line is ``ratio=...``: the
baseline's seconds per filter divided by ours (batched), at ``--ratio-layer``.

Without ``--model`` an untrained seed model is used: speed does not depend on
the weights. Timings share the CPU with whatever else runs; rerun on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from fer_core.models.builders import build_model, load_model  # noqa: E402
from fer_core.vis import filters, saliency  # noqa: E402


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


# ----------------------------------------------------------------------------- baselines


def tf_keras_vis_baseline(model, layer: str, steps: int):
    """``run(filter) -> image`` with tf-keras-vis, or raise with the reason it cannot work."""
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.model_modifiers import ExtractIntermediateLayer
    from tf_keras_vis.utils.scores import CategoricalScore

    maximizer = ActivationMaximization(model, model_modifier=[ExtractIntermediateLayer(layer)], clone=True)
    rng = np.random.default_rng(0)

    def run(index: int):
        start = rng.uniform(96, 160, (1, 48, 48, 1)).astype("float32")
        return maximizer(CategoricalScore(index), seed_input=start, steps=steps)

    run(0)  # fail here, not inside the timing, if it cannot work
    return run


def naive_baseline(model, layer: str, steps: int):
    """``run(filter) -> image``: an eager GradientTape loop, one filter at a time (the fallback)."""
    sub = tf.keras.Model(model.inputs, model.get_layer(layer).output)
    rng = np.random.default_rng(0)

    def run(index: int):
        image = tf.Variable(rng.uniform(96, 160, (1, 48, 48, 1)).astype("float32"))
        optimizer = tf.keras.optimizers.Adam(2.0)
        for _ in range(steps):
            shift = rng.integers(-2, 3, 2)
            with tf.GradientTape() as tape:
                moved = tf.roll(image, shift=list(map(int, shift)), axis=[1, 2])
                loss = -tf.reduce_mean(sub(moved, training=False)[..., index])
            optimizer.apply_gradients([(tape.gradient(loss, image), image)])
            image.assign(tf.clip_by_value(image, 0.0, 255.0))
        return image.numpy()

    return run


def baseline_for(model, layer: str, steps: int):
    try:
        return "tf-keras-vis ActivationMaximization", tf_keras_vis_baseline(model, layer, steps)
    except Exception as exc:  # ImportError, or an incompatibility with Keras 3
        reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        print(f"  tf-keras-vis cannot be used ({reason[:200]}); FALLBACK baseline: naive eager GradientTape loop")
        return "naive eager GradientTape loop (fallback)", naive_baseline(model, layer, steps)


# ----------------------------------------------------------------------------- measurements


def measure_layer(model, layer: str, steps: int, max_filters: int, baseline_filters: int) -> dict:
    count = filters.channel_count(model, layer)
    trace_s, _ = timed(filters.gradient_ascent, model, layer, [0], steps=steps)
    one_s, _ = timed(filters.gradient_ascent, model, layer, [1 % count], steps=steps)
    chosen = list(range(min(count, max_filters)))
    filters.gradient_ascent(model, layer, chosen[:2], steps=2)  # the batch shape is traced already; warm caches
    batch_s, result = timed(filters.gradient_ascent, model, layer, chosen, steps=steps)
    name, run = baseline_for(model, layer, steps)
    base_s, _ = timed(lambda: [run(i) for i in range(baseline_filters)])
    per_filter, base_per_filter = batch_s / len(chosen), base_s / baseline_filters
    print(f"{layer}: {count} filters, {steps} steps")
    print(f"  ours, one filter:           {one_s:7.3f} s   (first call, with tracing: {trace_s:.3f} s)")
    print(
        f"  ours, {len(chosen):3d} filters batched:  {batch_s:7.3f} s = {per_filter:.3f} s per filter"
        f"   (objective rose for {int(np.sum(result.final > result.start))}/{len(chosen)})"
    )
    print(f"  {name}, one at a time ({baseline_filters} filters): {base_per_filter:.3f} s per filter")
    print(
        f"  ratio {layer}: {base_per_filter / per_filter:.2f}x per filter (batched), "
        f"{base_per_filter / one_s:.2f}x vs our single filter"
    )
    return {"ratio": base_per_filter / per_filter}


def measure_saliency(model, count: int) -> None:
    images = np.random.default_rng(0).integers(0, 256, (count, 48, 48), dtype=np.uint8)
    print(f"saliency on {count} images (defaults; warm, tracing excluded):")
    for method in saliency.METHODS:
        saliency.saliency(model, images[:2], method)  # trace
        seconds, _ = timed(saliency.saliency, model, images, method)
        print(f"  {method:22s} {seconds:7.3f} s  ({seconds / count * 1000:.1f} ms per image)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .keras file or run directory (default: an untrained seed model)")
    parser.add_argument("--layers", default="conv1,conv3,conv6")
    parser.add_argument("--ratio-layer", default="conv3", help="the layer whose ratio is the last line")
    parser.add_argument("--steps", type=int, default=64, help="gradient-ascent steps (64 = our default)")
    parser.add_argument("--max-filters", type=int, default=32, help="filters per batched run")
    parser.add_argument("--baseline-filters", type=int, default=3, help="filters timed one at a time in the baseline")
    parser.add_argument("--images", type=int, default=32)
    args = parser.parse_args(argv)

    model = load_model(args.model) if args.model else build_model("seed", normalization="none")
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, model: {args.model or 'untrained seed'}")
    layers = args.layers.split(",")
    ratios = {
        layer: measure_layer(model, layer, args.steps, args.max_filters, args.baseline_filters)["ratio"]
        for layer in layers
    }
    if args.images:
        measure_saliency(model, args.images)
    print(f"ratio={ratios.get(args.ratio_layer, next(iter(ratios.values()))):.2f}")


if __name__ == "__main__":
    main()
