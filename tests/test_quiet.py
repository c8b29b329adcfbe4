"""The `fer` command's start: no TensorFlow log lines, and its arguments checked before TensorFlow loads."""

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from fer_core.errors import FerError, shorten
from fer_core.quiet import tensorflow_log_line
from tests.conftest import make_faces
from tests.models.test_models import tiny_model

ROOT = Path(__file__).resolve().parents[1]
# What TensorFlow 2.21 wrote at the start of every `fer` command on a CPU-only machine with CUDA libraries.
STARTUP_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796527470.692804    4913 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders.",
    "I0000 00:00:1796527470.693797    4913 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will "
    "not be used.",
    "E0000 00:00:1796527472.342122    4913 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed "
    "call to cuInit: UNKNOWN ERROR (303)",
]


def _python(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python ARGS`` in a fresh process, as from a user's shell (no TF_CPP_MIN_LOG_LEVEL of the tests)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_tensorflows_start_up_lines_are_recognized_and_other_lines_are_not():
    assert all(tensorflow_log_line(line) for line in STARTUP_LINES)
    kept = ["/x/y.py:3: UserWarning: something a person should read", "fer: error: m.keras: no such model file",
            "F0000 00:00:1796527472.342122    4913 x.cc:1] a fatal error stays"]
    assert not any(tensorflow_log_line(line) for line in kept)


def test_a_successful_command_prints_its_result_and_no_tensorflow_log_line(tmp_path):
    tiny_model().save(tmp_path / "m.keras")
    Image.fromarray(make_faces(1)[0][0]).save(tmp_path / "face.png")
    done = _python("-m", "fer_core.cli", "predict", "m.keras", "face.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("face.png: ")
    assert not re.search(r"^[IWE]\d{4} |absl|cuInit|oneDNN|cuda", done.stderr, re.M | re.I), done.stderr


BAD_ARGUMENTS = {  # arguments -> the start of the one line
    "a missing model": (["evaluate", "missing.keras"], "missing.keras: no such model file"),
    "an empty model file": (["predict", "empty.keras", "face.png"], "empty.keras: not a Keras model"),
    "a missing image": (["predict", "m.keras", "nope.png"], "nope.png: no such image file"),
    "a missing data folder": (["evaluate", "m.keras", "--data", "nowhere"], "nowhere: no such file or folder"),
    "a NaN option": (["train", "--data", "fer2013.csv", "--learning-rate", "nan"], "--learning-rate nan: expected"),
}


def test_bad_arguments_are_one_line_before_tensorflow_loads(tmp_path):
    (tmp_path / "empty.keras").write_bytes(b"")
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as archive:  # passes the look at the file; never loaded
        archive.writestr("config.json", "{}")
    (tmp_path / "fer2013.csv").write_text("emotion,pixels,Usage\n")
    calls = "; ".join(f"print(main({args!r}), *[m for m in ('tensorflow', 'keras') if m in sys.modules])"
                      for args, _ in BAD_ARGUMENTS.values())
    done = _python("-c", f"import sys; from fer_core.cli import main; {calls}", cwd=tmp_path)
    assert done.stdout.split() == ["2"] * len(BAD_ARGUMENTS), done.stdout + done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == len(BAD_ARGUMENTS)
    for line, (_, says) in zip(lines, BAD_ARGUMENTS.values()):
        assert line.startswith(f"fer: error: {says}")


def test_an_architecture_fer_train_cannot_build_is_refused_before_tensorflow_loads(tmp_path):
    call = "main(['train', '--model', 'sed', '--out', 'run'])"
    code = (f"import sys; from fer_core.cli import main\ntry: {call}\n"
            "except SystemExit as exit: print(exit.code, *[m for m in ('tensorflow', 'keras') if m in sys.modules])")
    done = _python("-c", code, cwd=tmp_path)
    assert done.stdout.split() == ["2"], done.stdout + done.stderr[-2000:]
    line = done.stderr.strip()
    assert "\n" not in line and line.startswith("fer train: error: argument --model: invalid choice: 'sed'")
    assert all(name in line for name in ("seed", "vgg", "vgg-wide")), line
    assert not (tmp_path / "run").exists()


def test_a_message_is_one_line_and_a_long_one_is_cut_in_the_middle():
    pixels = " ".join(["255"] * 2304)
    error = FerError(f"data.csv: row 2: column 'emotion' is '{pixels}'\n(expected an integer 0..6)")
    text = str(error)
    assert "\n" not in text and len(text) <= 460
    assert text.startswith("data.csv: row 2: column 'emotion' is '255") and text.endswith("(expected an integer 0..6)")
    assert "characters cut]" in text
    assert shorten("short") == "short"


@pytest.mark.parametrize("limit", [20, 60, 400])
def test_shorten_keeps_about_the_limit(limit):
    assert len(shorten("x" * 10_000, limit)) <= limit + 30


def test_tensorflows_retracing_notice_is_dropped_and_other_warnings_are_kept():
    import logging

    from fer_core.quiet import RetracingNotice

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("tensorflow", logging.WARNING, "x.py", 1, message, None, None)

    notice = ("5 out of the last 9 calls to <function _ascent_fn.<locals>.make.<locals>.ascend at 0x7fd6df0fc680> "
              "triggered tf.function retracing. Tracing is expensive and ...")
    assert not RetracingNotice().filter(record(notice))
    assert RetracingNotice().filter(record("Compiled the loaded model, but the compiled metrics have yet to be built."))


def test_filter_images_of_many_conv_layers_print_no_retracing_notice(tmp_path):
    import keras

    inputs = keras.Input((48, 48, 1))
    x = inputs
    for i in range(6):  # one compiled ascent per layer: six first traces in a row
        x = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name=f"conv{i + 1}")(x)
    outputs = keras.layers.Dense(7, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    keras.Model(inputs, outputs).save(tmp_path / "m.keras")
    done = _python("-m", "fer_core.cli", "filters", "m.keras", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list((tmp_path / "filters").rglob("*.npz"))) == 6
    assert "retracing" not in done.stderr, done.stderr[-2000:]
