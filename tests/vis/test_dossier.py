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


def test_a_dossier_from_activations_measured_already_is_the_same(tiny):
    images, labels = make_faces(17, seed=6)
    direct = D.filter_dossier(tiny, images, labels, "c2", [0, 3, 5], top_k=4)
    given = D.dossier_from_activations(mean_activations(tiny, images, "c2"), labels, [0, 3, 5], top_k=4)
    for a, b in zip(direct, given):
        np.testing.assert_array_equal(a, b)
