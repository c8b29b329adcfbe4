import numpy as np
import pytest

from fer_core.data.splits import Split
from fer_core.errors import FerError
from fer_core.evaluation.misclassified import (
    COLUMNS, confusion_pair, misclassified, misclassified_from_model, predictions_table, sort_samples,
)
from tests.conftest import make_faces
from tests.vis.conftest import linear_model


@pytest.fixture(scope="module")
def linear():
    return linear_model()

# rows: true label, and probabilities over the 7 emotions
PROBABILITIES = np.array(
    [
        [0.10, 0.00, 0.60, 0.00, 0.10, 0.20, 0.00],  # true fear (2) -> fear: correct
        [0.00, 0.00, 0.30, 0.00, 0.00, 0.70, 0.00],  # true fear -> surprise, 0.7
        [0.00, 0.00, 0.45, 0.00, 0.05, 0.50, 0.00],  # true fear -> surprise, 0.5
        [0.90, 0.00, 0.00, 0.05, 0.00, 0.00, 0.05],  # true happy (3) -> angry, 0.9
        [0.00, 0.00, 0.00, 0.20, 0.80, 0.00, 0.00],  # true sad (4) -> sad: correct
    ],
    np.float32,
)
LABELS = np.array([2, 2, 2, 3, 4])


def test_table_columns_and_top3():
    table = predictions_table(PROBABILITIES, LABELS, ids=np.arange(10, 15))
    assert tuple(table.columns) == COLUMNS and table.index.name == "row"
    assert table.loc[1, "predicted_emotion"] == "surprise" and table.loc[1, "true_emotion"] == "fear"
    assert table.loc[1, "confidence"] == pytest.approx(0.7) and table.loc[1, "true_probability"] == pytest.approx(0.3)
    assert table.loc[3, ["top1", "top2", "top3"]].tolist() == [0, 3, 6]
    assert table.loc[3, "top3_text"] == "angry 90%, happy 5%, neutral 5%"
    assert table.loc[0, "id"] == 10


def test_misclassified_are_the_wrong_ones_most_confident_first():
    wrong = misclassified(PROBABILITIES, LABELS)
    assert wrong.index.tolist() == [3, 1, 2]
    assert (wrong["true"] != wrong["predicted"]).all()
    assert misclassified(PROBABILITIES, LABELS, sort_by="confidence", descending=False).index.tolist() == [2, 1, 3]
    assert sort_samples(wrong, "true_probability", descending=True).index.tolist() == [2, 1, 3]
    assert sort_samples(wrong, "margin").index.tolist() == [3, 1, 2]
    with pytest.raises(FerError, match="cannot sort by"):
        sort_samples(wrong, "loss")


def test_filter_by_confusion_pair():
    wrong = misclassified(PROBABILITIES, LABELS)
    assert confusion_pair(wrong, "fear", "surprise").index.tolist() == [1, 2]
    assert confusion_pair(wrong, 2, 5).index.tolist() == [1, 2]
    assert confusion_pair(wrong, true="happy").index.tolist() == [3]
    assert confusion_pair(wrong, predicted="sad").empty
    table = predictions_table(PROBABILITIES, LABELS)
    assert confusion_pair(table, "fear", "fear").index.tolist() == [0]  # correct pairs too
    assert confusion_pair(table, "fear", "surprise").index.tolist() == [1, 2]
    with pytest.raises(FerError, match="unknown emotion 'joy'"):
        confusion_pair(wrong, "joy")


def test_bad_input_is_one_line():
    with pytest.raises(FerError, match=r"expected \(N, 7\)"):
        misclassified(PROBABILITIES[:, :6], LABELS)
    with pytest.raises(FerError, match="one per row"):
        misclassified(PROBABILITIES, LABELS[:3])
    with pytest.raises(FerError, match="integers 0..6"):
        misclassified(PROBABILITIES, np.array([0, 1, 2, 3, 9]))


def test_from_model_and_split(linear):
    images, labels = make_faces(14, seed=2)
    split = Split(images, labels, np.arange(100, 114))
    wrong = misclassified_from_model(linear, split)
    scores = linear.predict(images[..., None].astype(np.float32), verbose=0)  # Keras itself, not predict_proba
    rows = np.flatnonzero(scores.argmax(1) != labels)
    assert len(rows) > 0 and sorted(wrong.index) == list(rows) and set(wrong["id"]) == set(split.ids[rows])
    np.testing.assert_allclose(wrong["confidence"], scores[wrong.index].max(1), rtol=1e-5)
    assert np.all(np.diff(wrong["confidence"].to_numpy()) <= 0), "most confident mistakes first"
    with pytest.raises(FerError, match="no labels"):
        misclassified_from_model(linear, Split(images, None, split.ids))
