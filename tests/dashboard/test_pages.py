"""Every dashboard page in streamlit's AppTest, on a tiny model and a small random-face dataset."""

from __future__ import annotations

import base64
import io
import json
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_core.labels import EMOTIONS
from fer_core.vis import METHOD_TITLES

DATA_PAGES = ("confusion", "misclassified", "saliency", "feature_maps")


def no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def image_captions(at) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


def plotly_array(value) -> np.ndarray:
    """A Plotly JSON array, plain or typed (``{"dtype", "bdata", "shape"}``)."""
    if isinstance(value, dict):
        shape = [int(n) for n in str(value.get("shape", "-1")).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), np.dtype(value["dtype"])).reshape(shape)
    return np.asarray(value)


def plotly_figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def figure_titles(at) -> list[str]:
    """Every image's caption and every Plotly figure's title (the Filters grid you click on is a figure),
    a title's " · click one" left off."""
    titles = [f["layout"].get("title", {}) for f in plotly_figures(at)]
    texts = [t.get("text", "") if isinstance(t, dict) else str(t) for t in titles]
    return image_captions(at) + [t.removesuffix(" · click one") for t in texts]


def predicted(app_env, run: str) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, predicted classes)`` of a workspace run's PublicTest faces, from its ``predictions.npz``."""
    with np.load(Path(app_env["FER_RUNS"]) / run / "predictions.npz") as saved:
        return saved["labels"], saved["probabilities"].argmax(1)


def table_with(at, column: str):
    """The first dataframe on the page with ``column``."""
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width x height`` pixels but holds none: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


# ----------------------------------------------------------------------------- sidebar and Model


def test_sidebar_offers_every_run_and_the_dataset(open_page):
    at = open_page()
    no_exception(at)
    picker = at.sidebar.selectbox(key="model")
    assert {"tiny-a (run)", "tiny-b (run)"} <= set(picker.options)  # as the picker labels them
    for _ in range(120):  # the dataset loads in the background; the sidebar says so until it is in
        if any("public 84" in s.value for s in at.sidebar.success):
            break
        assert any("Loading FER2013" in c.value for c in at.sidebar.caption)
        time.sleep(0.5)
        at.run()
    assert any("public 84" in s.value for s in at.sidebar.success)


def test_model_page_lists_every_conv_layer_and_the_report(open_page):
    at = open_page("model")
    no_exception(at)
    layers = table_with(at, "layer")
    assert {"conv1", "conv2"} <= set(layers["layer"])
    assert int(layers["parameters"].sum()) > 0
    report = table_with(at, "emotion")
    assert list(report["emotion"]) == list(EMOTIONS)
    assert plotly_figures(at), "training curves are drawn"


def test_a_model_outside_the_contract_gets_one_error_box_saying_what_it_takes_and_returns(open_page, app_env,
                                                                                       monkeypatch, tmp_path):
    import keras

    inputs = keras.Input((48, 48, 1))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inputs))
    (tmp_path / "runs" / "three").mkdir(parents=True)
    three = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    three.save(tmp_path / "runs" / "three" / "model.keras")
    monkeypatch.setenv("FER_RUNS", str(tmp_path / "runs"))
    monkeypatch.setitem(app_env, "FER_RUNS", str(tmp_path / "runs"))
    at = open_page("model", model="three")
    no_exception(at)
    assert len(at.error) == 1 and "takes 48x48x1 inputs and returns 3 values per face" in at.error[0].value
    assert not at.dataframe, "the page stops before drawing the model"


# ----------------------------------------------------------------------------- data pages


