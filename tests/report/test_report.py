"""``fer report``: one self-contained HTML page answering the seed report's five questions."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

from fer_core.data.dataset import load_fer2013
from fer_core.errors import FerError
from fer_core.evaluation.ablation import SEED_ABLATION, ablation_rows
from fer_core.evaluation.confusion import confused_pairs, confusion_sentences
from fer_core.evaluation.scores import metrics_from_probabilities, predict_proba
from fer_core.labels import EMOTIONS
from fer_core.report.html import curves_svg
from fer_core.report.page import write_report
from tests.conftest import kaggle_csv, make_faces, write_text

FAST = {
    "methods": ("vanilla", "smoothgrad", "grad_cam"),
    "smoothgrad_samples": 2,
    "filter_count": 4,
    "ascent_steps": 2,
    "progress": None,
}


def _write_run(root, model=None, *, normalization="none", augment=False, accuracy=None):
    """A run directory: config.json, a 2-row history.csv, and model.keras / metrics.json when given."""
    root.mkdir(parents=True, exist_ok=True)
    config = {"model": "seed", "epochs": 2, "batch_size": 64, "normalization": normalization, "augment": augment}
    (root / "config.json").write_text(json.dumps(config))
    (root / "history.csv").write_text(
        "epoch,accuracy,loss,val_accuracy,val_loss\n1,0.25,1.9,0.24,1.95\n2,0.31,1.8,0.29,1.85\n"
    )
    if model is not None:
        model.save(root / "model.keras")
    if accuracy is not None:
        (root / "metrics.json").write_text(json.dumps({"split": "public", "accuracy": accuracy}))
    return root


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    """An untrained seed model's run, a 42-face dataset (21 train, 21 public) and a 3-run ablation folder."""
    from fer_core.models.builders import build_model

    tmp = tmp_path_factory.mktemp("report")
    images, labels = make_faces(42)
    data_file = write_text(tmp / "fer2013.csv", kaggle_csv(images, labels, ["Training"] * 21 + ["PublicTest"] * 21))
    dataset = load_fer2013(data_file, cache=False)
    model = build_model("seed", normalization="none")
    run = _write_run(tmp / "run", model)
    public = dataset["public"]
    metrics = metrics_from_probabilities(predict_proba(model, public.images), public.labels)
    (run / "metrics.json").write_text(json.dumps(metrics))
    ablation = tmp / "ablation"
    _write_run(ablation / "a-none-noaug", accuracy=0.5811)
    _write_run(ablation / "b-std-aug", normalization="standardize", augment=True, accuracy=0.6901)
    _write_run(ablation / "c-none-aug", augment=True)  # not evaluated: best val_accuracy from history
    (ablation / "notes").mkdir()  # not a run: skipped
    return {"tmp": tmp, "run": run, "dataset": dataset, "metrics": metrics, "ablation": ablation}


@pytest.fixture(scope="module")
def full_report(fixture):
    start = time.perf_counter()
    with pytest.MonkeyPatch.context() as env:  # module-scoped: the per-test cache of conftest is not set yet
        env.setenv("FER_CACHE", str(fixture["tmp"] / "cache"))
        out = write_report(
            fixture["run"],
            fixture["tmp"] / "out" / "report.html",
            fixture["dataset"],
            ablation_dir=fixture["ablation"],
            **FAST,
        )
    return out, out.read_text(), time.perf_counter() - start


# ----------------------------------------------------------------------------- the sentence


def test_confusion_sentences_from_a_hand_made_matrix():
    matrix = np.zeros((7, 7), np.int64)
    np.fill_diagonal(matrix, 50)
    fear, sad, surprise, angry, disgust = (EMOTIONS.index(e) for e in ("fear", "sad", "surprise", "angry", "disgust"))
    matrix[fear, fear] = 60
    matrix[fear, sad] = 18  # fear row: 60 + 18 + 22 = 100 faces
    matrix[fear, surprise] = 22
    matrix[disgust] = 0
    matrix[disgust, disgust], matrix[disgust, angry] = 3, 7  # 70% of 10 disgust faces read as angry
    matrix[sad, fear] = 25  # 25 of 75 = 33%
    sentences = confusion_sentences(matrix, top=4)
    assert sentences == [
        "disgust is read as angry in 70% of disgust faces (7 of 10)",
        "sad is read as fear in 33% of sad faces (25 of 75)",
        "fear is read as surprise in 22% of fear faces (22 of 100)",
        "fear is read as sad in 18% of fear faces (18 of 100)",
    ]
    i, j, rate, count, total = confused_pairs(matrix, top=1)[0]
    assert (i, j, count, total) == (disgust, angry, 7, 10) and rate == pytest.approx(0.7)


