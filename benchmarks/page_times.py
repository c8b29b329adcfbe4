"""Cold and warm render time of every dashboard page, on a given model, in one process.

Run by hand (not a test)::

    FER_DATA=../shared/fer2013 python benchmarks/page_times.py assets/models/seed
    FER_DATA=../shared/fer2013 python benchmarks/page_times.py runs/a --compare runs/b   # with "Compare with"

Drives ``dashboard/app.py`` with ``streamlit.testing.v1.AppTest``: for each page,
the first run ("cold") and then the same page again ("warm"). Streamlit's
caches live as long as the process, so a page's cold time excludes what the
pages before it already loaded or computed (TensorFlow and the model for all
but the first page; the dataset and its predictions after the first data page):
it depends on ``--pages`` order; time one page per process for a truly cold figure.
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
PAGES = ("model", "training", "filters", "compare", "photo", "confusion", "misclassified", "saliency", "feature_maps")


def render(page: str, model: str, compare: str | None = None) -> tuple[float, list[str]]:
    """Seconds to run ``page`` once from a fresh session (app.py first), and any exceptions shown.

    ``compare``: a second model under "Compare with", or None.
    """
    from streamlit.testing.v1 import AppTest

    for name in [n for n in logging.root.manager.loggerDict if n.startswith("streamlit")]:
        logging.getLogger(name).setLevel(logging.ERROR)  # bare-mode "missing ScriptRunContext" noise
    at = AppTest.from_file(str(APP), default_timeout=600)
    at.session_state["model"] = model
    if compare:
        at.session_state["compare_model"] = compare
    start = time.perf_counter()
    at.run()
    if at.session_state["model"] != model:
        raise SystemExit(f"the dashboard did not pick {model} (it picked {at.session_state['model']})")
    at.switch_page(f"app_pages/{page}.py").run()
    return time.perf_counter() - start, [e.value for e in at.exception]


def model_path(path: str) -> str:
    """The ``model.keras`` of a run directory (or the file itself), resolved; exits on anything else."""
    model = Path(path).resolve()
    model = model / "model.keras" if model.is_dir() else model
    if model.name != "model.keras" or not model.is_file():
        raise SystemExit(f"{model}: expected a run directory or its model.keras (the picker lists only those)")
    return str(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a run directory (or its model.keras)")
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--compare", help="a second run directory (or model.keras) under \"Compare with\"")
    args = parser.parse_args()
    model = model_path(args.model)
    compare = model_path(args.compare) if args.compare else None
    if compare and Path(compare).parent.parent != Path(model).parent.parent:
        raise SystemExit("--compare: put both models' run folders in one folder (the pickers search one $FER_RUNS)")
    os.environ["FER_RUNS"] = str(Path(model).parent.parent)  # so the sidebar's model pickers offer the models
    print(f"model {model}; compare with {compare}; FER_DATA={os.environ.get('FER_DATA') or '(unset)'}")
    print(f"{'page':14s} {'cold s':>7s} {'warm s':>7s}")
    for page in args.pages.split(","):
        cold, errors = render(page, model, compare)
        warm, more = render(page, model, compare)
        flag = f"  EXCEPTION: {(errors or more)[0][:120]}" if errors or more else ""
        print(f"{page:14s} {cold:7.2f} {warm:7.2f}{flag}")


if __name__ == "__main__":
    main()
