import numpy as np

from fer_core.vis import dossier as D
from fer_core.vis.feature_maps import mean_activations
from tests.conftest import make_faces


def test_filter_dossier(tiny):
    images, labels = make_faces(21, seed=5)
    labels = np.where(labels == 1, 0, labels)  # no "disgust" face
    dossier = D.filter_dossier(tiny, images, labels, "c2", [1, 4], top_k=5)
    means = mean_activations(tiny, images, "c2")[:, [1, 4]].T
    assert dossier.top_indices.shape == (2, 5) and dossier.top_activations.dtype == np.float32
    np.testing.assert_array_equal(dossier.top_indices, np.argsort(-means, axis=1)[:, :5])
    assert np.all(np.diff(dossier.top_activations, axis=1) <= 0)
    np.testing.assert_allclose(dossier.per_emotion[:, 3], means[:, labels == 3].mean(axis=1), rtol=1e-5)
    assert np.all(np.isnan(dossier.per_emotion[:, 1]))
    assert D.filter_dossier(tiny, images, labels, "c2").per_emotion.shape == (6, 7)


def test_a_dossier_from_hand_made_activations():
    """5 faces x 3 channels, values chosen so every answer can be read off by eye."""
    means = np.array([[0.1, 5.0, 2.0],
                      [0.9, 1.0, 2.0],
                      [0.5, 3.0, 2.0],
                      [0.3, 4.0, 2.0],
                      [0.7, 2.0, 2.0]], np.float32)
    labels = np.array([0, 0, 3, 3, 6])  # angry, angry, happy, happy, neutral
    dossier = D.dossier_from_activations(means, labels, [2, 0, 1], top_k=2)
    np.testing.assert_array_equal(dossier.filters, [2, 0, 1])
    np.testing.assert_array_equal(dossier.top_indices, [[0, 1],  # a tie keeps the faces in order
                                                        [1, 4],  # 0.9, 0.7
                                                        [0, 3]])  # 5.0, 4.0
    np.testing.assert_allclose(dossier.top_activations, [[2.0, 2.0], [0.9, 0.7], [5.0, 4.0]], rtol=1e-6)
    expected = np.full((3, 7), np.nan, np.float32)
    expected[:, 0] = [2.0, 0.5, 3.0]  # the two angry faces' means
    expected[:, 3] = [2.0, 0.4, 3.5]
    expected[:, 6] = [2.0, 0.7, 2.0]
    np.testing.assert_allclose(dossier.per_emotion, expected, rtol=1e-6)
