"""Turn maps and images into ``uint8`` pictures: colormaps, overlays, grids.

No plotting library: colormaps are 256-entry lookup tables built here with
numpy. ``viridis`` and ``inferno`` (van der Walt & Smith's perceptually uniform
maps, 2015) are interpolated linearly between 11 published sample colours, so
they are close to, not identical with, matplotlib's; ``jet`` is the classic
piecewise-linear map; ``coolwarm`` is a blue-white-red diverging map for signed
values (Moreland 2009's end colours); ``gray`` is the identity.

Every function returns ``uint8``: ``(H, W)`` for gray, ``(H, W, 3)`` for RGB.
"""

from __future__ import annotations

import math

import numpy as np

from fer_core.errors import FerError

_SAMPLES = {
    "viridis": [
        "440154",
        "482576",
        "414487",
        "35608d",
        "2a788e",
        "21908c",
        "22a884",
        "43bf71",
        "7ad151",
        "bbdf27",
        "fde725",
    ],
    "inferno": [
        "000004",
        "160b39",
        "420a68",
        "6a176e",
        "932667",
        "bc3754",
        "dd513a",
        "f37819",
        "fca50a",
        "f6d746",
        "fcffa4",
    ],
    "coolwarm": ["3b4cc0", "f2f2f2", "b40426"],
}
COLORMAPS = ("viridis", "inferno", "jet", "gray", "coolwarm")


# ----------------------------------------------------------------------------- colormaps


def _interpolated(hex_colors: list[str]) -> np.ndarray:
    anchors = np.array([[int(h[i : i + 2], 16) for i in (0, 2, 4)] for h in hex_colors], np.float64)
    at = np.linspace(0.0, 1.0, len(anchors))
    t = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(t, at, anchors[:, c]) for c in range(3)], axis=1)


def _jet() -> np.ndarray:
    t = np.linspace(0.0, 1.0, 256)[:, None]
    centers = np.array([[3.0, 2.0, 1.0]])  # red, green, blue peak at t = 3/4, 1/2, 1/4
    return 255.0 * np.clip(1.5 - np.abs(4.0 * t - centers), 0.0, 1.0)


def colormap(name: str) -> np.ndarray:
    """``uint8 (256, 3)``: the RGB colour of each level 0..255 of colormap ``name``."""
    if name == "jet":
        table = _jet()
    elif name == "gray":
        table = np.repeat(np.arange(256.0)[:, None], 3, axis=1)
    elif name in _SAMPLES:
        table = _interpolated(_SAMPLES[name])
    else:
        raise FerError(f"unknown colormap '{name}' (expected one of {', '.join(COLORMAPS)})")
    return np.round(table).astype(np.uint8)


# ----------------------------------------------------------------------------- scaling


