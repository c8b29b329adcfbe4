import numpy as np
import pytest

from fer_core.errors import FerError
from fer_core.vis import render as R


def test_colormaps_are_256_rgb_levels_with_the_right_ends():
    for name in R.COLORMAPS:
        table = R.colormap(name)
        assert table.shape == (256, 3) and table.dtype == np.uint8
    assert R.colormap("viridis")[0].tolist() == [0x44, 0x01, 0x54] and R.colormap("viridis")[-1].tolist() == [
        0xFD,
        0xE7,
        0x25,
    ]
    assert R.colormap("inferno")[0].tolist() == [0, 0, 4] and R.colormap("inferno")[-1].tolist() == [0xFC, 0xFF, 0xA4]
    jet = R.colormap("jet")
    assert jet[0].tolist() == [0, 0, 128] and jet[-1].tolist() == [128, 0, 0] and jet[128].tolist()[1] == 255
    np.testing.assert_array_equal(R.colormap("gray"), np.repeat(np.arange(256)[:, None], 3, axis=1))
    luminance = R.colormap("viridis").astype(float) @ [0.299, 0.587, 0.114]
    assert np.all(np.diff(luminance[::16]) > 0)  # viridis brightens monotonically
    with pytest.raises(FerError, match="unknown colormap"):
        R.colormap("rainbow")


def test_to_uint8_and_colorize():
    values = np.array([[-1.0, 0.0], [1.0, 3.0]])
    np.testing.assert_array_equal(R.to_uint8(values), [[0, 64], [128, 255]])
    np.testing.assert_array_equal(R.to_uint8(values, 0, 1), [[0, 0], [255, 255]])
    np.testing.assert_array_equal(R.to_uint8(np.full((2, 2), 5.0)), 0)
    rgb = R.colorize(values, "inferno")
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[1, 1], R.colormap("inferno")[255])
    signed = R.colorize_signed(np.array([[-2.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(signed[0], R.colormap("coolwarm")[[0, 128, 255]])


def test_overlay_blends_the_map_over_the_face():
    face = np.full((48, 48), 100, np.uint8)
    saliency = np.zeros((48, 48), np.float32)
    saliency[10:20, 10:20] = 1.0
    out = R.overlay(face, saliency, alpha=0.5, factor=3)
    assert out.shape == (144, 144, 3) and out.dtype == np.uint8
    hot, cold = out[45, 45], out[0, 0]
    np.testing.assert_allclose(hot, np.round(0.5 * 100 + 0.5 * R.colormap("jet")[255]), atol=1)
    np.testing.assert_allclose(cold, np.round(0.5 * 100 + 0.5 * R.colormap("jet")[0]), atol=1)
    np.testing.assert_array_equal(R.overlay(face, saliency, alpha=0.0), 100)
    with pytest.raises(FerError, match="saliency has shape"):
        R.overlay(face, saliency[:10])


def test_flat_finds_the_maps_with_nothing_to_draw():
    rng = np.random.default_rng(0)
    maps = np.stack([np.zeros((48, 48)), np.full((48, 48), 3.5), rng.random((48, 48)), np.full((48, 48), np.nan)])
    maps[3, 0, 0] = 1.0
    spot = np.zeros((48, 48))
    spot[10, 20] = 1e-12  # tiny, but a map: the test is relative to the map's own scale
    assert R.flat(maps).tolist() == [True, True, False, True]
    assert not R.flat(spot) and R.flat(np.full((48, 48), 2.0) + 1e-9 * rng.random((48, 48)))


def test_grids():
    tiles = np.arange(5 * 4 * 3, dtype=np.uint8).reshape(5, 4, 3)
    out = R.grid(tiles, columns=2, pad=1, pad_value=255)
    assert out.shape == (3 * 5 + 1, 2 * 4 + 1) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[1:5, 1:4], tiles[0])
    np.testing.assert_array_equal(out[6:10, 5:8], tiles[3])
    assert np.all(out[11:15, 5:8] == 255)  # the empty sixth cell
    assert R.grid(np.zeros((4, 2, 2, 3), np.uint8)).shape == (7, 7, 3)
    filters = R.filter_grid(np.zeros((16, 48, 48), np.uint8), columns=8, factor=2, pad=2)
    assert filters.shape == (2 * 98 + 2, 8 * 98 + 2)
    maps = np.random.default_rng(0).normal(size=(12, 12, 6)).astype(np.float32)
    gray = R.feature_map_grid(maps, columns=3)
    assert gray.shape == (2 * 13 + 1, 3 * 13 + 1) and gray.dtype == np.uint8
    assert gray[1:13, 1:13].min() == 0 and gray[1:13, 1:13].max() == 255  # each channel stretched on its own
    assert R.feature_map_grid(maps[None], cmap="viridis", factor=2).shape[-1] == 3
    with pytest.raises(FerError, match=r"tiles have shape \(0, 4, 4\) \(expected a non-empty"):
        R.grid(np.zeros((0, 4, 4), np.uint8))
