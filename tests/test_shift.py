"""Split differences: profiles, blur estimation, Wiener deblurring, and the model's per-image input stage."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fer_core.shift import estimate_blur, split_profile, wiener_deblur


def textured_faces(n: int, seed: int = 0) -> np.ndarray:
    """``float64 (n, 48, 48)`` images with detail at every scale (1/f amplitude spectrum), mean 128."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(48)
    radius = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    amplitude = 1.0 / np.maximum(radius, 1 / 48)
    noise = np.fft.fft2(rng.normal(size=(n, 48, 48)))
    x = np.real(np.fft.ifft2(noise * amplitude))
    return 128 + 40 * x / x.std(axis=(1, 2), keepdims=True)


def gaussian_blur(images: np.ndarray, sigma: float) -> np.ndarray:
    f = np.fft.fftfreq(48)
    transfer = np.exp(-2 * np.pi**2 * sigma**2 * (f[:, None] ** 2 + f[None, :] ** 2))
    return np.real(np.fft.ifft2(np.fft.fft2(images) * transfer))


def as_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def sharp():
    return textured_faces(400)


def test_estimate_blur_recovers_a_known_sigma_and_sees_none_between_alike_sets(sharp):
    for sigma in (1.0, 2.5):
        assert estimate_blur(as_uint8(sharp), as_uint8(gaussian_blur(sharp, sigma))) == pytest.approx(sigma, abs=0.25)
    assert estimate_blur(as_uint8(sharp[:200]), as_uint8(sharp[200:])) <= 0.3
    assert estimate_blur(as_uint8(gaussian_blur(sharp, 2)), as_uint8(sharp)) == 0.0  # the other way round


def test_profile_tracks_contrast_and_sharpness(sharp):
    plain, blurred = split_profile(as_uint8(sharp)), split_profile(as_uint8(gaussian_blur(sharp, 2.0)))
    flat = split_profile(as_uint8(128 + (sharp - 128) * 0.5))
    assert flat.contrast == pytest.approx(plain.contrast * 0.5, rel=0.03)
    assert flat.brightness == pytest.approx(plain.brightness, abs=1)
    assert blurred.sharpness < plain.sharpness / 10 and 0 < plain.sharpness < 1


def test_wiener_deblur_brings_blurred_faces_closer_to_the_sharp_ones(sharp):
    truth, blurred = as_uint8(sharp), as_uint8(gaussian_blur(sharp, 2.0))
    restored = wiener_deblur(blurred, 2.0)
    assert restored.dtype == np.uint8 and restored.shape == blurred.shape
    inner = slice(12, 36)  # the synthetic blur wraps around the border, the deblurring mirrors it: compare inside
    error = lambda x: np.abs(x[:, inner, inner].astype(float) - truth[:, inner, inner]).mean()  # noqa: E731
    assert error(restored) < 0.8 * error(blurred)
    assert wiener_deblur(blurred, 0.0) is blurred


def test_per_image_input_stage_ignores_brightness_and_contrast(tmp_path):
    from fer_core.models import build_model, load_model

    model = build_model("seed", normalization="per_image", blur=1.5)
    faces = as_uint8(textured_faces(4, seed=1)).astype(np.float32)[..., None]
    changed = 0.6 * faces + 40  # dimmer, flatter copies of the same faces
    np.testing.assert_allclose(model.predict(changed, verbose=0), model.predict(faces, verbose=0), atol=2e-4)
    rows, columns = model.get_layer("input_blur_h"), model.get_layer("input_blur_w")
    assert not rows.trainable and not columns.trainable and not rows.trainable_weights + columns.trainable_weights
    impulse = np.zeros((1, 48, 48, 1), np.float32)
    impulse[0, 24, 24, 0] = 1.0
    response = columns(rows(impulse)).numpy()[0, :, :, 0]
    t = np.arange(-5, 6)  # radius ceil(3 sigma) = 5 for sigma 1.5
    gaussian = np.exp(-(t**2) / (2 * 1.5**2))
    expected = np.zeros((48, 48))
    expected[19:30, 19:30] = np.outer(gaussian, gaussian) / gaussian.sum() ** 2
    np.testing.assert_allclose(response, expected, atol=1e-7)  # a normalized 11x11 Gaussian, nothing beyond
    kernel = tf.constant(expected[19:30, 19:30, None, None], tf.float32)  # the same blur as a zero-padded convolution
    face = faces[:1] / 255.0
    np.testing.assert_allclose(columns(rows(face)), tf.nn.conv2d(face, kernel, 1, "SAME"), atol=1e-6)  # borders too
    model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(load_model(tmp_path / "m.keras").predict(faces, verbose=0),
                                  model.predict(faces, verbose=0))


