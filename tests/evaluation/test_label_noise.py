"""FER+ definitions on hand-made votes: majority, sides, the annotators' matrix, the summary, cleanlab's ranking."""

from __future__ import annotations

import numpy as np
import pytest

from fer_core.evaluation.label_noise import (
    NO_MAJORITY, annotator_confusion, annotator_side, class_votes, ferplus_majority, ferplus_summary,
    label_issue_detection, label_quality, votes_text,
)

ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL = range(7)


def votes(**counts: int) -> np.ndarray:
    """One face's FER+ row from counts named by FER+ column (neutral, happiness, ..., contempt, unknown, NF)."""
    from fer_core.data.ferplus import VOTE_COLUMNS

    return np.array([counts.get(name, 0) for name in VOTE_COLUMNS])


def test_class_votes_reorder_ferplus_columns_into_fer2013_order():
    row = votes(neutral=1, happiness=2, surprise=3, sadness=4, anger=5, disgust=6, fear=7, contempt=8)
    assert class_votes(row[None]).tolist() == [[5, 6, 7, 2, 4, 3, 1]]


def test_majority_is_the_top_vote_unless_it_is_tied_or_not_an_emotion():
    rows = np.stack([
        votes(neutral=6, sadness=3, anger=1),  # neutral
        votes(fear=4, surprise=4, neutral=2),  # tie
        votes(contempt=5, anger=4, disgust=1),  # contempt tops: no FER2013 class
        votes(NF=10),  # not a face
        votes(unknown=6, happiness=4),
        votes(),  # no votes (a row past the end of a shorter file)
        votes(happiness=9),  # a row of 9 votes
    ])
    assert ferplus_majority(rows).tolist() == [NEUTRAL, NO_MAJORITY, NO_MAJORITY, NO_MAJORITY, NO_MAJORITY,
                                               NO_MAJORITY, HAPPY]


def test_the_annotators_side_with_the_model_the_label_or_neither():
    rows = np.stack([votes(neutral=6, fear=3, sadness=1), votes(neutral=2, fear=7, sadness=1),
                     votes(neutral=4, fear=4, sadness=2), votes(happiness=10)])
    labels = np.array([FEAR, FEAR, FEAR, FEAR])
    predicted = np.array([NEUTRAL, NEUTRAL, NEUTRAL, SAD])
    assert annotator_side(rows, labels, predicted).tolist() == ["model", "label", "split", "split"]


def test_the_annotators_matrix_counts_label_against_majority_and_skips_faces_without_one():
    rows = np.stack([votes(neutral=6, fear=4), votes(fear=6, neutral=4), votes(fear=5, neutral=5)])
    matrix = annotator_confusion(np.array([FEAR, FEAR, FEAR]), rows)
    assert matrix[FEAR, NEUTRAL] == 1 and matrix[FEAR, FEAR] == 1 and matrix.sum() == 2


def test_the_summary_on_a_hand_made_split():
    rows = np.stack([votes(neutral=6, fear=4), votes(fear=7, neutral=3), votes(fear=5, neutral=5),
                     votes(happiness=10)])
    labels = np.array([FEAR, FEAR, FEAR, HAPPY])
    probabilities = np.eye(7)[[NEUTRAL, NEUTRAL, NEUTRAL, HAPPY]]
    summary = ferplus_summary(probabilities, labels, rows)
    # Majorities: neutral, fear, none, happy -> 3 faces; the model matches 2 (neutral, happy), the labels 2.
    assert summary["faces_with_majority"] == 3
    assert summary["accuracy"] == pytest.approx(2 / 3) and summary["label_agreement"] == pytest.approx(2 / 3)
    assert summary["misclassified"] == 3 and summary["sides"] == {"model": 1, "label": 1, "split": 1}


def test_votes_text_names_the_top_columns_in_fer2013_words():
    assert votes_text(votes(neutral=6, sadness=3, anger=1)) == "neutral 6 · sad 3 · angry 1"
    assert votes_text(votes(NF=10)) == "NF 10"
    assert votes_text(votes()) == "no votes"


def test_cleanlab_ranks_a_face_whose_label_the_model_doubts_lowest():
    labels = np.array([HAPPY, HAPPY, SAD, SAD])
    probabilities = np.array([[0.01] * 3 + [0.94] + [0.01] * 3] * 3 + [[0.01] * 3 + [0.94] + [0.01] * 3])
    probabilities[2] = [0.01, 0.01, 0.01, 0.01, 0.94, 0.01, 0.01]
    quality = label_quality(probabilities, labels)
    assert quality.shape == (4,) and quality.argmin() == 3  # labeled sad, the model says happy


def test_label_issue_detection_scores_a_perfect_and_a_reversed_ranking():
    rows = np.stack([votes(happiness=10)] * 6)
    labels = np.array([HAPPY, HAPPY, HAPPY, SAD, SAD, SAD])  # the last three disagree with the annotators
    perfect = label_issue_detection(np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.3]), labels, rows, top=3)
    assert perfect["auroc"] == 1.0 and perfect["precision_at"] == 1.0 and perfect["disagreements"] == 3
    reversed_ = label_issue_detection(np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.7]), labels, rows, top=3)
    assert reversed_["auroc"] == 0.0 and reversed_["precision_at"] == 0.0



def test_vote_targets_are_one_hot_labels_the_vote_distribution_or_a_blend():
    from fer_core.evaluation.label_noise import vote_targets

    rows = np.stack([votes(neutral=6, sadness=3, anger=1), votes(NF=8, contempt=2)])
    labels = np.array([SAD, FEAR])
    np.testing.assert_array_equal(vote_targets(labels, rows, "labels"), np.eye(7)[[SAD, FEAR]])
    spread = vote_targets(labels, rows, "ferplus")
    np.testing.assert_allclose(spread[0], np.eye(7)[NEUTRAL] * 0.6 + np.eye(7)[SAD] * 0.3 + np.eye(7)[ANGRY] * 0.1)
    np.testing.assert_array_equal(spread[1], np.eye(7)[FEAR])  # no vote for any of the 7 classes: the label
    blend = vote_targets(labels, rows, "blend", 0.25)
    np.testing.assert_allclose(blend[0], 0.75 * np.eye(7)[SAD] + 0.25 * spread[0], rtol=1e-6)
    assert blend.dtype == np.float32 and np.allclose(blend.sum(axis=1), 1)
