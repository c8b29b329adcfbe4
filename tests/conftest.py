"""Shared fixtures: small FER2013 files in every real format, written to a temp dir."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from fer_core.labels import EMOTIONS, IMAGE_SIZE  # noqa: E402

REAL_DATA = Path(os.environ.get("FER_DATA", Path(__file__).resolve().parents[2] / "shared" / "fer2013"))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Each test gets its own parsed-data cache, so tests never see each other's cache."""
    monkeypatch.setenv("FER_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def real_data() -> Path:
    if not (REAL_DATA / "fer2013.csv.gz").is_file():
        pytest.skip("real FER2013 not found (set FER_DATA)")
    return REAL_DATA


def make_faces(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random ``uint8 (48, 48)`` faces and labels cycling through all 7 classes."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8), np.arange(n) % len(EMOTIONS)


def pixel_text(image: np.ndarray) -> str:
    return " ".join(map(str, image.reshape(-1).tolist()))


def files_under(folder: Path) -> set[str]:
    """Every file and folder below ``folder``, relative to it: compared before and after a refused command,
    it shows that the command wrote nothing."""
    return {str(p.relative_to(folder)) for p in Path(folder).rglob("*")}


def write_text(path: Path, text: str, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(path, "wt") as stream:
            stream.write(text)
    else:
        path.write_text(text)
    return path


def kaggle_csv(images, labels, usages) -> str:
    rows = [f"{y},{pixel_text(x)},{u}" for x, y, u in zip(images, labels, usages)]
    return "\n".join(["emotion,pixels,Usage", *rows]) + "\n"


def id_csv(images, pixel_column: str = "pixels", start: int = 0) -> str:
    rows = [f"{start + i},{pixel_text(x)}" for i, x in enumerate(images)]
    return "\n".join([f"id,{pixel_column}", *rows]) + "\n"


@pytest.fixture
def kaggle_folder(tmp_path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A ``../shared/fer2013``-style folder: 21 train, 14 public rows + 5 unlabeled private ids."""
    images, labels = make_faces(40)
    usages = ["Training"] * 21 + ["PublicTest"] * 14
    folder = tmp_path / "fer"
    write_text(folder / "fer2013.csv.gz", kaggle_csv(images[:35], labels[:35], usages), gz=True)
    write_text(folder / "private_test.csv.gz", id_csv(images[35:]), gz=True)
    return folder, images, labels


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder`` as ``{relative path: (size, mtime_ns)}`` (links not followed):
    equal snapshots before and after a command show that it changed nothing there."""
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


# A line of the native runtime's own logging (TensorFlow's C++ log, absl's first-use notice), which a
# subprocess's stderr may hold before the command's own output; nothing the command prints looks like it.
NATIVE_LOG = re.compile(r"^([EWIF]\d{4} \d\d:\d\d:[\d.]+ +\d+ \S+:\d+\] |WARNING: All log messages before absl::)")


def one_error_line(stderr: str) -> str:
    """The message of the one ``fer: error: MESSAGE`` line a failed command printed, asserting that stderr holds
    nothing else (no traceback, no second line, no wrapped message) but the native runtime's log lines."""
    lines = [line for line in stderr.strip().splitlines() if not NATIVE_LOG.match(line)]
    assert len(lines) == 1 and lines[0].startswith("fer: error: "), stderr[-2000:]
    return lines[0].removeprefix("fer: error: ")


REPO = Path(__file__).resolve().parents[1]
_WRITER = """import os, sys
from fer_core.runs import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(os.urandom(int(sys.argv[2])))
    print(tmp, flush=True)
    sys.stdin.read()  # mid-write until killed
"""


def start_write(target: Path, size: int = 1 << 20):
    """A process caught in the middle of an atomic write of ``target`` (``size`` bytes written so far):
    ``(process, its temporary file)``; kill the process to leave that file as a kill during a write does."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", _WRITER, str(target), str(size)], cwd=REPO,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return process, Path(process.stdout.readline().strip())


def killed_write(target: Path, size: int = 1 << 20) -> Path:
    """The temporary file a ``kill -9`` during an atomic write of ``target`` leaves behind (``target`` itself,
    if it was there, is left as it was)."""
    before = target.read_bytes() if target.is_file() else None
    process, temp = start_write(target, size)
    process.kill()
    process.wait()
    assert temp.is_file() and temp.stat().st_size == size
    assert (target.read_bytes() if target.is_file() else None) == before
    return temp
