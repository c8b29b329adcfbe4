"""Two models on the same faces: confusion-matrix change and disagreements, checked by hand."""

import numpy as np
import pytest

from fer_core.errors import FerError
from fer_core.evaluation.compare import (change_sentences, confusion_change, disagreements, matching_layer,
                                         row_fractions, wrong_models_side)
from fer_core.evaluation.label_noise import annotator_side


def _matrices():
    first = np.diag([10, 4, 10, 10, 10, 10, 10]).astype(np.int64)
    first[2, 4] = 10  # fear: 10 right, 10 read as sad (50%)
    second = first.copy()
    second[2, 2], second[2, 4] = 15, 5  # fear: 75% right, 25% read as sad
    second[1, 1], second[1, 0] = 3, 1  # disgust: one more read as angry
    return first, second


def test_confusion_change_is_in_points_and_positive_where_better():
    first, second = _matrices()
    points, gain = confusion_change(first, second)
    assert points[2, 2] == pytest.approx(25.0) and points[2, 4] == pytest.approx(-25.0)
    assert gain[2, 2] == pytest.approx(25.0) and gain[2, 4] == pytest.approx(25.0), "fewer fear-as-sad is better"
    assert gain[1, 1] == pytest.approx(-25.0) and gain[1, 0] == pytest.approx(-25.0)
    assert np.count_nonzero(points) == 4 and not np.signbit(gain[gain == 0]).any()
    assert np.allclose(points.sum(axis=1), 0), "each row of fractions still sums to 100%"
    assert np.array_equal(confusion_change(first, first)[0], np.zeros((7, 7)))


def test_row_fractions_of_an_empty_row_are_zero():
    m = np.eye(7, dtype=np.int64)
    m[3] = 0
    assert row_fractions(m)[3].tolist() == [0.0] * 7 and row_fractions(m)[0, 0] == 1.0


def test_change_sentences_name_the_cells_that_moved_most():
    first, second = _matrices()
    lines = change_sentences(first, second, count=2)
    assert lines[:2] == [
        "fear read correctly: 50.0% → 75.0% (better by 25.0 points)",
        "fear read as sad: 50.0% → 25.0% (better by 25.0 points)",
    ]
    assert set(lines[2:]) == {
        "disgust read correctly: 100.0% → 75.0% (worse by 25.0 points)",
        "disgust read as angry: 0.0% → 25.0% (worse by 25.0 points)",
    }
    assert change_sentences(first, first) == []


def test_confusion_change_needs_the_same_faces():
    first, second = _matrices()
    second[0, 0] += 1
    with pytest.raises(FerError, match="same split"):
        confusion_change(first, second)
    with pytest.raises(FerError, match=r"\(7, 7\)"):
        confusion_change(first[:6], first[:6])


def test_disagreements_are_the_faces_exactly_one_model_gets_right():
    labels = np.array([0, 1, 2, 3, 4, 5])
    first = np.array([0, 1, 0, 0, 4, 6])  # right on 0, 1, 4
    second = np.array([0, 0, 2, 0, 1, 5])  # right on 0, 2, 5
    assert disagreements(labels, first, second, "first").tolist() == [1, 4]
    assert disagreements(labels, first, second, "second").tolist() == [2, 5]
    assert disagreements(labels, first, second).tolist() == [1, 2, 4, 5]
    assert disagreements(labels, first, second).dtype == np.int64
    with pytest.raises(FerError, match="right="):
        disagreements(labels, first, second, "both")
    with pytest.raises(FerError, match="shape"):
        disagreements(labels, first[:3], second)


def test_on_disagreements_the_annotators_side_is_judged_against_the_wrong_model():
    labels = np.array([0, 3, 6])
    first, second = np.array([0, 4, 3]), np.array([4, 3, 6])  # A right on 0, B right on 1 and 2
    votes = np.zeros((3, 10), np.int64)  # FER+ columns: neutral, happiness, surprise, sadness, anger, ...
    votes[0, 3], votes[1, 1] = 10, 10  # face 0: all vote sadness (B's answer); face 1: happiness (the label)
    votes[2, [0, 1]] = 5  # face 2: neutral 5 (the label), happy 5 (A's answer)
    own = {name: annotator_side(votes, labels, model) for name, model in (("first", first), ("second", second))}
    sides = wrong_models_side(labels, first, own["first"], own["second"])
    assert sides.tolist() == ["model", "label", "split"]
    assert own["first"][0] == "split", "against the right model every face is split"


def test_a_layer_matches_its_namesake_or_an_ensemble_members_copy():
    seed, ensemble = ["conv1", "conv5", "conv3_2"], ["s45_conv1", "s45_conv5", "s80_conv5", "vgg1_conv3_2"]
    assert matching_layer("conv5", seed) == "conv5"
    assert matching_layer("conv5", ensemble) == "s45_conv5"  # the first member's
    assert matching_layer("s80_conv5", seed) == "conv5" and matching_layer("vgg1_conv3_2", seed) == "conv3_2"
    assert matching_layer("conv3_2", ensemble) == "vgg1_conv3_2"
    assert matching_layer("conv2", seed) is None and matching_layer("s45_conv2", seed) is None
    assert matching_layer("onv5", ensemble) is None  # a suffix of a name is not a match
