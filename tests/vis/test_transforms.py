import numpy as np
import tensorflow as tf

from fer_core.vis import parameterization as P
from fer_core.vis import transforms as T


def test_transforms_are_small_and_composable():
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 255, (2, 48, 48, 1)), tf.float32)
    zero, u = tf.zeros((2, 4)), tf.constant([[1.0, -1.0, 0, 0], [0.5, 0.0, 0, 0]])
    for transform in (T.jitter(2), T.scale(0.1), T.rotate(10)):
        np.testing.assert_allclose(transform(images, zero).numpy(), images.numpy(), atol=1e-3)
    shifted = T.jitter(2)(images, u).numpy()
    np.testing.assert_allclose(shifted[0, 5:40, 5:40], images.numpy()[0, 7:42, 3:38], atol=1e-3)  # down 2, left 2
    flat = tf.fill((1, 48, 48, 1), 100.0)
    np.testing.assert_allclose(T.blur(1.0)(flat, zero[:1]).numpy(), 100.0, rtol=1e-5)
    both = T.compose(T.jitter(2), T.blur(1.0))(images, u).numpy()
    np.testing.assert_allclose(both, T.blur(1.0)(T.jitter(2)(images, u), u).numpy(), rtol=1e-5)
    assert T.compose(T.jitter(2), T.blur(1.0)) is T.compose(T.jitter(2), T.blur(1.0))  # memoized: no retracing
    assert T.total_variation(1.0)(flat).numpy()[0] == 0
    assert (
        T.total_variation(1.0)(images).numpy().min() > 0 and T.l2(1.0)(tf.fill((1, 48, 48, 1), 127.5)).numpy()[0] == 0
    )


def test_fourier_parameterization_starts_near_gray():
    param = P.fourier()
    start = np.random.default_rng(0).normal(0, 0.01, (3, *param.shape)).astype(np.float32)
    pixels = param.to_pixels(tf.constant(start)).numpy()
    assert pixels.shape == (3, 48, 48, 1) and np.all(np.abs(pixels - 127.5) < 40)