def test_confusion_sentences_perfect_and_empty_rows():
    assert confusion_sentences(np.diag([5, 0, 3, 1, 1, 1, 1])) == []
    with pytest.raises(FerError, match="square"):
        confused_pairs(np.zeros((2, 3)))


def test_curves_svg_is_inline_and_handles_one_epoch():
    svg = curves_svg([{"epoch": 1.0, "loss": 1.5, "val_loss": 1.7}], "loss", "loss")
    assert svg.startswith("<svg") and svg.count("<polyline") == 2 and "http" not in svg
    assert curves_svg([{"epoch": 1.0, "loss": 1.5}], "accuracy", "accuracy") == ""


# ----------------------------------------------------------------------------- the page


def test_report_is_written_and_self_contained(full_report):
    out, page, seconds = full_report
    assert out.is_file() and page.startswith("<!DOCTYPE html>")
    assert not [p for p in out.parent.iterdir() if p.name != "report.html"]  # no temporary file left
    assert "http://" not in page and "https://" not in page and "<script" not in page and "<link" not in page
    sources = re.findall(r'\bsrc\s*=\s*"([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert all(h.startswith("#") for h in re.findall(r'\bhref\s*=\s*"([^"]*)"', page))
    assert "url(" not in page and "@import" not in page
    assert seconds < 60


def test_report_has_the_model_curves_and_metrics(full_report, fixture):
    _, page, _ = full_report
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "conv6"):
        assert f"<td>{name}</td>" in page
    assert "Conv2D" in page and "<svg" in page and page.count("<polyline") == 4
    assert f"{fixture['metrics']['accuracy']:.5f}" in page
    assert "batch_size" in page and "precision" in page


def test_report_has_the_7x7_confusion_matrix_and_sentences(full_report, fixture):
    _, page, _ = full_report
    table = re.search(r'<table class="confusion">(.*?)</table>', page, re.DOTALL).group(1)
    body = re.findall(r"<tr><th>(\w+)</th>(.*?)</tr>", table.split("<tbody>")[1])
    assert [name for name, _ in body] == list(EMOTIONS)
    matrix = np.asarray(fixture["metrics"]["confusion_matrix"])
    for (name, cells), row in zip(body, matrix):
        counts = [int(c) for c in re.findall(r">(\d+)<br>", cells)]
        assert counts == row.tolist()
    sentences = confusion_sentences(matrix)
    assert sentences, "the fixture model confuses some pair"
    for sentence in sentences:
        assert sentence in page


def test_report_has_the_ablation_table(fixture, full_report):
    _, page, _ = full_report
    table = re.search(r'<table class="ablation">(.*?)</table>', page, re.DOTALL).group(1)
    for public, private in SEED_ABLATION.values():
        assert f"{public:.5f} public / {private:.5f} private" in table
    assert "0.58110" in table and "0.69010" in table
    assert "(+0.0004)" in table and "(+0.0027)" in table  # against the seed's 0.58066 and 0.68737
    assert "0.29000" in table and "best val_accuracy" in table  # c-none-aug: from history.csv
    assert "no run" in table  # standardize / no augmentation: missing cell tolerated
    assert table.count("(2 epochs)") == 3  # every run's budget, from its config.json
    rows = {(r["normalization"], r["augmentation"]): r for r in ablation_rows(fixture["ablation"])}
    assert rows[("none", False)]["epochs"] == "2" and rows[("standardize", False)]["epochs"] == ""
    assert "notes (no config.json)" in page
    # Only the pairs with both cells scored: standardize vs none with augmentation, aug vs no aug on raw pixels.
    assert ("<li>Standardizing the input changed PublicTest accuracy by +40.0 points with augmentation; "
            "the report measured -0.7, so this disagrees with it.</li>") in page
    assert "<li>Augmentation changed PublicTest accuracy by -29.1 points on raw pixels; the report" in page


def test_report_has_saliency_filters_and_feature_maps(full_report):
    _, page, _ = full_report
    saliency = page.split('id="saliency"')[1].split("</section>")[0]
    assert saliency.count("<tr>") == 1 + 7  # header + one face per class
    assert saliency.count("<img") == 7 * 4  # face + 3 methods
    filters = page.split('id="filters"')[1]
    assert filters.count("<figure>") == 4 and "#3" in filters
    assert 'alt="feature maps"' in filters


