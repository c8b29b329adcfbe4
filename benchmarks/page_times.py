"""Cold and warm times of every dashboard page in a real browser, on a fresh server with an empty cache.

Run by hand (not a test; needs Debian's chromium and playwright, as the browser test does)::

    FER_DATA=../shared/fer2013 python benchmarks/page_times.py                      # the default (seed) model
    FER_DATA=../shared/fer2013 python benchmarks/page_times.py --server-per-page    # each page on its own server
    FER_DATA=../shared/fer2013 python benchmarks/page_times.py --model assets/models/best --pages confusion

A new ``streamlit run dashboard/app.py`` with an empty ``$FER_CACHE`` (nothing on disk but what ships with
the model); each page opened by its URL in the order of ``--pages`` (cold: its first visit, as a newcomer
clicks through; the first page also pays for TensorFlow, and the warm-up runs beside the pages), then each
again (warm: the server's caches are full). With ``--server-per-page`` every page gets its own fresh server
and cache, so each cold figure includes everything. Two figures each time:

* first: seconds from Streamlit's app frame being up to the page's first sign (its title, a spinner or a
  progress bar, each of which says what it computes);
* content: seconds from opening the URL until the script has finished and every image has loaded.

Timings share the CPU with whatever else runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "dashboard"))

import test_browser as web  # noqa: E402 (the browser test's server, browser and waiting helpers)


def visit(tab, url: str) -> tuple[float, float]:
    """``(first, content)`` seconds of one visit to ``url`` (see the module docstring)."""
    start = time.monotonic()
    first = web.open_by_url(tab, url)
    web.settled(tab, timeout=1_200_000)
    if tab.locator('[data-testid="stException"]').count():
        print(f"  {url}: EXCEPTION on the page", flush=True)
    return first, time.monotonic() - start


def time_pages(browser, paths: list[str], model: str) -> dict[str, list[float]]:
    """``{page: [cold first, cold content, warm first, warm content]}`` on one fresh server."""
    with tempfile.TemporaryDirectory(prefix="fer-page-times-") as folder:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "FER_CACHE": str(Path(folder) / "cache"), "FER_MODEL": model}
        with web.streamlit_server(env, Path(folder) / "streamlit.log") as url:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            try:
                times = {path: list(visit(tab, f"{url}/{path}")) for path in paths}
                for path in paths:
                    times[path] += visit(tab, f"{url}/{path}")
                return times
            finally:
                tab.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "assets" / "models" / "seed"), help="a run folder or .keras")
    parser.add_argument("--pages", default=",".join(web.URLS), help="url paths, comma-separated")
    parser.add_argument("--server-per-page", action="store_true", help="a fresh server and cache for every page")
    args = parser.parse_args()
    model, paths = str(Path(args.model).resolve()), args.pages.split(",")
    print(f"model {args.model}; FER_DATA={os.environ.get('FER_DATA') or '(unset)'}")
    print(f"{'page':14s} {'cold first':>10s} {'cold content':>12s} {'warm first':>10s} {'warm content':>12s}")
    with web.playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=web.CHROMIUM, headless=True, args=web.CHROMIUM_ARGS)
        groups = [[path] for path in paths] if args.server_per_page else [paths]
        for group in groups:
            for path, (cold_first, cold, warm_first, warm) in time_pages(browser, group, model).items():
                print(f"{path:14s} {cold_first:10.2f} {cold:12.2f} {warm_first:10.2f} {warm:12.2f}", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
