"""Every dashboard page on an ensemble written by ``fer ensemble`` (two tiny members, mirror TTA)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_pages import figure_titles, image_captions, no_exception, plotly_figures, table_with

from fer_core import cli
from fer_core.evaluation.compare import disagreements
from fer_core.runs.folder import Run

MEMBER_CONVS = {"a_conv1", "a_conv2", "b_conv1", "b_conv2"}


@pytest.fixture(scope="module")
def ensemble_runs(workspace, tmp_path_factory) -> Path:
    """A runs folder holding ``ens`` (tiny-a + tiny-b, flip) and a link to ``tiny-b`` to compare with (tiny-a,
    which the ensemble follows on every face, would leave no disagreements to show)."""
    runs = tmp_path_factory.mktemp("ensemble-runs")
    members = [str(Path(workspace["FER_RUNS"]) / name / "model.keras") for name in ("tiny-a", "tiny-b")]
    argv = ["ensemble", *members, "--names", "a", "b", "--tta", "flip", "--out", str(runs / "ens"),
            "--data", workspace["FER_DATA"]]
    assert cli.main(argv) == 0
    assert Run(runs / "ens").config()["training_seconds"] == {"a": 3.0, "b": 3.0}  # 3 epochs of 1 s each
    os.symlink(Path(workspace["FER_RUNS"]) / "tiny-b", runs / "tiny-b")
    return runs


@pytest.fixture
def open_ensemble(app_env, ensemble_runs, monkeypatch):
    """``open_ensemble("filters")``: that page with the ensemble picked (and tiny-b under "Compare with")."""
    from streamlit.testing.v1 import AppTest

    from conftest import APP, TIMEOUT

    monkeypatch.setenv("FER_RUNS", str(ensemble_runs))

    def open_(page: str, compare: bool = False):
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.session_state["model"] = str((ensemble_runs / "ens" / "model.keras").resolve())
        if compare:
            at.session_state["compare_model"] = str((ensemble_runs / "tiny-b" / "model.keras").resolve())
        at.run()
        at.switch_page(f"app_pages/{page}.py").run()
        no_exception(at)
        return at

    return open_


def test_model_page_lists_each_members_cnn_first_and_folds_the_plumbing(open_ensemble):
    at = open_ensemble("model")
    tables = [frame.value for frame in at.dataframe if "layer" in frame.value.columns]
    first, second, plumbing = (set(table["layer"]) for table in tables[:3])  # nested layers as member/layer
    assert {"a/a_conv1", "a/a_conv2"} <= first and {"b/b_conv1", "b/b_conv2"} <= second
    assert plumbing and not any("/" in name for name in plumbing)  # the ensemble's own layers, last
    assert [e.label for e in at.expander if e.label.startswith("The ensemble's own")]
    curves = {trace["name"] for figure in plotly_figures(at) for trace in figure["data"]}
    assert {"a · train", "a · validation", "b · train", "b · validation"} <= curves  # each member's history


def test_filters_and_feature_maps_offer_member_layers_and_draw_them(open_ensemble):
    at = open_ensemble("filters")
    assert MEMBER_CONVS <= set(at.selectbox(key="flt_layer").options)
    at.selectbox(key="flt_layer").set_value("b_conv2").run()
    no_exception(at)
    assert "b_conv2: all 8 filters" in figure_titles(at)
    at = open_ensemble("feature_maps")
    assert MEMBER_CONVS <= set(at.selectbox(key="fm_layer").options)
    at.selectbox(key="fm_layer").set_value("a_conv1").run()
    no_exception(at)
    assert any(c.startswith("a_conv1: 4 channels") for c in image_captions(at))


def test_saliency_runs_every_method_on_the_ensemble(open_ensemble):
    at = open_ensemble("saliency")
    assert {"Gradient", "SmoothGrad", "Integrated Gradients", "Grad-CAM", "Grad-CAM++"} <= set(image_captions(at))


def test_an_ensemble_compares_with_a_single_model_on_every_page(open_ensemble, ensemble_runs):
    at = open_ensemble("confusion", compare=True)
    titles = [figure["layout"].get("title", {}).get("text", "") for figure in plotly_figures(at)]
    assert titles[:2] == ["ens (run)", "tiny-b (run)"]  # both matrices, then their change
    at = open_ensemble("saliency", compare=True)
    assert image_captions(at).count("Gradient") == 2  # a row of methods for each model
    at = open_ensemble("misclassified", compare=True)
    at.radio(key="mis_mode").set_value("disagreements").run()
    no_exception(at)
    scored = {name: Run(ensemble_runs / name).predictions() for name in ("ens", "tiny-b")}
    labels = scored["ens"]["labels"]
    ens, single = (scored[name]["probabilities"].argmax(1) for name in ("ens", "tiny-b"))
    either = disagreements(labels, ens, single)
    assert len(either) and any(c.value.startswith(f"{len(either)} of {len(either)} disagreements") for c in at.caption)
    tiles = [c.value for c in at.caption if c.value.startswith("**true ")]
    assert len(tiles) == min(24, len(either)) and all("ens (run):" in t and "tiny-b (run):" in t for t in tiles)
    at = open_ensemble("filters", compare=True)
    at.selectbox(key="flt_layer").set_value("a_conv1").run()
    no_exception(at)
    assert {"a_conv1 of ens (run): all 4 filters", "conv1 of tiny-b (run): all 4 filters"} <= set(figure_titles(at))


def test_training_page_shows_the_ensemble_finished_with_each_members_curves(open_ensemble, ensemble_runs):
    at = open_ensemble("training")
    row = table_with(at, "progress").set_index("run").loc["ens (run)"]
    assert (row["status"], row["epoch"], row["progress"]) == ("finished", "2 members", 1.0)
    assert row["best val accuracy"] == pytest.approx(Run(ensemble_runs / "ens").metrics()["accuracy"])
    assert at.selectbox(key="train_run").value == "ens (run)"  # the sidebar's model
    curves = {trace["name"] for figure in plotly_figures(at) for trace in figure["data"]}
    assert {"a · train", "a · validation", "b · train", "b · validation"} <= curves
