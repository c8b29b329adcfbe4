"""A second model under "Compare with": Confusion matrix, Misclassified, Saliency and Filters show both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_ferplus_pages import public_votes_in_fer2013_order
from test_pages import figure_titles, image_captions, no_exception, plotly_array, plotly_figures, predicted

from fer_core.evaluation.compare import disagreements


def test_sidebar_offers_a_second_model_none_by_default(open_page):
    at = open_page()
    no_exception(at)
    picker = at.sidebar.selectbox(key="compare_model")
    assert picker.value is None and picker.options[0] == "none"
    assert len(picker.options) == len(at.sidebar.selectbox(key="model").options) + 1


def test_confusion_page_shows_both_matrices_and_their_change(open_page, app_env):
    at = open_page("confusion", compare="tiny-b")
    no_exception(at)
    figures = plotly_figures(at)
    assert [f["layout"]["title"]["text"] for f in figures[:2]] == ["tiny-a (run)", "tiny-b (run)"]
    labels, first = predicted(app_env, "tiny-a")
    _, second = predicted(app_env, "tiny-b")
    change = plotly_array(figures[2]["data"][0]["z"])  # the gain: green better, red worse
    assert change.shape == (7, 7)
    a_right = np.bincount(labels[first == labels], minlength=7) / np.bincount(labels, minlength=7)
    b_right = np.bincount(labels[second == labels], minlength=7) / np.bincount(labels, minlength=7)
    assert np.allclose(np.diag(change), 100 * (b_right - a_right), atol=1e-6)
    assert any("PublicTest accuracy" in c.value for c in at.caption)
    downloads = [b.proto.help.split()[-1] for b in at.get("download_button")]
    assert {"confusion-matrix.csv", "confusion-change.csv"} <= set(downloads)


def test_confusion_page_with_the_same_model_twice_shows_one(open_page):
    at = open_page("confusion", compare="tiny-a")
    no_exception(at)
    titles = [figure["layout"].get("title", {}).get("text", "") for figure in plotly_figures(at)]
    assert titles.count("FER+'s annotators") == 1 and len(titles) == 2  # one model's matrix, beside the annotators


def test_misclassified_page_filters_the_disagreements(open_page, app_env):
    at = open_page("misclassified", compare="tiny-b")
    no_exception(at)
    at.radio(key="mis_mode").set_value("disagreements").run()
    no_exception(at)
    labels, first = predicted(app_env, "tiny-a")
    _, second = predicted(app_env, "tiny-b")
    either, only_b = disagreements(labels, first, second), disagreements(labels, first, second, "second")
    assert 0 < len(only_b) < len(either), "the tiny runs disagree both ways"
    assert any(c.value.startswith(f"{len(either)} of {len(either)} disagreements") for c in at.caption)
    _, votes = public_votes_in_fer2013_order(Path(app_env["FER_DATA"]))
    wrong = np.where(first == labels, second, first)[either]  # the model that is wrong on each face
    y, v = labels[either], votes[either]
    mine, theirs = v[np.arange(len(y)), wrong], v[np.arange(len(y)), y]
    hand = {"model": (mine > theirs).sum(), "label": (theirs > mine).sum(), "split": (mine == theirs).sum()}
    counts = [o for o in at.radio(key="mis_side").options if "(" in o]
    assert counts == [f"{title} ({hand[side]})" for side, title in
                      (("model", "the model"), ("label", "the label"), ("split", "neither (split)"))]
    tiles = [c.value for c in at.caption if c.value.startswith("**true ")]
    assert len(tiles) == min(24, len(either))
    assert all(("✓" in t) and ("✗" in t) and "tiny-a (run):" in t and "tiny-b (run):" in t for t in tiles)
    at.radio(key="mis_right").set_value("second").run()
    no_exception(at)
    tiles = [c.value for c in at.caption if c.value.startswith("**true ")]
    assert len(tiles) == min(24, len(only_b))
    assert all("tiny-b (run): " in t.split("  \n")[2] and t.endswith("✓") for t in tiles)
    details = [b for b in at.button if b.key and b.key.startswith("mis_open_")]
    details[0].click().run()
    no_exception(at)
    assert image_captions(at).count("Grad-CAM") == 2, "both models' saliency of the face"


def test_saliency_page_shows_one_row_per_model(open_page):
    at = open_page("saliency", compare="tiny-b")
    no_exception(at)
    assert image_captions(at).count("Gradient") == 2
    assert [c.value.split(":")[0] for c in at.caption if c.value.startswith("**tiny")] == [
        "**tiny-a (run)**", "**tiny-b (run)**"
    ]


def test_filters_page_shows_the_layer_of_both_models(open_page):
    at = open_page("filters", compare="tiny-b")
    no_exception(at)
    at.selectbox(key="flt_layer").set_value("conv1").run()
    no_exception(at)
    assert {"conv1 of tiny-a (run): all 4 filters", "conv1 of tiny-b (run): all 4 filters"} <= set(figure_titles(at))


def test_filters_page_names_the_layers_two_models_share(open_page, app_env, monkeypatch, tmp_path):
    import keras

    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(2, 3, name="conv1")(inputs)
    x = keras.layers.Conv2D(2, 3, name="edges")(x)
    outputs = keras.layers.Dense(7, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    (tmp_path / "odd").mkdir()
    keras.Model(inputs, outputs).save(tmp_path / "odd" / "model.keras")
    (tmp_path / "tiny-a").symlink_to(Path(app_env["FER_RUNS"]) / "tiny-a")
    monkeypatch.setenv("FER_RUNS", str(tmp_path))
    at = open_page("filters")
    at.sidebar.selectbox(key="compare_model").set_value(str((tmp_path / "odd" / "model.keras").resolve())).run()
    at.selectbox(key="flt_layer").set_value("conv2").run()
    no_exception(at)
    assert len(at.info) == 1 and "odd (run) has no layer named `conv2`" in at.info[0].value
    assert "Layers both models have: `conv1`." in at.info[0].value
    assert "conv2 of tiny-a (run): all 8 filters" in figure_titles(at)
