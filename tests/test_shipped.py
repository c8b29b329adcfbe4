"""The models shipped in ``assets/models/*/``: contract, metrics, submission and filter images hold."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from fer_core.labels import EMOTIONS

SHIPPED = sorted((Path(__file__).resolve().parents[1] / "assets" / "models").glob("*/model.keras"))
RUN_FILES = ("model.keras", "config.json", "history.csv", "metrics.json", "submission.csv")

pytestmark = pytest.mark.skipif(not SHIPPED, reason="no model shipped in assets/models/")


@pytest.fixture(scope="module", params=SHIPPED, ids=lambda p: p.parent.name)
def shipped(request):
    import keras

    return request.param.parent, keras.models.load_model(request.param, safe_mode=True)


def test_a_shipped_run_has_every_file_and_a_small_model(shipped):
    folder, _ = shipped
    assert all((folder / name).is_file() for name in RUN_FILES), [n for n in RUN_FILES if not (folder / n).is_file()]
    members = len(json.loads((folder / "config.json").read_text()).get("members", [None]))
    assert (folder / "model.keras").stat().st_size < members * 20 * 2**20  # an ensemble: 20 MiB per member


def test_a_shipped_model_takes_raw_pixels_and_returns_probabilities(shipped):
    _, model = shipped
    faces = np.random.default_rng(0).integers(0, 256, (5, 48, 48, 1)).astype("float32")
    probabilities = model.predict(faces, verbose=0)
    assert probabilities.shape == (5, len(EMOTIONS)) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_a_shipped_submission_covers_every_private_id_once(shipped):
    folder, _ = shipped
    with open(folder / "submission.csv", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["id", "label"] and len(rows) == 3589 + 1
    ids, labels = np.array([[int(v) for v in row] for row in rows[1:]]).T
    assert sorted(ids) == list(range(3589)) and set(labels) <= set(range(len(EMOTIONS)))
    assert len(set(labels)) >= 3  # not one constant guess


def test_a_shipped_model_carries_every_conv_layers_filter_images(shipped):
    from fer_core.models.builders import conv_layer_names
    from fer_core.vis.filter_cache import FilterCache
    from fer_core.vis.filters import channel_count

    folder, model = shipped
    cache = FilterCache(folder / "model.keras", user_dir=folder / "no-user-cache")
    missing = [layer for layer in conv_layer_names(model) if not cache.has(layer, channel_count(model, layer))]
    assert not missing, f"run `fer filters {folder}`; missing: {missing}"


@pytest.mark.data
def test_a_shipped_models_metrics_are_what_it_scores_on_publictest(shipped, real_data):
    from fer_core.data.dataset import load_fer2013
    from fer_core.evaluation.scores import predict_proba

    folder, model = shipped
    public = load_fer2013(real_data)["public"]
    accuracy = float((predict_proba(model, public.images).argmax(axis=1) == public.labels).mean())
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["split"] == "public" and metrics["samples"] == len(public)
    recorded = metrics["accuracy"]
    assert accuracy == pytest.approx(recorded, abs=3 / len(public))  # a near-tie may flip on another CPU


ABLATION = Path(__file__).resolve().parents[1] / "assets" / "ablation"
CELL_SETTINGS = ("normalization", "augment")  # the only settings allowed to differ between the four cells


@pytest.mark.skipif(not ABLATION.is_dir(), reason="no ablation shipped in assets/ablation/")
def test_the_shipped_ablation_fills_the_2x2_with_one_budget_and_seed_policy():
    from fer_core.evaluation.ablation import SEED_ABLATION, ablation_rows

    configs = [json.loads(p.read_text()) for p in sorted(ABLATION.glob("*/config.json"))]
    assert sorted((c["normalization"], c["augment"]) for c in configs) == sorted(SEED_ABLATION)
    shared = [{k: v for k, v in c.items() if k not in CELL_SETTINGS + ("out",)} for c in configs]
    assert all(s == shared[0] for s in shared), "cells differ in more than normalization and augmentation"
    for folder in (p.parent for p in ABLATION.glob("*/config.json")):
        history = list(csv.DictReader((folder / "history.csv").open()))
        assert len(history) == shared[0]["epochs"]  # every cell trained its whole budget
        assert not (folder / "predictions.npz").exists()  # nothing per-face is shipped
    assert all(0.0 < row["ours"] < 1.0 for row in ablation_rows(ABLATION))