def to_uint8(values: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
    """Map ``[low, high]`` linearly onto 0..255 (clipping outside), same shape, ``uint8``.

    ``low`` and ``high`` default to the array's min and max; a constant array gives 0.
    """
    v = np.asarray(values, np.float64)
    if v.size == 0:
        return np.zeros(v.shape, np.uint8)
    low = float(np.nanmin(v)) if low is None else float(low)
    high = float(np.nanmax(v)) if high is None else float(high)
    if not high > low:
        return np.zeros(v.shape, np.uint8)
    scaled = np.clip((np.nan_to_num(v, nan=low) - low) / (high - low), 0.0, 1.0)
    return np.round(255.0 * scaled).astype(np.uint8)


def colorize(
    values: np.ndarray, cmap: str = "inferno", low: float | None = None, high: float | None = None
) -> np.ndarray:
    """``(H, W)`` real values -> ``uint8 (H, W, 3)`` through a colormap (range as :func:`to_uint8`)."""
    return colormap(cmap)[to_uint8(values, low, high)]


def colorize_signed(values: np.ndarray, cmap: str = "coolwarm") -> np.ndarray:
    """``(H, W)`` signed values -> ``uint8 (H, W, 3)``, 0 at the colormap's middle (white for coolwarm)."""
    peak = float(np.nanmax(np.abs(values))) if np.size(values) else 0.0
    return colorize(values, cmap, -peak, peak) if peak > 0 else colorize(np.zeros_like(values), cmap, -1.0, 1.0)


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of ``(H, W)`` or ``(H, W, 3)`` by an integer ``factor``."""
    if factor < 1 or int(factor) != factor:
        raise FerError(f"upscale factor is {factor} (expected a positive integer)")
    return np.repeat(np.repeat(np.asarray(image), factor, axis=0), factor, axis=1)


def gray_to_rgb(image: np.ndarray) -> np.ndarray:
    """``uint8 (H, W)`` or ``(H, W, 1)`` -> ``uint8 (H, W, 3)``."""
    image = np.asarray(image)
    return np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=2).astype(np.uint8)


# ----------------------------------------------------------------------------- compositions


def flat(maps: np.ndarray, rtol: float = 1e-6) -> np.ndarray:
    """Which maps have nothing to draw: the same value at every pixel (up to ``rtol`` of their peak), or NaN.

    Args:
        maps: ``(..., H, W)`` real, e.g. one ``(48, 48)`` saliency map or ``float32 (N, 48, 48)``.

    Returns:
        ``bool (...)``: ``True`` where an overlay of the map would be one flat colour
        (all-zero maps included: a CAM whose every channel weight is 0).
    """
    values = np.asarray(maps, np.float64)
    span = values.max(axis=(-2, -1)) - values.min(axis=(-2, -1))
    return ~(span > rtol * np.abs(values).max(axis=(-2, -1)))


def overlay(
    face: np.ndarray,
    saliency: np.ndarray,
    cmap: str = "jet",
    alpha: float = 0.5,
    percentile: float = 99.0,
    factor: int = 1,
) -> np.ndarray:
    """A saliency map blended over its face.

    Args:
        face: ``uint8 (48, 48)`` or ``(48, 48, 1)``, raw pixels 0..255.
        saliency: ``(48, 48)`` real; its absolute value is shown, scaled so the
            ``percentile``-th percentile maps to the top colour (Smilkov et al.
            2017 clip at the 99th to keep outliers from washing the map out).
        cmap: a colormap name; ``alpha``: the map's weight, 0..1.
        factor: integer enlargement (nearest neighbour) for display.

    Returns:
        ``uint8 (48 * factor, 48 * factor, 3)``.
    """
    magnitude = np.abs(np.asarray(saliency, np.float64))
    if magnitude.shape != np.asarray(face).shape[:2]:
        raise FerError(f"saliency has shape {magnitude.shape} but the face has {np.asarray(face).shape[:2]}")
    top = float(np.percentile(magnitude, percentile)) if magnitude.size else 0.0
    heat = colorize(magnitude, cmap, 0.0, top if top > 0 else None).astype(np.float64)
    blended = (1.0 - alpha) * gray_to_rgb(face).astype(np.float64) + alpha * heat
    return upscale(np.round(blended).astype(np.uint8), factor)


def grid(tiles: np.ndarray, columns: int | None = None, pad: int = 1, pad_value: int = 255) -> np.ndarray:
    """Tile ``(N, H, W)`` or ``(N, H, W, 3)`` ``uint8`` images row by row.

    ``columns`` defaults to ``ceil(sqrt(N))``; tiles are separated and framed by
    ``pad`` pixels of ``pad_value``. Returns ``uint8 (rows*(H+pad)+pad, columns*(W+pad)+pad[, 3])``.
    """
    tiles = np.asarray(tiles)
    if tiles.ndim not in (3, 4) or len(tiles) == 0:
        raise FerError(f"tiles have shape {tiles.shape} (expected a non-empty (N, H, W) or (N, H, W, 3))")
    n, h, w = tiles.shape[:3]
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, *tiles.shape[3:]), pad_value, np.uint8)
    for i, tile in enumerate(tiles):
        top, left = pad + (i // columns) * (h + pad), pad + (i % columns) * (w + pad)
        out[top : top + h, left : left + w] = tile
    return out


def filter_grid(images: np.ndarray, columns: int | None = None, factor: int = 1, pad: int = 2) -> np.ndarray:
    """Gradient-ascent images ``uint8 (K, 48, 48)`` as one gray grid, each enlarged by ``factor``.

    Returns ``uint8 (H, W)``; see :func:`grid` for the layout.
    """
    images = np.asarray(images)
    return grid(np.stack([upscale(image, factor) for image in images]), columns, pad)


def feature_map_grid(
    maps: np.ndarray, columns: int | None = None, cmap: str | None = None, factor: int = 1, pad: int = 1
) -> np.ndarray:
    """One face's feature maps ``(H, W, C)`` (or ``(1, H, W, C)``) as a grid, one tile per channel.

    Each channel is scaled to 0..255 on its own min and max; ``cmap`` colours
    it (``None``: gray). Returns ``uint8 (H', W')`` or ``(H', W', 3)``.
    """
    maps = np.asarray(maps)
    maps = maps[0] if maps.ndim == 4 and len(maps) == 1 else maps
    if maps.ndim != 3:
        raise FerError(f"feature maps have shape {maps.shape} (expected (H, W, C) for one face)")
    channels = [to_uint8(maps[..., c]) for c in range(maps.shape[-1])]
    tiles = [upscale(colormap(cmap)[c] if cmap else c, factor) for c in channels]
    return grid(np.stack(tiles), columns, pad)
