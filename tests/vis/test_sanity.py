import numpy as np
import pandas as pd
import pytest

from fer_core.vis import methods as M
from fer_core.vis import sanity as R

FAST = {"smoothgrad": {"samples": 6}, "integrated_gradients": {"steps": 16}}


def _weights(model, name):
    kernel, bias = model.get_layer(name).get_weights()
    return kernel, bias


def test_rank_correlation_matches_pandas_spearman_with_ties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, (3, 6, 6)).astype(float)  # many ties
    b = a + rng.normal(0, 2, a.shape)
    got = R.rank_correlation(a, b)
    # Spearman = Pearson correlation of the average ranks (pandas' rank ties to the average)
    expected = [pd.Series(x.ravel()).rank().corr(pd.Series(y.ravel()).rank()) for x, y in zip(a, b)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert R.rank_correlation(a, a)[0] == pytest.approx(1.0)
    assert R.rank_correlation(a, -a)[0] == pytest.approx(-1.0)
    assert np.isnan(R.rank_correlation(np.zeros((1, 4, 4)), a[:1, :4, :4])[0])


@pytest.mark.parametrize("method", list(M.METHODS))
def test_randomization_check_is_one_for_a_copy_and_low_for_random_weights(tiny, faces, method):
    options = FAST.get(method, {})
    same = R.randomization_check(tiny, faces, method, against=R.copy_model(tiny), **options)
    np.testing.assert_allclose(same, 1.0, atol=1e-5)
    randomized = R.randomization_check(tiny, faces, method, seed=1, **options)
    assert randomized.shape == (len(faces),) and randomized.dtype == np.float32
    assert np.nanmean(randomized) < 0.6


def test_randomized_copy_changes_only_the_chosen_layers(tiny):
    copy = R.randomized_copy(tiny, layers=["logits"], seed=4)
    assert not np.allclose(copy.get_layer("logits").get_weights()[0], tiny.get_layer("logits").get_weights()[0])
    np.testing.assert_array_equal(copy.get_layer("c1").get_weights()[0], tiny.get_layer("c1").get_weights()[0])
    np.testing.assert_array_equal(copy.get_layer("bn1").get_weights()[2], tiny.get_layer("bn1").get_weights()[2])


def test_cascading_randomization_goes_from_the_output_down(tiny, faces):
    names, correlations = R.cascading_randomization(tiny, faces[:3], "vanilla")
    assert names == ["logits", "c2", "bn1", "c1"]
    assert correlations.shape == (4, 3) and correlations.dtype == np.float32
    assert np.all(correlations[-1] < 0.6)
