"""The README's screenshots (docs/screenshots/*.png) of the pages that show no FER2013 face.

Starts ``streamlit run dashboard/app.py`` without ``FER_DATA`` (so no face from the
dataset can appear), drives Debian's chromium with Playwright, and saves the Model
page, the Filters page at conv3, the Filters page beside a second model and the
Training page::

    python docs/make_screenshots.py --model assets/models/seed --compare ~/fer-runs/old-shipped

``--compare`` and the shipped model must be findable by the pickers: the folder
holding ``--compare`` is passed as ``$FER_RUNS``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def start_server(port: int, env: dict) -> subprocess.Popen:
    command = [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
               "--server.headless", "true", "--server.fileWatcherType", "none"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("streamlit did not start")


def settle(page) -> None:
    for _ in range(3):
        page.wait_for_selector(IDLE, timeout=300_000)
        page.wait_for_timeout(1500)
    page.wait_for_function("() => Array.from(document.images).every(image => image.complete)", timeout=60_000)


def pick(page, label: str, option: str) -> None:
    """Choose ``option`` in the select box labelled ``label`` (sidebar or main)."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.click()
    page.keyboard.type(option)  # the list is filtered as one types (long lists are virtualized)
    choices = page.get_by_role("option")
    if not choices.filter(has_text=option).count():
        raise SystemExit(f"{label}: no option {option!r} (offered: {choices.all_inner_texts()})")
    choices.filter(has_text=option).first.click()
    settle(page)


def open_page(page, link: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=link).click()
    settle(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="assets/models/seed", help="the model the pages show")
    parser.add_argument("--compare", required=True, help="a second run folder, for the side-by-side shot")
    parser.add_argument("--port", type=int, default=8599)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    compare = Path(args.compare).expanduser().resolve()
    env = {k: v for k, v in os.environ.items() if k != "FER_DATA"}  # never a dataset face in a screenshot
    env.update(FER_RUNS=str(compare.parent), FER_MODEL=str(Path(args.model).resolve()))
    server = start_server(args.port, env)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{args.port}")
            settle(page)
            page.screenshot(path=str(OUT / "model.png"), full_page=True)
            open_page(page, "Filters")
            pick(page, "Conv layer", "conv3")
            page.screenshot(path=str(OUT / "filters.png"), full_page=True)
            pick(page, "Compare with", f"{compare.name} (run)")
            page.screenshot(path=str(OUT / "compare-filters.png"), full_page=True)
            open_page(page, "Training")
            page.screenshot(path=str(OUT / "training.png"), full_page=True)
            browser.close()
    finally:
        server.kill()
    print(f"wrote {', '.join(p.name for p in sorted(OUT.glob('*.png')))} to {OUT}")


if __name__ == "__main__":
    main()
