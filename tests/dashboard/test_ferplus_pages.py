"""FER+'s votes on the dashboard: tiles, the side filter and its counts, the annotators' matrix; none without them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_pages import captions, image_captions, no_exception, plotly_array, plotly_figures
from workspace import FERPLUS_ORDER



def public_votes_in_fer2013_order(data: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, votes (N, 7))`` of the tiny PublicTest split, read from the files by hand."""
    csv = pd.read_csv(data / "fer2013.csv")
    votes = pd.read_csv(data / "fer2013new.csv")
    public = (csv["Usage"] == "PublicTest").to_numpy()
    by_class = np.zeros((public.sum(), 7), int)
    for column, cls in zip(("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"), FERPLUS_ORDER):
        by_class[:, cls] = votes[column].to_numpy()[public]
    return csv["emotion"].to_numpy()[public], by_class


def hand_sides(app_env) -> dict[str, int]:
    labels, votes = public_votes_in_fer2013_order(Path(app_env["FER_DATA"]))
    predicted = np.load(Path(app_env["FER_RUNS"]) / "tiny-a" / "predictions.npz")["probabilities"].argmax(axis=1)
    counts = {"model": 0, "label": 0, "split": 0}
    for y, p, v in zip(labels, predicted, votes):
        if p != y:
            counts["model" if v[p] > v[y] else "label" if v[y] > v[p] else "split"] += 1
    return counts


def test_misclassified_filters_by_the_annotators_side_with_correct_counts(open_page, app_env):
    expected = hand_sides(app_env)
    assert all(expected.values()), expected  # the tiny data has faces of every side
    at = open_page("misclassified")
    no_exception(at)
    radio = at.radio(key="mis_side")
    assert [o for o in radio.options if "(" in o] == [
        f"the model ({expected['model']})", f"the label ({expected['label']})",
        f"neither (split) ({expected['split']})",
    ]
    assert sum("FER+: " in c for c in captions(at)) == 24  # every tile of the first page shows its votes
    total, faces = sum(expected.values()), len(public_votes_in_fer2013_order(Path(app_env["FER_DATA"]))[0])
    for side, title in (("model", "the model"), ("label", "the label"), ("split", "neither (split)")):
        radio = at.radio(key="mis_side")
        radio.set_value(next(o for o in radio.options if o.startswith(title))).run()
        no_exception(at)
        n = expected[side]
        caption = f"{n} of {n} misclassified faces where the annotators side with {title} (of {total}: " \
                  f"{total / faces:.1%} of {faces}) · page"  # the rate is of every misclassified face
        assert any(c.startswith(caption) for c in captions(at)), captions(at)


def test_misclassified_sorts_by_cleanlabs_label_issues(open_page, app_env):
    """The first page holds the misclassified faces cleanlab ranks most likely mislabeled, in its order."""
    from cleanlab.rank import get_label_quality_scores

    with np.load(Path(app_env["FER_RUNS"]) / "tiny-a" / "predictions.npz") as saved:
        probabilities, labels = saved["probabilities"].astype(np.float64), saved["labels"]
    quality = get_label_quality_scores(labels, probabilities / probabilities.sum(1, keepdims=True),
                                       method="self_confidence")
    wrong = np.flatnonzero(probabilities.argmax(1) != labels)
    expected = wrong[np.argsort(quality[wrong], kind="stable")][:24]  # least likely right first, ties in row order
    at = open_page("misclassified")
    at.selectbox(key="mis_sort").set_value("label_issue").run()
    no_exception(at)
    shown = [int(b.key.removeprefix("mis_open_")) for b in at.button if b.key and b.key.startswith("mis_open_")]
    assert shown == expected.tolist()


def hand_annotator_matrix(data: Path) -> np.ndarray:
    """Label x FER+ majority, by hand: the top of the 10 columns, unless tied or contempt/unknown/NF."""
    csv = pd.read_csv(data / "fer2013.csv")
    public = (csv["Usage"] == "PublicTest").to_numpy()
    votes = pd.read_csv(data / "fer2013new.csv").iloc[:, 2:].to_numpy()[public]
    matrix = np.zeros((7, 7), int)
    for label, row in zip(csv["emotion"].to_numpy()[public], votes):
        top = np.flatnonzero(row == row.max())
        if len(top) == 1 and top[0] < 7:
            matrix[label, FERPLUS_ORDER[top[0]]] += 1
    return matrix


def test_confusion_page_shows_the_annotators_matrix_beside_the_models(open_page, app_env):
    expected = hand_annotator_matrix(Path(app_env["FER_DATA"]))
    at = open_page("confusion")
    no_exception(at)
    at.toggle(key="cm_normalized").set_value(False).run()
    no_exception(at)
    annotators = next(f for f in plotly_figures(at) if f["layout"]["title"]["text"] == "FER+'s annotators")
    np.testing.assert_array_equal(plotly_array(annotators["data"][0]["z"]), expected)
    assert annotators["layout"]["xaxis"]["title"]["text"] == "FER+ majority"
    sentences = [m.value for m in at.markdown if "the annotators" in m.value]
    assert sentences and sentences[0].count("\n- ") == 2  # the model's top 3 confusions, one line each


@pytest.mark.parametrize("page", ["confusion", "misclassified", "saliency", "feature_maps"])
def test_every_data_page_works_without_the_votes_file(open_page, app_env, monkeypatch, page):
    monkeypatch.setenv("FER_DATA", str(Path(app_env["FER_DATA"]).parent / "data-novotes"))
    at = open_page(page)
    no_exception(at)
    assert not any("FER+:" in c or "FER+ votes:" in c for c in captions(at) + image_captions(at))
    if page in ("confusion", "misclassified"):
        assert sum("fer2013new.csv" in c for c in captions(at)) == 1


def test_the_saliency_face_picker_shows_the_faces_votes(open_page):
    at = open_page("saliency")
    no_exception(at)
    assert any("FER+ votes:" in (c or "") for c in image_captions(at) + captions(at))

