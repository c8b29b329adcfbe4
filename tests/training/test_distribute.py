"""Scale-out: `fer train` under tf.distribute.MultiWorkerMirroredStrategy with two local workers."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from fer_core.runs.folder import Run
from fer_core.training.accel import cpu_supports_bf16, is_chief, resolve_precision
from tests.conftest import kaggle_csv, make_faces, write_text

ALONE_SECONDS = 90  # the chief started alone must not have trained an epoch by then (one worker alone: ~40 s)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_train_one_epoch_and_the_chief_writes_the_model(tmp_path):
    images, labels = make_faces(320)
    data = write_text(tmp_path / "fer2013.csv", kaggle_csv(images, labels, ["Training"] * 256 + ["PublicTest"] * 64))
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    command = [sys.executable, "-m", "fer_core.cli", "train", "--data", str(data), "--epochs", "1",
               "--batch-size", "32", "--no-augment", "--precision", "float32"]
    workers = []
    for index in range(2):
        env = {**os.environ, "FER_CACHE": str(tmp_path / f"cache{index}"),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        out = tmp_path / ("run" if index == 0 else "run-worker1")
        workers.append(subprocess.Popen(command + ["--out", str(out)], env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        if index == 0:  # the chief alone cannot train: its collective steps wait for its peer
            time.sleep(ALONE_SECONDS)
            assert workers[0].poll() is None and not Run(out).history(), "the chief trained without its peer"
    outputs = []
    for worker in workers:
        try:
            outputs.append(worker.communicate(timeout=420)[0])
        finally:
            worker.kill()
    for index, (worker, output) in enumerate(zip(workers, outputs)):
        assert worker.returncode == 0, f"worker {index} failed:\n{output[-3000:]}"
    chief = Run(tmp_path / "run")
    assert chief.model_file.is_file() and chief.metrics_file.is_file()
    assert [row["epoch"] for row in chief.history()] == [1.0]
    assert not (tmp_path / "run-worker1" / "model.keras").exists(), "only the chief writes the model"


def test_chief_and_precision_rules(monkeypatch):
    cluster = {"worker": ["a:1", "b:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}}))
    assert not is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    assert is_chief()
    monkeypatch.delenv("TF_CONFIG")
    assert is_chief()
    assert cpu_supports_bf16({"avx2", "amx_bf16"}) and cpu_supports_bf16({"avx512_bf16"})
    assert not cpu_supports_bf16({"avx2", "fma", "avx512f"})
    assert resolve_precision("auto", {"avx2"}) == "float32"
    assert resolve_precision("auto", {"amx_bf16"}) == "mixed_bfloat16"
    assert resolve_precision("float32", {"amx_bf16"}) == "float32"
