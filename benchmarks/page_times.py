"""Cold and warm render time of every dashboard page, on a given model, in one process.

Run by hand (not a test)::

    FER_DATA=../shared/fer2013 python benchmarks/page_times.py assets/models/seed

Drives ``dashboard/app.py`` with ``streamlit.testing.v1.AppTest``: for each page,
the first run ("cold": this process's caches empty for that page, but
TensorFlow imported and the model loaded by the pages before it, so the first
page's cold time also holds those) and then the same page again ("warm").
The Filters page's cold time depends on whether the model ships precomputed
gradient-ascent images (``fer filters``). Without ``FER_DATA`` the data pages
only show how to point FER Lens at FER2013. Timings share the CPU with whatever
else runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
PAGES = ("model", "filters", "compare", "photo", "confusion", "misclassified", "saliency", "feature_maps")


def render(page: str, model: str) -> tuple[float, list[str]]:
    """Seconds to run ``page`` once from a fresh session (app.py first), and any exceptions shown."""
    from streamlit.testing.v1 import AppTest

    for name in [n for n in logging.root.manager.loggerDict if n.startswith("streamlit")]:
        logging.getLogger(name).setLevel(logging.ERROR)  # bare-mode "missing ScriptRunContext" noise
    at = AppTest.from_file(str(APP), default_timeout=600)
    at.session_state["model"] = model
    start = time.perf_counter()
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    return time.perf_counter() - start, [e.value for e in at.exception]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a run directory or .keras file")
    parser.add_argument("--pages", default=",".join(PAGES))
    args = parser.parse_args()
    model = Path(args.model)
    model = str((model / "model.keras" if model.is_dir() else model).resolve())
    print(f"model {model}; FER_DATA={os.environ.get('FER_DATA') or '(unset)'}")
    print(f"{'page':14s} {'cold s':>7s} {'warm s':>7s}")
    for page in args.pages.split(","):
        cold, errors = render(page, model)
        warm, more = render(page, model)
        flag = f"  EXCEPTION: {(errors or more)[0][:120]}" if errors or more else ""
        print(f"{page:14s} {cold:7.2f} {warm:7.2f}{flag}")


if __name__ == "__main__":
    main()
