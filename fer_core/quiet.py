"""Start Keras and TensorFlow without TensorFlow's start-up log lines.

``TF_CPP_MIN_LOG_LEVEL`` hides TensorFlow's C++ log lines only once its logging is
set up; the lines it writes before that (``oneDNN custom operations are on``,
``Could not find cuda drivers``) and the device probe's ``failed call to cuInit``
error on a machine without a GPU reach the terminal of every ``fer`` command,
however it ends. :func:`import_keras_quietly` imports Keras (and TensorFlow, its
usual backend), finds the devices, and drops those lines. Only the standard library
is imported here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator

# An absl/glog line (``I0000 00:00:1796527470.692804    4913 port.cc:153] ...``) and absl's notice before its set-up.
LOG_LINE = re.compile(r"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] |WARNING: All log messages before absl)")


class RetracingNotice(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls to <function ...> triggered tf.function retracing" warning.

    The visualizations compile one ``tf.function`` per (model, layer) from the same Python
    code (:func:`fer_core.vis.probes.cached`), each traced once at its first call;
    TensorFlow counts the traces of every function made from that code together, so
    ``fer filters`` on a model with many conv layers printed the warning although no
    function was ever traced twice. :mod:`fer_core.vis.probes` installs it on the
    ``tensorflow`` logger (``tf.get_logger()``), so the CLI and the dashboard alike are spared.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def tensorflow_log_line(line: str) -> bool:
    """Whether ``line`` is one of TensorFlow's C++ log lines (info, warning or error level; fatal ones are kept)."""
    return bool(LOG_LINE.match(line))


@contextlib.contextmanager
def _stderr_to_file() -> Iterator[list[str]]:
    """Send what the process writes to file descriptor 2 (C++ code included) to a temporary file for the
    block; afterwards the yielded list holds its lines."""
    sys.stderr.flush()
    saved = os.dup(2)
    lines: list[str] = []
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines += captured.read().decode(errors="replace").splitlines()


def import_keras_quietly() -> None:
    """Import Keras and, under the TensorFlow backend, TensorFlow and its device list, dropping TensorFlow's log lines.

    Every other line written meanwhile (a Python warning) is passed on to stderr; when the
    import fails, every line is, so the reason stays visible. Does nothing once Keras is imported.
    """
    if "keras" in sys.modules:
        return
    error: BaseException | None = None
    with _stderr_to_file() as lines:
        try:
            import keras

            if keras.config.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.list_physical_devices()  # the CUDA probe, which logs when there is no GPU
        except BaseException as exc:  # shown after its lines, once stderr is back
            error = exc
    kept = lines if error is not None else [line for line in lines if not tensorflow_log_line(line)]
    if kept:
        print("\n".join(kept), file=sys.stderr, flush=True)
    if error is not None:
        raise error
