"""The dashboard in a real browser: `streamlit run` on a free port, Debian's chromium driven by Playwright.

Skipped when chromium (``/usr/bin/chromium``, or ``$CHROMIUM``) or the ``playwright``
package is missing; CI installs both. Playwright's own browser download is never used.
Screenshots (random fixture faces only) go to ``screenshots/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = {  # sidebar link -> the page's heading
    "Model": "Model",
    "Filters": "Filters",
    "Compare runs": "Compare runs",
    "Training": "Training",
    "Confusion matrix": "Confusion matrix",
    "Misclassified": "Misclassified faces",
    "Saliency": "Saliency",
    "Feature maps": "Feature maps",
    "Your photo": "Your photo",
}
LOADED = """() => Array.from(document.images).every(image => image.complete)
    && !document.querySelector('[data-testid="stSkeleton"]')"""  # images in, charts and tables drawn
SLOW = 180_000  # ms: the first page loads TensorFlow and the model (minutes when a training run shares the CPU)
URLS = {  # url path -> the page's heading
    "model": "Model", "filters": "Filters", "compare": "Compare runs", "training": "Training",
    "confusion": "Confusion matrix", "misclassified": "Misclassified faces", "saliency": "Saliency",
    "feature-maps": "Feature maps", "photo": "Your photo",
}
# Something on screen: the page's title, a spinner or a progress bar (each says what it computes).
SHOWING = '[data-testid="stMain"] h1, [data-testid="stSpinner"], [data-testid="stProgress"]'
FIRST_SIGN = 10.0  # s: generous for a shared CPU; benchmarks/page_times.py reports the real figures

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=f"no chromium at {CHROMIUM}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {seconds} s")


@contextlib.contextmanager
def streamlit_server(env: dict[str, str], log_path: Path):
    """``streamlit run dashboard/app.py`` on a free port with ``env``; yields its URL once it answers."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "dashboard/app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
    ]
    log = open(log_path, "w")  # noqa: SIM115 (closed in finally)
    # its own session, as a server started from a terminal is: Linux then schedules it beside the browser (which
    # Playwright starts in a session of its own) group against group, whatever the caller's group was reniced to
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)  # the server and any child it started (the FER2013 parse)
        try:
            server.wait(timeout=3)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def server_url(workspace, tmp_path_factory):
    env = {**os.environ, **workspace, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["FER_MODEL"] = str(Path(env["FER_RUNS"]) / "tiny-a")
    with streamlit_server(env, tmp_path_factory.mktemp("log") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(server_url, browser):
    """One tab for the module: pages are reached through the sidebar, as a user does."""
    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
    tab.goto(server_url, timeout=SLOW)
    yield tab
    tab.close()


def open_page(page, link: str, heading: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=link).click()
    page.get_by_role("heading", name=heading).first.wait_for(timeout=SLOW)
    settled(page)


def settled(page, timeout: float = SLOW) -> None:
    """Wait until the script run is over (and stays over for a moment) and every image has loaded."""
    idle = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        page.wait_for_selector(idle, timeout=timeout)
        page.wait_for_timeout(400)
        if page.locator(idle).count():
            page.wait_for_function(LOADED, timeout=timeout)
            return
    raise TimeoutError("the page kept running")


def screenshot(page, name: str) -> None:
    folder = ROOT / "screenshots"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"browser-{name}.png"))


def test_every_page_renders_without_an_exception(page):
    for link, heading in PAGES.items():
        open_page(page, link, heading)
        errors = page.locator('[data-testid="stException"]')
        assert errors.count() == 0, f"exception on {link}: {errors.first.inner_text()[:600]}"
        screenshot(page, link.lower().replace(" ", "-"))


def seconds_to(tab, selector: str, timeout: float) -> float:
    """Seconds from now until ``selector`` is on the page (a timeout fails the test)."""
    start = time.monotonic()
    tab.wait_for_selector(selector, timeout=timeout * 1000)
    return time.monotonic() - start


def open_by_url(tab, url: str) -> float:
    """Go to ``url``; seconds from Streamlit's app frame being up to its first sign (title, spinner, progress)."""
    tab.goto(url, timeout=SLOW)  # Streamlit's own scripts take long to serve on a busy CPU
    tab.wait_for_selector('[data-testid="stApp"]', timeout=SLOW)
    return seconds_to(tab, SHOWING, SLOW / 1000)


def test_every_page_by_url_on_a_fresh_server_shows_something_at_once_then_its_content(workspace, browser,
                                                                                        tmp_path_factory):
    """A new server with an empty cache: each page, opened by its URL, shows its title or a progress
    indicator at once, then its content without a click (Filters: the grid of its preselected layer)."""
    folder = tmp_path_factory.mktemp("fresh")
    env = {**os.environ, **workspace, "TF_CPP_MIN_LOG_LEVEL": "2", "FER_CACHE": str(folder / "cache")}
    env["FER_MODEL"] = str(Path(env["FER_RUNS"]) / "tiny-a")
    with streamlit_server(env, folder / "streamlit.log") as url:
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            for path, heading in URLS.items():
                first = open_by_url(tab, f"{url}/{path}")
                assert first < FIRST_SIGN, f"{path}: nothing on screen for {first:.1f} s"
                tab.get_by_role("heading", name=heading).first.wait_for(timeout=SLOW)
                settled(tab)
                assert tab.locator('[data-testid="stException"]').count() == 0, f"exception on {path}"
                if path == "filters":
                    assert tab.get_by_text("conv2: all 8 filters").count() >= 1  # no click needed
                    assert tab.locator('[data-testid="stMain"] [data-testid="stImage"] img').count() >= 3
        finally:
            tab.close()


