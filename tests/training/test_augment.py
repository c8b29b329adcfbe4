"""RandomAffine: the training augmentation as one resampling."""

from __future__ import annotations

import keras
import numpy as np

from fer_core.data.shift import estimate_blur
from fer_core.training.augment import RandomAffine


def _noise_faces(n: int = 64, seed: int = 0) -> np.ndarray:
    """``float32 (n, 48, 48, 1)`` faces of smooth blobs plus fine texture (so blur is measurable)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:48]
    blobs = np.exp(-((yy - 24) ** 2 + (xx - 24) ** 2) / 200.0)
    return np.clip(70 + 120 * blobs + rng.normal(0, 30, (n, 48, 48)), 0, 255).astype("float32")[..., None]


def _as_uint8(x) -> np.ndarray:
    return np.clip(np.asarray(x), 0, 255).round().astype(np.uint8)[..., 0]


def test_nothing_to_draw_or_inference_leaves_faces_exactly_as_they_are():
    faces = _noise_faces(8)
    np.testing.assert_array_equal(np.asarray(RandomAffine(False, 0, 0, 0, seed=0)(faces, training=True)), faces)
    np.testing.assert_array_equal(np.asarray(RandomAffine(seed=0)(faces)), faces)  # training not set


def test_flip_alone_mirrors_about_half_the_faces_exactly():
    faces = _noise_faces(200)
    out = np.asarray(RandomAffine(True, 0, 0, 0, seed=1)(faces, training=True))
    same = [np.array_equal(o, f) for o, f in zip(out, faces)]
    mirrored = [np.array_equal(o, f[:, ::-1]) for o, f in zip(out, faces)]
    assert all(s != m for s, m in zip(same, mirrored))  # each face is one or the other
    assert 70 < sum(mirrored) < 130


def test_transforms_stay_in_their_ranges_and_keep_the_face_centered():
    dot = np.zeros((500, 48, 48, 1), "float32")
    dot[:, 22:26, 22:26] = 255.0  # a 4x4 square on the center
    out = np.asarray(RandomAffine(True, 10.0, 0.1, 0.1, seed=2)(dot, training=True))[..., 0]
    yy, xx = np.mgrid[0:48, 0:48]
    mass = out.sum(axis=(1, 2))
    cy, cx = (out * yy).sum(axis=(1, 2)) / mass, (out * xx).sum(axis=(1, 2)) / mass
    reach = 0.1 * 48 / 0.9 + 0.5  # a 4.8 px shift of the input is up to 1/0.9 of that in the output
    assert np.abs(cy - 23.5).max() <= reach and np.abs(cx - 23.5).max() <= reach
    assert np.abs(cx - 23.5).max() > 3.0  # shifts of up to 4.8 px are drawn
    area = mass / (255.0 * 16)
    assert 1 / 1.1**2 - 0.05 < area.min() and area.max() < 1 / 0.9**2 + 0.05  # zoom factors 0.9-1.1 per axis


def test_one_resampling_blurs_less_than_keras_three_layers_in_a_row():
    faces = _noise_faces(256)
    chain = keras.Sequential([
        keras.layers.RandomRotation(10 / 360, fill_mode="nearest", seed=1),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=2),
        keras.layers.RandomZoom(0.1, 0.1, fill_mode="nearest", seed=3),
    ])
    raw = _as_uint8(faces)
    once = estimate_blur(raw, _as_uint8(RandomAffine(False, 10, 0.1, 0.1, seed=1)(faces, training=True)))
    three = estimate_blur(raw, _as_uint8(chain(faces, training=True)))
    assert once < three - 0.1, (once, three)


def test_same_seed_same_faces_and_the_layer_round_trips_its_config():
    faces = _noise_faces(4)
    first, second = RandomAffine(seed=5), RandomAffine(seed=5)
    np.testing.assert_array_equal(np.asarray(first(faces, training=True)), np.asarray(second(faces, training=True)))
    clone = RandomAffine.from_config(first.get_config())
    assert (clone.flip, clone.rotation, clone.shift, clone.zoom, clone.seed) == (True, 10.0, 0.1, 0.1, 5)


def test_output_keeps_shape_in_float32_under_a_bfloat16_policy():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        layer = RandomAffine(seed=0)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    out = layer(_noise_faces(3), training=True)
    assert tuple(out.shape) == (3, 48, 48, 1) and keras.backend.standardize_dtype(out.dtype) == "float32"
