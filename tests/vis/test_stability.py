import numpy as np
import pytest

from fer_core.errors import FerError
from fer_core.vis import stability as St

FAST = {"steps": 24, "learning_rate": 0.1}


def test_stability_is_one_for_equal_seeds_and_lower_for_different_ones(tiny):
    exact = St.stability(tiny, "c2", [0, 2], seeds=(4, 4, 4), **FAST)
    np.testing.assert_allclose(exact, 1.0, atol=1e-6)
    varied = St.stability(tiny, "c2", [0, 2], seeds=(0, 1, 2), **FAST)
    assert varied.shape == (2,) and varied.dtype == np.float32 and np.all((varied > -1) & (varied < 0.999))
    with pytest.raises(FerError, match="at least 2 seeds"):
        St.stability(tiny, "c2", [0], seeds=(0,))


def test_seed_similarity_sees_a_shifted_grating_as_the_same_and_noise_as_unrelated():
    y, x = np.mgrid[0:48, 0:48]
    grating = np.sin(2 * np.pi * (x + 0.5 * y) / 8)
    shifted = np.sin(2 * np.pi * (x + 0.5 * y) / 8 + np.pi)  # half a period on: plain correlation -1
    assert np.corrcoef(grating.ravel(), shifted.ravel())[0, 1] < -0.99
    assert St.shifted_correlation(grating, shifted) == pytest.approx(1.0, abs=1e-6)
    assert St.seed_similarity(np.stack([grating, shifted, np.roll(grating, 5, axis=1)])) == pytest.approx(1.0, abs=1e-6)
    noise = np.random.default_rng(0).normal(size=(2, 48, 48))
    assert abs(St.shifted_correlation(noise[0], noise[1])) < 0.12
    assert np.isnan(St.shifted_correlation(np.ones((48, 48)), grating))
