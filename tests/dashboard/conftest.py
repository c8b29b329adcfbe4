"""Fixtures for the dashboard tests: one tiny workspace per session, and an AppTest factory."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from workspace import write_workspace

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TIMEOUT = 90  # seconds for one script run: the first one loads TensorFlow


@pytest.fixture(scope="session", autouse=True)
def _background_threads_end_before_python():
    """The app's background tasks (``dashboard/background.py``: the dataset load, the model warm-up) are daemon
    threads; one still inside TensorFlow when the interpreter exits aborts it ("FATAL: exception not rethrown",
    exit status 134, seen when a single short test ended first). So the session waits for them."""
    yield
    for thread in threading.enumerate():
        if thread.name.startswith("fer-lens-"):
            thread.join(timeout=600)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> dict[str, str]:
    """Environment for a tiny workspace: FER_DATA, FER_RUNS, FER_CACHE (shared by all dashboard tests)."""
    return write_workspace(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture
def app_env(workspace, monkeypatch) -> dict[str, str]:
    for name, value in workspace.items():
        monkeypatch.setenv(name, value)
    return workspace


@pytest.fixture
def open_page(app_env):
    """``open_page("filters")``: an AppTest on that page with the tiny run ``tiny-a`` picked
    (and, with ``compare="tiny-b"``, that run under "Compare with")."""
    from streamlit.testing.v1 import AppTest

    def open_(page: str | None = None, model: str | None = "tiny-a", compare: str | None = None):
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        for name, run in (("model", model), ("compare_model", compare)):
            if run:
                at.session_state[name] = str((Path(app_env["FER_RUNS"]) / run / "model.keras").resolve())
        at.run()
        if page:
            at.switch_page(f"app_pages/{page}.py").run()
        return at

    return open_
