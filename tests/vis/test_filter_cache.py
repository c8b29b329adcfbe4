"""The on-disk gradient-ascent images: chunks, reuse, precompute beside the model, stale versions."""

from __future__ import annotations

import numpy as np
import pytest

from fer_core.cli import main
from fer_core.errors import FerError
from fer_core.vis import filter_cache
from fer_core.vis.filter_cache import FilterCache, chunks, precompute
from fer_core.vis.filters import gradient_ascent
from tests.vis.conftest import tiny_cnn


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
    assert cache.has("c2", 6) and sorted(p.name for p in cache.user.iterdir()) == ["c2-0-4-s8.npz", "c2-4-6-s8.npz"]

    monkeypatch.setattr("fer_core.vis.filters.gradient_ascent", lambda *a, **k: pytest.fail("recomputed"))
    np.testing.assert_array_equal(FilterCache(model_file).images(model, "c2", 1, 6), images)


def test_precompute_writes_every_conv_layer_beside_the_model_and_drops_stale_versions(model_file):
    stale = model_file.parent / "filters" / "model-0123456789abcdef0123"  # an earlier version of model.keras
    other = model_file.parent / "filters" / "other-0123456789abcdef0123"  # another model file's images
    for folder in (stale, other):
        folder.mkdir(parents=True)
        (folder / "c1-0-4-s8.npz").write_bytes(b"old")
    folder = precompute(model_file)
    assert sorted(p.name for p in folder.iterdir()) == ["c1-0-4-s8.npz", "c2-0-4-s8.npz", "c2-4-6-s8.npz"]
    with np.load(folder / "c1-0-4-s8.npz", allow_pickle=False) as saved:
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
    (cache.user / "c1-0-4-s8.npz").write_bytes(b"not an npz")
    images = cache.images(load_model(model_file), "c1")
    assert images.shape == (4, 48, 48)
    with np.load(cache.user / "c1-0-4-s8.npz", allow_pickle=False) as saved:
        np.testing.assert_array_equal(saved["images"], images)


def test_a_corrupt_shipped_file_is_passed_over_for_the_recomputed_one(model_file, monkeypatch):
    from fer_core.models.builders import load_model

    cache = FilterCache(model_file)
    cache.shipped.mkdir(parents=True)
    (cache.shipped / "c1-0-4-s8.npz").write_bytes(b"half a copy")
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
