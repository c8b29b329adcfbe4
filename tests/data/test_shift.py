"""The data check: split profiles, blur estimation, the `fer data` / report warning, and the per-image input stage."""

from __future__ import annotations

import numpy as np
import pytest

from fer_core.data.shift import compare_splits, estimate_blur, split_profile


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


def test_per_image_input_stage_ignores_brightness_and_contrast(tmp_path):
    from fer_core.models.builders import build_model, load_model

    model = build_model("seed", normalization="per_image")
    faces = as_uint8(textured_faces(4, seed=1)).astype(np.float32)[..., None]
    changed = 0.6 * faces + 40  # dimmer, flatter copies of the same faces
    np.testing.assert_allclose(model.predict(changed, verbose=0), model.predict(faces, verbose=0), atol=2e-4)
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
    from fer_core.data.dataset import load_fer2013
    from fer_core.data.splits import Dataset
    from fer_core.report.sections import splits_html

    dataset = load_fer2013(shifted_data, cache=False)
    found = compare_splits(dataset)
    assert set(found.profiles) == {"train", "public"} and found.contrast_ratio < 0.85
    assert found.blur == pytest.approx(2.5, abs=0.3)
    differences = f"look blurred by a Gaussian of sigma {found.blur:.1f} px and have {found.contrast_ratio:.2f}x the contrast"
    assert differences in found.warning and "check how this copy of FER2013 was made" in found.warning
    html = splits_html(found)
    assert "<table" in html and "look blurred by a Gaussian" in html and "fer train" not in html
    same = Dataset(dataset.source, {"train": dataset["public"], "public": dataset["public"]})
    assert compare_splits(same).warning is None and "look alike" in splits_html(compare_splits(same))
    alone = Dataset(dataset.source, {"public": dataset["public"]})
    assert not compare_splits(alone).compared and "not compared" in splits_html(compare_splits(alone))


def _warnings(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("warning:")]


def test_fer_data_warns_when_training_faces_are_blurrier_than_the_test_faces(shifted_data, capsys):
    from fer_core.cli import main

    assert main(["data", "--data", str(shifted_data)]) == 0
    out = capsys.readouterr().out
    assert "sharpness" in out
    [warning] = _warnings(out)
    sigma = float(warning.split("sigma ")[1].split(" px")[0])
    assert sigma == pytest.approx(2.5, abs=0.3) and "--" not in warning  # states the difference, no training flags


@pytest.mark.data
def test_the_real_splits_look_alike_and_fer_data_prints_no_warning(real_data, capsys):
    from fer_core.cli import main

    assert main(["data", "--data", str(real_data)]) == 0
    out = capsys.readouterr().out
    assert "sharpness" in out and not _warnings(out), out