def test_confusion_matrix_has_7x7_cells_and_shows_the_pair(open_page, app_env):
    labels, guesses = predicted(app_env, "tiny-b")
    made = lambda t, p: bool(np.any((labels == t) & (guesses == p)))  # noqa: E731
    pairs = [(t, p) for t in range(7) for p in range(7) if t != p and made(t, p) and made(t, t)]
    assert pairs, "tiny-b's random weights confuse no class they also read correctly"
    true, guess = pairs[0]  # a confusion tiny-b makes, in a class it also gets right: both saliency means show
    count = int(np.sum((labels == true) & (guesses == guess)))
    at = open_page("confusion", model="tiny-b")
    no_exception(at)
    heatmap = plotly_figures(at)[0]["data"][0]
    assert plotly_array(heatmap["z"]).shape == (7, 7)
    assert "is read as" in at.markdown[0].value
    at.selectbox(key="cm_true").set_value(EMOTIONS[true])
    at.selectbox(key="cm_predicted").set_value(EMOTIONS[guess]).run()
    no_exception(at)
    assert f"True {EMOTIONS[true]}, predicted {EMOTIONS[guess]}: {count} faces" in [h.value for h in at.subheader]
    assert {f"{EMOTIONS[true]} read as {EMOTIONS[guess]}", f"{EMOTIONS[true]} read correctly"} <= set(image_captions(at))


