"""PNG downloads beside the figures and CSV downloads beside the tables."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_pages import no_exception

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dashboard"))


def downloads(at) -> set[str]:
    """The file names the page's download buttons offer (each button's help ends with its file name)."""
    return {button.proto.help.split()[-1] for button in at.get("download_button")}


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3)])
def test_png_bytes_round_trip(shape):
    import widgets

    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(widgets.png_bytes(image)))), image)


def test_filters_page_offers_every_figure_as_png(open_page):
    at = open_page("filters")
    at.selectbox(key="flt_layer").set_value("conv1").run()
    no_exception(at)
    assert {"tiny-a-conv1-0-4.png", "conv1-0.png", "conv1-0-seeds.png", "conv1-0-top-faces.png"} <= downloads(at)


@pytest.mark.parametrize(
    "page, files",
    [
        ("model", {"layers.csv", "model_report.csv"}),
        ("misclassified", {"misclassified.csv"}),
        ("confusion", {"confusion-matrix.csv"}),
        ("saliency", {"saliency-tiny-a.png"}),
        ("feature_maps", {"feature-maps-conv1.png"}),
        ("training", {"runs.csv", "tiny-a-history.csv"}),
    ],
)
def test_pages_offer_their_tables_and_figures(open_page, page, files):
    at = open_page(page)
    no_exception(at)
    assert files <= downloads(at)