def test_report_without_data_says_how_to_get_it(fixture, tmp_path, monkeypatch):
    monkeypatch.delenv("FER_DATA", raising=False)
    messages = []
    out = write_report(
        fixture["run"],
        tmp_path / "r.html",
        None,
        **{**FAST, "progress": messages.append, "filter_count": 1, "ascent_steps": 1},
    )
    page = out.read_text()
    assert page.count("--data PATH") == 2 and "FER_DATA" in page  # saliency and feature-map notes
    assert 'id="ablation"' not in page and '<table class="confusion">' in page
    assert any("gradient ascent" in m for m in messages)


def test_a_report_on_another_keras_file_in_a_run_reports_that_model(fixture, tmp_path):
    import shutil

    import keras

    from fer_core.models.builders import build_model

    run = tmp_path / "run"
    shutil.copytree(fixture["run"], run)
    other = build_model("seed", normalization="none")
    other.name = "other_seed"  # told apart from the run's model.keras on the page
    other.save(run / "other.keras")
    metrics = {**fixture["metrics"], "accuracy": 0.12345}
    (run / "other.metrics.json").write_text(json.dumps(metrics))
    page = write_report(run / "other.keras", tmp_path / "r.html", fixture["dataset"],
                        **{**FAST, "filter_count": 1, "ascent_steps": 1}).read_text()
    assert "<b>other_seed</b>" in page and "accuracy: <b>0.12345</b>" in page
    assert keras.models.load_model(run / "model.keras").name != "other_seed"


def test_report_errors_are_one_line(fixture, tmp_path):
    with pytest.raises(FerError, match="no such run directory"):
        write_report(tmp_path / "nope", tmp_path / "r.html", **FAST)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FerError, match=r"model\.keras: no such file"):
        write_report(empty, tmp_path / "r.html", **FAST)
    with pytest.raises(FerError, match="no such folder"):
        write_report(fixture["run"], tmp_path / "r.html", ablation_dir=tmp_path / "missing", **FAST)
    with pytest.raises(FerError, match="no layer named 'conv9'"):
        write_report(fixture["run"], tmp_path / "r.html", layer="conv9", **FAST)
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("model.keras", "config.json"):
        (bare / name).write_bytes((fixture["run"] / name).read_bytes())
    with pytest.raises(FerError, match=r"metrics\.json: no such file .*--data") as info:
        write_report(bare, tmp_path / "r.html", **FAST)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "r.html").exists()


def test_a_face_outside_publictest_is_refused_before_anything_is_computed(fixture, tmp_path, monkeypatch):
    monkeypatch.delenv("FER_DATA", raising=False)
    faces = len(fixture["dataset"]["public"])
    for dataset, face, message in ((fixture["dataset"], faces, f"--face {faces}: out of range (PublicTest has "
                                    f"{faces} faces: 0..{faces - 1})"),
                                   (None, 0, "--face 0: the feature maps need FER2013's PublicTest")):
        messages = []
        with pytest.raises(FerError, match=re.escape(message)):
            write_report(fixture["run"], tmp_path / "r.html", dataset, face_index=face,
                         **{**FAST, "progress": messages.append})
        assert messages == [], "nothing was computed (not even the model loaded)"
        assert not (tmp_path / "r.html").exists()


def test_report_command_errors_exit_2(tmp_path, capsys):
    from fer_core import cli

    assert cli.main(["report", str(tmp_path / "no-run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fer: error: ") and "no-run" in err and len(err.splitlines()) == 1


def test_the_confusion_section_puts_the_annotators_matrix_beside_the_models_when_votes_exist():
    from fer_core.report.sections import confusion_section
    from tests.evaluation.test_label_noise import votes

    rows = np.stack([votes(neutral=6, fear=4), votes(fear=7, neutral=3), votes(happiness=10), votes(sadness=8)])
    labels = np.array([2, 2, 3, 4])
    probabilities = np.eye(7)[[6, 4, 3, 4]]
    plain = confusion_section(metrics_from_probabilities(probabilities, labels))
    assert "FER+" not in plain
    section = confusion_section(metrics_from_probabilities(probabilities, labels, votes=rows))
    tables = re.findall(r'<table class="confusion">(.*?)</table>', section, re.DOTALL)
    assert len(tables) == 2 and "true \\ FER+ majority" in tables[1]
    fear_row = re.search(r"<tr><th>fear</th>(.*?)</tr>", tables[1].split("<tbody>")[1]).group(1)
    assert [int(c) for c in re.findall(r">(\d+)<br>", fear_row)] == [0, 0, 1, 0, 0, 0, 1]
    assert "the annotators side with the model on 1" in section and "fear read as neutral: the model" in section
