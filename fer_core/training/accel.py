"""The machine: compute precision and tf.distribute strategy for training.

TensorFlow is imported only where needed, so training also runs on Keras's
JAX or PyTorch backends (for example on a GPU machine without TensorFlow).

* Precision: bfloat16 only pays where the CPU computes it natively (AVX-512
  BF16 or AMX); elsewhere oneDNN emulates it and training gets slower than
  float32 (measured 10x slower on an AVX2-only CPU), so ``auto`` picks float32.
* XLA: off on a CPU-only host unless asked for (:func:`resolve_jit`).
* Distribution: ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names a
  cluster, ``MirroredStrategy`` when several GPUs are visible, else the default
  (single-device) strategy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The CPU feature flags Linux reports (empty where unknown)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


def cpu_supports_bf16(flags: set[str] | None = None) -> bool:
    """True when the CPU has native bfloat16 arithmetic (AVX-512 BF16 or AMX-BF16)."""
    flags = cpu_flags() if flags is None else flags
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def has_gpu() -> bool:
    """Whether the Keras backend in use sees a GPU."""
    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def resolve_precision(choice: str, flags: set[str] | None = None) -> str:
    """``auto`` -> ``mixed_bfloat16`` on bf16-capable CPUs or any GPU, else ``float32``."""
    if choice != "auto":
        return choice
    if has_gpu():
        return "mixed_bfloat16"
    return "mixed_bfloat16" if cpu_supports_bf16(flags) else "float32"


def resolve_jit(choice: str) -> bool:
    """``jit_compile`` for ``model.compile``: ``on`` -> True, ``off`` -> False, ``auto`` -> whether a GPU is seen.

    XLA's CPU convolutions do not use oneDNN: on this project's 2-core EPYC the
    seed CNN trained at 32 img/s with XLA against 388 without it
    (``benchmarks/train_speed.py --jit on``), so ``auto`` keeps it off on a CPU.
    """
    if choice in ("on", "off"):
        return choice == "on"
    return has_gpu()


def cluster_config() -> dict | None:
    """The parsed ``TF_CONFIG`` if it names a cluster, else None."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    config = json.loads(raw)
    return config if config.get("cluster") else None


def distribution_strategy():
    """The ``tf.distribute`` strategy for this process (see the module docstring).

    Only for the TensorFlow backend; other backends train on one device here.
    """
    import tensorflow as tf

    if cluster_config() is not None:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief() -> bool:
    """Whether this process writes the run's files (always, outside a cluster)."""
    config = cluster_config()
    if config is None:
        return True
    task = config.get("task", {})
    if "chief" in config["cluster"]:
        return task.get("type") == "chief"
    return task.get("type", "worker") == "worker" and int(task.get("index", 0)) == 0