def test_picking_a_layer_on_filters_shows_its_images(page):
    open_page(page, "Filters", "Filters")
    page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name="conv2").click()
    page.get_by_text("conv2: all 8 filters").wait_for(timeout=SLOW)
    settled(page)
    images = page.locator('[data-testid="stMain"] [data-testid="stImage"] img')
    assert images.count() >= 3  # the large filter, the seeds, the faces that excite it
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "filters-conv2")
    grid = page.locator('[data-testid="stPlotlyChart"] .nsewdrag').first.bounding_box()
    page.mouse.click(grid["x"] + grid["width"] - 3, grid["y"] + grid["height"] / 2)  # the last of 8 in a row
    page.get_by_text("conv2 filter 7").wait_for(timeout=SLOW)
    settled(page)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_clicking_a_confusion_cell_shows_that_pair(page):
    open_page(page, "Confusion matrix", "Confusion matrix")
    plot = page.locator('[data-testid="stPlotlyChart"] .nsewdrag').first.bounding_box()
    row, column = 1, 5  # true disgust, predicted surprise
    page.mouse.click(plot["x"] + plot["width"] * (column + 0.5) / 7, plot["y"] + plot["height"] * (row + 0.5) / 7)
    page.get_by_role("heading", name="True disgust, predicted surprise").wait_for(timeout=SLOW)
    settled(page)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_misclassified_tiles_show_their_votes_and_filter_by_the_annotators_side(page):
    """Every tile on screen carries its FER+ votes (ten at most, most first); picking a side of the
    annotators' radio leaves exactly the faces its count announced."""
    open_page(page, "Misclassified", "Misclassified faces")
    main = page.locator('[data-testid="stMain"]')
    tiles = [text for text in main.locator('[data-testid="stCaptionContainer"]').all_inner_texts() if "FER+:" in text]
    assert len(tiles) == 24  # the first page's tiles
    for text in tiles:
        counts = [int(n) for n in re.findall(r"[a-z]+ (\d+)", text.split("FER+:")[1])]
        assert counts and counts == sorted(counts, reverse=True) and sum(counts) <= 10, text
    option = main.get_by_text(re.compile(r"^the label \(\d+\)$"))
    expected = int(re.search(r"\((\d+)\)", option.inner_text()).group(1))
    option.click()
    page.get_by_text(f"{expected} of {expected} misclassified faces").wait_for(timeout=SLOW)
    settled(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "misclassified-votes")


def test_two_sessions_at_once_keep_their_own_choices(server_url, browser):
    """Two browser sessions pick different layers at the same time; each keeps its own."""
    tabs = [browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in range(2)]
    try:
        for tab in tabs:
            tab.goto(server_url, timeout=SLOW)
            open_page(tab, "Filters", "Filters")
        for tab, layer in zip(tabs, ("conv1", "conv2")):  # both runs start before either is awaited
            tab.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first.click()
            tab.get_by_role("option", name=layer).click()
        for tab, layer in zip(tabs, ("conv1", "conv2")):
            tab.get_by_text(f"{layer}: all ").first.wait_for(timeout=SLOW)
            settled(tab)
        for tab, layer, other in zip(tabs, ("conv1", "conv2"), ("conv2", "conv1")):
            assert tab.get_by_text(f"{layer}: all ").count() >= 1
            assert tab.get_by_text(f"{other}: all ").count() == 0
            assert tab.locator('[data-testid="stException"]').count() == 0
    finally:
        for tab in tabs:
            tab.context.close()


def test_training_page_follows_a_running_run_on_its_own(page, workspace):
    """A tiny ``fer train`` in the background: the page shows its epoch count rise without a click."""
    run = Path(workspace["FER_RUNS"]) / "live"
    command = [sys.executable, "-m", "fer_core.cli", "train", "--out", str(run), "--epochs", "40",
               "--batch-size", "16", "--val-limit", "32"]
    training = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **workspace}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SLOW / 1000
        while not (run / "heartbeat.json").is_file() and time.monotonic() < deadline:
            assert training.poll() is None, "fer train exited early"
            time.sleep(0.5)
        open_page(page, "Training", "Training")
        seen = epoch_on_page(page, after=0)
        later = epoch_on_page(page, after=seen)  # no click in between: the page's fragment reruns by itself
        assert later > seen
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "training-live")
    finally:
        training.kill()
        training.wait()
        shutil.rmtree(run, ignore_errors=True)


def epoch_on_page(page, after: int, timeout: float = 60) -> int:
    """The first "epoch k of 40" the page shows with k > ``after`` (polling the page, never clicking)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = page.locator("body").inner_text()
        shown = [int(k) for k in re.findall(r"epoch (\d+) of 40", text)]
        if shown and max(shown) > after:
            return max(shown)
        time.sleep(1)
    pytest.fail(f"the Training page showed no epoch after {after} within {timeout} s")
