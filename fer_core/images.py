"""Decode any image a user hands in into a 48x48 grayscale face array.

Used by the image-folder loader, ``fer predict photo.jpg`` and the dashboard's
uploads, so every path validates images the same way.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from fer_core.errors import FerError
from fer_core.labels import IMAGE_SIZE

# Refuse images above this many pixels before decoding them (decompression bombs).
MAX_IMAGE_PIXELS = 40_000_000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class ImageError(FerError, ValueError):
    """An image file is not readable, corrupt or too large."""


def open_image(source: str | Path | bytes, name: str | None = None) -> Image.Image:
    """Open and fully decode an image from a path or raw bytes.

    Args:
        source: a file path, or the file's bytes (for uploads).
        name: what to call the image in error messages (defaults to the path).

    Returns:
        A decoded ``PIL.Image`` in any mode.

    Raises:
        ImageError: one line naming the image when it is missing, not an image,
            corrupt, or larger than ``MAX_IMAGE_PIXELS``.
    """
    label = name or (str(source) if not isinstance(source, bytes) else "uploaded image")
    try:
        stream = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
    except OSError as exc:
        raise ImageError(f"{label}: cannot open image ({exc.strerror or exc})") from None
    with stream:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(stream)
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageError(
                        f"{label}: image is {width}x{height} pixels, more than the "
                        f"{MAX_IMAGE_PIXELS:,} allowed"
                    )
                image.load()
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(f"{label}: image is too large to decode safely (over {MAX_IMAGE_PIXELS:,} pixels)") from None
        except UnidentifiedImageError:
            raise ImageError(f"{label}: not a readable image (expected JPEG, PNG, BMP, GIF, WebP or TIFF)") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"{label}: corrupt image ({exc})") from None
    return image


def to_face_array(image: Image.Image, size: int = IMAGE_SIZE) -> np.ndarray:
    """Convert an image to the model's face format.

    Colour images become grayscale (ITU-R 601 luma, as PIL's "L" mode), any
    other size is resized with bilinear filtering (no cropping: callers crop
    faces first).

    Returns:
        ``uint8`` array of shape ``(size, size)``, values 0..255.
    """
    gray = image.convert("L")
    if gray.size != (size, size):
        gray = gray.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(gray, dtype=np.uint8)


def read_face(source: str | Path | bytes, name: str | None = None) -> np.ndarray:
    """Open an image file (or bytes) and return it as a ``uint8 (48, 48)`` face."""
    return to_face_array(open_image(source, name))