def test_misclassified_grid_pages_and_opens_a_face(open_page, app_env):
    labels, guesses = predicted(app_env, "tiny-a")
    pages = -(-int(np.sum(guesses != labels)) // 24)  # 24 tiles a page
    assert pages >= 2, "the workspace's tiny-a gets too few faces wrong to page"
    at = open_page("misclassified")
    no_exception(at)
    assert any(f"page 1 of {pages}" in c for c in captions(at))
    at.button(key="mis_next").click().run()
    no_exception(at)
    assert any(f"page 2 of {pages}" in c for c in captions(at))
    details = [b for b in at.button if b.key and b.key.startswith("mis_open_")]
    assert len(details) == 24
    details[0].click().run()
    no_exception(at)
    assert {"Gradient", "SmoothGrad", "Integrated Gradients", "Grad-CAM", "Grad-CAM++"} <= set(image_captions(at))


def test_saliency_page_shows_five_methods_and_the_checks(open_page):
    at = open_page("saliency")
    no_exception(at)
    assert set(METHOD_TITLES.values()) <= set(image_captions(at)), "five real maps"
    assert not any("no map" in c for c in captions(at))
    at.selectbox(key="sal_target").set_value("happy").run()
    at.button(key="sal_sanity").click().run()
    no_exception(at)
    assert len(table_with(at, "rank correlation")) == 5
    at.button(key="sal_curves").click().run()
    no_exception(at)
    assert any("Area under deletion" in c for c in captions(at))


@pytest.fixture
def blank_grad_cam_plus_plus(monkeypatch):
    """Grad-CAM++ returns all-zero maps (as when every channel weight is 0); cached maps are dropped around it."""
    import streamlit as st

    from fer_core.vis import methods

    def zeros(model, images, target=None, **options):
        return np.zeros((len(images), 48, 48), np.float32)

    st.cache_data.clear()
    monkeypatch.setitem(methods.METHODS, "grad_cam_plus_plus", zeros)
    yield
    st.cache_data.clear()


def test_saliency_page_says_in_words_when_a_method_has_no_map(open_page, blank_grad_cam_plus_plus):
    at = open_page("saliency")
    no_exception(at)
    assert "Grad-CAM++" not in image_captions(at), "no blank overlay"
    assert {"Gradient", "SmoothGrad", "Integrated Gradients", "Grad-CAM"} <= set(image_captions(at))
    assert [c for c in captions(at) if "no map" in c] == [
        "**Grad-CAM++**: no map for this face (the method gives every pixel the same value)"
    ]


def test_feature_maps_page_shows_every_channel_of_the_layer(open_page):
    at = open_page("feature_maps")
    no_exception(at)
    at.selectbox(key="fm_layer").set_value("conv2").run()
    no_exception(at)
    assert any(c.startswith("conv2: 8 channels") for c in image_captions(at))


@pytest.mark.parametrize("page", DATA_PAGES)
def test_data_pages_explain_how_to_get_fer2013_and_stop(open_page, monkeypatch, page):
    monkeypatch.delenv("FER_DATA")
    at = open_page(page)
    no_exception(at)
    assert len(at.info) == 1 and "FER_DATA" in at.info[0].value
    drawn = [node.type for node in at.main.children.values()]
    assert drawn == ["title", "info"], f"the page stops after its heading and the box, drew {drawn}"


# ----------------------------------------------------------------------------- pages that work without data


@pytest.mark.parametrize("with_data", [True, False])
def test_filters_page_draws_every_filter_of_a_layer(open_page, monkeypatch, app_env, with_data):
    if not with_data:
        monkeypatch.delenv("FER_DATA")
    at = open_page("filters")
    no_exception(at)
    assert at.selectbox(key="flt_layer").value == "conv2"  # the middle conv layer of two, without a click
    assert "conv2: all 8 filters" in figure_titles(at)
    at.selectbox(key="flt_layer").set_value("conv1").run()
    no_exception(at)
    assert "conv1: all 4 filters" in figure_titles(at)
    assert any(m.label.startswith("Stability") for m in at.metric)
    assert list(Path(app_env["FER_CACHE"], "filters").glob("*/conv1-0-4-*.npz")), "the layer is cached on disk"
    assert len(plotly_figures(at)) == 1 + with_data, "the grid to click; per-emotion activations need the data"


def test_compare_page_puts_runs_side_by_side(open_page, monkeypatch, app_env):
    monkeypatch.delenv("FER_DATA")
    monkeypatch.setenv("FER_ABLATION", str(Path(app_env["FER_RUNS"]) / "nothing-here"))
    at = open_page("compare")
    no_exception(at)
    assert not any("ours" in frame.value.columns for frame in at.dataframe)  # no ablation runs: no table
    at.multiselect(key="cmp_runs").set_value(["tiny-a", "tiny-b"]).run()
    assert len(table_with(at, "run")) == 2
    figures = plotly_figures(at)
    assert len(figures) == 3  # curves + two confusion matrices
    assert len(figures[0]["data"]) == 4  # train and validation for each run


def test_compare_page_shows_the_ablation_beside_the_seed_report(open_page, monkeypatch, app_env, tmp_path):
    for name in ("tiny-a", "tiny-b"):  # tiny-a: standardize, no aug; tiny-b: with aug; listed as seed-CNN runs
        run = tmp_path / name
        run.mkdir()
        config = json.loads((Path(app_env["FER_RUNS"]) / name / "config.json").read_text())
        (run / "config.json").write_text(json.dumps({**config, "model": "seed"}))
        (run / "metrics.json").write_text((Path(app_env["FER_RUNS"]) / name / "metrics.json").read_text())
    (tmp_path / "vgg-run").mkdir()  # another architecture: not in the seed's table
    (tmp_path / "vgg-run" / "config.json").write_text(json.dumps({**config, "model": "vgg", "augment": False}))
    (tmp_path / "vgg-run" / "metrics.json").write_text(json.dumps({"accuracy": 0.99}))
    monkeypatch.setenv("FER_ABLATION", str(tmp_path))
    at = open_page("compare")
    no_exception(at)
    table = table_with(at, "ours").set_index(["normalization", "augmentation"])
    assert len(table) == 4 and table.loc[("none", True), "seed public"] == 0.69434
    a = json.loads((Path(app_env["FER_RUNS"]) / "tiny-a" / "metrics.json").read_text())["accuracy"]
    assert table.loc[("standardize", False), "ours"] == pytest.approx(a)
    assert table.loc[("standardize", False), "runs"] == "tiny-a" and np.isnan(table.loc[("none", False), "ours"])
    said = [m.value for m in at.markdown]
    assert "- Normalization: not measured yet (a cell of the 2x2 has no scored run)." in said
    assert any(m.startswith("- Augmentation changed PublicTest accuracy by ") for m in said)


def astronaut_photo() -> np.ndarray:
    """``uint8 (352, 752)``: the head and shoulders of scikit-image's astronaut photo, in a wider gray picture."""
    from skimage import data

    gray = np.asarray(Image.fromarray(data.astronaut()).convert("L"))[:272, 96:352]
    return np.pad(gray, ((40, 40), (120, 120)), constant_values=60)


def test_photo_page_finds_a_face_crops_it_and_explains_the_prediction(open_page, monkeypatch):
    monkeypatch.delenv("FER_DATA")
    at = open_page("photo")
    photo = astronaut_photo()
    at.file_uploader(key="photo_upload").set_value(("me.png", png_bytes(photo), "image/png")).run()
    no_exception(at)
    assert not at.warning and "1 face(s) found" in image_captions(at)
    assert "as the model sees it" in image_captions(at)
    assert len(plotly_figures(at)) == 1 and any(h.value.startswith("Face 1:") for h in at.subheader)


def test_fer_predict_finds_and_crops_the_face_the_photo_page_shows(open_page, monkeypatch, app_env, tmp_path, capsys):
    from fer_core import cli
    from fer_core.data import faces

    monkeypatch.delenv("FER_DATA")
    photo = astronaut_photo()
    (face,) = faces.find_faces(photo)
    x, y, w, h = face.box
    assert 120 + 84 <= x + w / 2 <= 120 + 174 and 40 + 62 <= y + h / 2 <= 40 + 173  # on the astronaut's face
    path = tmp_path / "me.png"
    path.write_bytes(png_bytes(photo))
    model = Path(app_env["FER_RUNS"]) / "tiny-a"
    assert cli.main(["predict", str(model), str(path)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{path}: face 1 at x={x} y={y} w={w} h={h}: ")
    printed = [(part.rsplit(" ", 1)[0], float(part.rsplit(" ", 1)[1])) for part in line.split(": ")[-1].split(", ")]
    at = open_page("photo")
    at.file_uploader(key="photo_upload").set_value(("me.png", png_bytes(photo), "image/png")).run()
    no_exception(at)
    heading = next(h.value for h in at.subheader if h.value.startswith("Face 1:"))
    shown = [(part.rsplit(" ", 1)[0], float(part.rsplit(" ", 1)[1].rstrip("%")) / 100)
             for part in heading.removeprefix("Face 1: ").split(" · ")]
    assert [name for name, _ in shown] == [name for name, _ in printed]
    np.testing.assert_allclose([p for _, p in shown], [p for _, p in printed], atol=0.006)


def test_photo_page_without_a_face_offers_the_whole_image(open_page, monkeypatch):
    monkeypatch.delenv("FER_DATA")
    at = open_page("photo")
    no_exception(at)
    gradient = np.tile(np.linspace(0, 255, 200, dtype=np.uint8), (150, 1))
    at.file_uploader(key="photo_upload").set_value(("wall.png", png_bytes(gradient), "image/png")).run()
    no_exception(at)
    assert "No face found" in at.warning[0].value
    at.checkbox(key="photo_whole").check().run()
    no_exception(at)
    assert len(plotly_figures(at)) == 1 and any(h.value.startswith("Face 1:") for h in at.subheader)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("notes.png", b"just some text, not an image", "not a readable image"),
        ("broken.png", png_bytes(np.random.default_rng(0).integers(0, 256, (64, 64), np.uint8))[:600], "corrupt"),
        ("bomb.png", png_header_only(20000, 20000), "too large to decode safely"),
        ("huge.jpg", b"\xff\xd8" + b"\0" * (11 * 2**20), "upload limit"),
    ],
)
def test_photo_page_explains_a_bad_upload(open_page, name, content, message):
    at = open_page("photo")
    at.file_uploader(key="photo_upload").set_value((name, content, "image/png")).run()
    no_exception(at)
    assert len(at.error) == 1 and message in at.error[0].value and name in at.error[0].value