@pytest.fixture
def shifted_data(tmp_path):
    """A Kaggle-format folder whose 150 Training faces are blurred (sigma 2.5) and flatter (0.7x) than its 150 PublicTest faces."""
    from tests.conftest import kaggle_csv, write_text

    sharp = textured_faces(300, seed=2)
    train = as_uint8(128 + 0.7 * (gaussian_blur(sharp[:150], 2.5) - 128))
    images = np.concatenate([train, as_uint8(sharp[150:])])
    usages = ["Training"] * 150 + ["PublicTest"] * 150
    write_text(tmp_path / "fer2013.csv", kaggle_csv(images, np.arange(300) % 7, usages))
    return tmp_path


def test_compare_splits_and_the_report_state_the_difference(shifted_data):
    from fer_core.data import Dataset, load_fer2013
    from fer_core.report import _splits_html
    from fer_core.shift import compare_splits

    dataset = load_fer2013(shifted_data, cache=False)
    found = compare_splits(dataset)
    assert set(found.profiles) == {"train", "public"} and found.contrast_ratio < 0.85
    assert found.blur == pytest.approx(2.5, abs=0.3) and "--deblur" in found.warning
    html = _splits_html(dataset)
    assert "<table" in html and "look blurred by a Gaussian" in html
    assert "This run does not correct the contrast and the blur; consider `fer train --normalization per_image" in html
    fixed = _splits_html(dataset, {"normalization": "per_image", "deblur": 2.5, "blur": 1.5})
    assert "corrects the contrast and the blur with `--normalization per_image --deblur 2.5 --blur 1.5`" in fixed
    assert "does not correct" not in fixed
    half = _splits_html(dataset, {"normalization": "per_image", "deblur": 0})
    assert "corrects the contrast with `--normalization per_image`. It does not correct the blur; " \
           f"consider `fer train --deblur {found.blur:.1f} --blur 1.5`" in half
    same = Dataset(dataset.source, {"train": dataset["public"], "public": dataset["public"]})
    assert compare_splits(same).warning is None and "look alike" in _splits_html(same)
    alone = Dataset(dataset.source, {"public": dataset["public"]})
    assert not compare_splits(alone).compared and "not compared" in _splits_html(alone)


def test_fer_data_warns_when_training_faces_are_blurrier_than_the_test_faces(shifted_data, capsys):
    from fer_core.cli import main

    assert main(["data", "--data", str(shifted_data)]) == 0
    out = capsys.readouterr().out
    assert "sharpness" in out
    warning = next(line for line in out.splitlines() if line.startswith("warning:"))
    sigma = float(warning.split("sigma ")[1].split(" px")[0])
    assert sigma == pytest.approx(2.5, abs=0.3) and "--deblur" in warning


def test_the_blurred_input_is_standardized_again_for_sharp_and_smooth_faces_alike():
    import keras

    from fer_core.models import build_model

    model = build_model("seed", normalization="per_image", blur=1.5)
    stage = keras.Model(model.inputs, model.get_layer("per_image_blurred").output)
    sharp = as_uint8(textured_faces(3, seed=4))
    smooth = as_uint8(gaussian_blur(textured_faces(3, seed=4), 3.0))
    for faces in (sharp, smooth):
        out = stage.predict(faces[..., None].astype(np.float32), verbose=0)
        np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1.0, atol=0.01)
