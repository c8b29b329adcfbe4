"""The on-disk gradient-ascent images: chunks, reuse, precompute beside the model, stale versions."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import tensorflow as tf

from fer_core.cli import main
from fer_core.errors import FerError
from fer_core.vis import ascent, filter_cache
from fer_core.vis.filter_cache import FilterCache, chunks, precompute
from fer_core.vis.filters import gradient_ascent
from fer_core.vis.parameterization import DEFAULT_PARAMETERIZATION, fourier
from fer_core.vis.transforms import DEFAULT_TRANSFORM, RANDOM_COLUMNS, compose, jitter, rotate, scale
from tests.vis.conftest import tiny_cnn

SUFFIX = f"s8-r{filter_cache.RECIPE}"  # the model_file fixture's steps and the current recipe


@pytest.fixture
def model_file(tmp_path, monkeypatch):
    monkeypatch.setattr(filter_cache, "CHUNK", 4)
    monkeypatch.setattr(filter_cache, "STEPS", 8)
    path = tmp_path / "run" / "model.keras"
    path.parent.mkdir()
    tiny_cnn().save(path)
    return path


def test_chunks_cover_the_asked_filters_on_a_fixed_grid(monkeypatch):
    monkeypatch.setattr(filter_cache, "CHUNK", 4)
    assert chunks(10) == [(0, 4), (4, 8), (8, 10)]
    assert chunks(10, 5, 6) == [(4, 8)]
    assert chunks(10, 3, 99) == [(0, 4), (4, 8), (8, 10)]


def test_images_equal_a_direct_gradient_ascent_and_are_read_back_without_computing(model_file, monkeypatch):
    from fer_core.models.builders import load_model

    model = load_model(model_file)
    cache = FilterCache(model_file)
    assert not cache.has("c2", 6)
    progress = []
    images = cache.images(model, "c2", 1, 6, on_progress=progress.append)
    direct = gradient_ascent(model, "c2", np.arange(0, 4), steps=8).images
    assert images.shape == (5, 48, 48) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[:3], direct[1:4])
    assert progress == [0.5, 1.0]
    assert cache.has("c2", 6)
    assert sorted(p.name for p in cache.user.iterdir()) == [f"c2-0-4-{SUFFIX}.npz", f"c2-4-6-{SUFFIX}.npz"]

    monkeypatch.setattr("fer_core.vis.filters.gradient_ascent", lambda *a, **k: pytest.fail("recomputed"))
    np.testing.assert_array_equal(FilterCache(model_file).images(model, "c2", 1, 6), images)


def test_precompute_writes_every_conv_layer_beside_the_model_and_drops_stale_versions(model_file):
    stale = model_file.parent / "filters" / "model-0123456789abcdef0123"  # an earlier version of model.keras
    other = model_file.parent / "filters" / "other-0123456789abcdef0123"  # another model file's images
    for folder in (stale, other):
        folder.mkdir(parents=True)
        (folder / f"c1-0-4-{SUFFIX}.npz").write_bytes(b"old")
    folder = precompute(model_file)
    assert sorted(p.name for p in folder.iterdir()) == [f"{chunk}-{SUFFIX}.npz" for chunk in ("c1-0-4", "c2-0-4", "c2-4-6")]
    with np.load(folder / f"c1-0-4-{SUFFIX}.npz", allow_pickle=False) as saved:
        assert saved["images"].shape == (4, 48, 48)
    assert sorted(p.name for p in folder.parent.iterdir()) == sorted([folder.name, other.name])


def test_a_changed_model_file_does_not_see_the_old_images(model_file):
    from fer_core.models.builders import load_model

    precompute(model_file, ["c1"])
    first = FilterCache(model_file)
    other = tiny_cnn()
    other.get_layer("c1").set_weights([w + 0.5 for w in other.get_layer("c1").get_weights()])
    other.save(model_file)
    second = FilterCache(model_file)
    assert second.digest != first.digest and not second.has("c1", 4)
    images = second.images(load_model(model_file), "c1")
    assert images.shape == (4, 48, 48)


def test_a_corrupt_cache_file_is_computed_again(model_file):
    from fer_core.models.builders import load_model

    cache = FilterCache(model_file)
    cache.user.mkdir(parents=True)
    (cache.user / f"c1-0-4-{SUFFIX}.npz").write_bytes(b"not an npz")
    images = cache.images(load_model(model_file), "c1")
    assert images.shape == (4, 48, 48)
    with np.load(cache.user / f"c1-0-4-{SUFFIX}.npz", allow_pickle=False) as saved:
        np.testing.assert_array_equal(saved["images"], images)


def test_a_corrupt_shipped_file_is_passed_over_for_the_recomputed_one(model_file, monkeypatch):
    from fer_core.models.builders import load_model

    cache = FilterCache(model_file)
    cache.shipped.mkdir(parents=True)
    (cache.shipped / f"c1-0-4-{SUFFIX}.npz").write_bytes(b"half a copy")
    assert not cache.has("c1", 4)
    images = cache.images(load_model(model_file), "c1")
    assert cache.has("c1", 4) and cache.find("c1", 0, 4).parent == cache.user
    monkeypatch.setattr("fer_core.vis.filters.gradient_ascent", lambda *a, **k: pytest.fail("recomputed"))
    np.testing.assert_array_equal(cache.images(load_model(model_file), "c1"), images)


def test_unknown_layer_and_missing_model_are_one_line_errors(model_file, tmp_path, capsys):
    with pytest.raises(FerError, match="no conv layer dense"):
        precompute(model_file, ["dense"])
    assert main(["filters", str(tmp_path / "nothing")]) == 2
    assert "no such model file" in capsys.readouterr().err


def test_cli_precomputes_the_chosen_layers(model_file, capsys):
    assert main(["filters", str(model_file.parent), "--layers", "c1"]) == 0
    out = capsys.readouterr()
    assert "c1: 100%" in out.err and "wrote" in out.out
    assert FilterCache(model_file).find("c1", 0, 4).parent == FilterCache(model_file).shipped


# What each RECIPE drew its images with: gradient_ascent's defaults, the default transform and parameterization.
RECIPES = {
    1: {"learning_rate": 0.05, "seed": 0, "noise": 0.01, "penalty": None,
        "transform": lambda: compose(jitter(2), scale(0.05), rotate(5.0)), "parameterization": lambda: fourier(1.0)},
}


def test_the_recipe_version_still_names_the_ascent_defaults():
    """Changing a default of the ascent without raising filter_cache.RECIPE (and recording the new version
    here) would show images of the old settings as the new ones: this fails first."""
    recipe = RECIPES[filter_cache.RECIPE]
    defaults = {name: p.default for name, p in inspect.signature(ascent.gradient_ascent).parameters.items()}
    assert {k: defaults[k] for k in ("learning_rate", "seed", "noise", "penalty")} == {
        k: recipe[k] for k in ("learning_rate", "seed", "noise", "penalty")}
    assert defaults["transform"] is DEFAULT_TRANSFORM and defaults["parameterization"] is DEFAULT_PARAMETERIZATION
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 255, (3, 48, 48, 1)), tf.float32)
    u = tf.constant(rng.uniform(-1, 1, (3, RANDOM_COLUMNS)), tf.float32)
    np.testing.assert_array_equal(DEFAULT_TRANSFORM(images, u), recipe["transform"]()(images, u))
    spectrum = tf.constant(rng.normal(0, 0.5, (3, *DEFAULT_PARAMETERIZATION.shape)), tf.float32)
    np.testing.assert_array_equal(DEFAULT_PARAMETERIZATION.to_pixels(spectrum),
                                  recipe["parameterization"]().to_pixels(spectrum))


def test_images_of_another_recipe_are_passed_over_and_drawn_again(model_file, monkeypatch):
    from fer_core.models.builders import load_model

    precompute(model_file, ["c1"])
    assert FilterCache(model_file).has("c1", 4)
    monkeypatch.setattr(filter_cache, "RECIPE", filter_cache.RECIPE + 1)
    cache = FilterCache(model_file)
    assert not cache.has("c1", 4)
    cache.images(load_model(model_file), "c1")
    assert [p.name for p in cache.user.iterdir()] == [f"c1-0-4-s8-r{filter_cache.RECIPE}.npz"]


def test_precompute_drops_the_images_of_earlier_recipes_at_its_steps(model_file, monkeypatch):
    monkeypatch.setattr(filter_cache, "RECIPE", 2)
    folder = FilterCache(model_file).shipped
    folder.mkdir(parents=True)
    for name in ("c1-0-4-s8.npz", "c1-0-4-s8-r1.npz", "c1-0-4-s16-r1.npz", "c1-0-4-s80-r1.npz"):
        (folder / name).write_bytes(b"old")
    precompute(model_file, ["c1"])
    assert sorted(p.name for p in folder.iterdir()) == ["c1-0-4-s16-r1.npz", "c1-0-4-s8-r2.npz", "c1-0-4-s80-r1.npz"]
