"""Cold and warm times of every dashboard page in a real browser, each page on a fresh server.

Run by hand (not a test; needs Debian's chromium and playwright, as the browser test does)::

    FER_DATA=../shared/fer2013 python benchmarks/page_times.py                      # the default (seed) model
    FER_DATA=../shared/fer2013 python benchmarks/page_times.py --model assets/models/best --pages confusion

For each page: a new ``streamlit run dashboard/app.py`` with an empty ``$FER_CACHE`` (cold: nothing loaded,
nothing on disk but what ships with the model), the page opened by its URL, then the same URL reloaded
(warm: the server's caches are full). Two figures each time:

* first: seconds from Streamlit's app frame being up to the page's first sign (its title, a spinner or a
  progress bar, each of which says what it computes);
* content: seconds from opening the URL until the script has finished and every image has loaded.

The server's warm-up starts with the first session, so a cold page shares the CPU with it. Timings share the
CPU with whatever else runs.
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


def time_page(browser, path: str, model: str) -> tuple[float, float, float, float]:
    """``(cold first, cold content, warm first, warm content)`` seconds of one page on a fresh server."""
    with tempfile.TemporaryDirectory(prefix="fer-page-times-") as folder:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "FER_CACHE": str(Path(folder) / "cache"), "FER_MODEL": model}
        with web.streamlit_server(env, Path(folder) / "streamlit.log") as url:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            try:
                times = []
                for _ in ("cold", "warm"):
                    start = time.monotonic()
                    first = web.open_by_url(tab, f"{url}/{path}")
                    web.settled(tab, timeout=600_000)
                    times += [first, time.monotonic() - start]
                    if tab.locator('[data-testid="stException"]').count():
                        print(f"  {path}: EXCEPTION on the page", flush=True)
                return tuple(times)
            finally:
                tab.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "assets" / "models" / "seed"), help="a run folder or .keras")
    parser.add_argument("--pages", default=",".join(web.URLS), help="url paths, comma-separated")
    args = parser.parse_args()
    print(f"model {args.model}; FER_DATA={os.environ.get('FER_DATA') or '(unset)'}")
    print(f"{'page':14s} {'cold first':>10s} {'cold content':>12s} {'warm first':>10s} {'warm content':>12s}")
    with web.playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=web.CHROMIUM, headless=True, args=web.CHROMIUM_ARGS)
        for path in args.pages.split(","):
            cold_first, cold, warm_first, warm = time_page(browser, path, str(Path(args.model).resolve()))
            print(f"{path:14s} {cold_first:10.2f} {cold:12.2f} {warm_first:10.2f} {warm:12.2f}", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
