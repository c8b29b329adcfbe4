"""Decode any image a user hands in, once and correctly, into gray pixels and 48x48 face arrays.

Used by the image-folder loader, ``fer predict photo.jpg`` and the dashboard's
uploads (:func:`fer_core.data.faces.read_photo`), so every path validates and decodes
images the same way: only regular files are opened (a FIFO or a device is refused
at once, never waited on), the EXIF orientation a phone records is applied,
16-bit samples (and float ones in 0..1) are scaled to 0..255 (not clipped), a
CIELab image gives its lightness, transparency is composited on white (a fully
transparent image is refused), images too small to hold a face are refused, and
a photo is shrunk as it is decoded when the caller needs it small.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fer_core.errors import FerError
from fer_core.labels import IMAGE_SIZE

# Refuse images above this many pixels before decoding them (decompression bombs).
MAX_IMAGE_PIXELS = 40_000_000
# Refuse images with a side below this: half the model's 48-pixel input leaves too little of a face to score.
MIN_IMAGE_SIDE = IMAGE_SIZE // 2
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class ImageError(FerError, ValueError):
    """An image file is not readable, corrupt, too large, too small or fully transparent."""


def image_label(source: str | Path | bytes, name: str | None = None) -> str:
    """What to call an image in error messages: ``name``, else its path, else ``uploaded image``."""
    return name or (str(source) if not isinstance(source, bytes) else "uploaded image")


def _open_regular_file(path: str | Path, label: str) -> BinaryIO:
    """``path`` opened for reading, refused at once unless it is a regular file (opening a FIFO
    without ``O_NONBLOCK`` would wait for a writer forever)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ImageError(f"{label}: no such image file") from None
    except OSError as exc:
        raise ImageError(f"{label}: cannot open image ({exc.strerror or exc})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = next((words for test, words in _FILE_KINDS if test(mode)), "not a regular file")
        raise ImageError(f"{label}: is {kind}, not an image file")
    return os.fdopen(fd, "rb")


def open_image(source: str | Path | bytes, name: str | None = None, max_side: int | None = None) -> Image.Image:
    """Open and fully decode an image from a path or raw bytes, upright.

    Args:
        source: a file path, or the file's bytes (for uploads).
        name: what to call the image in error messages (defaults to the path).
        max_side: a JPEG is decoded at the smallest of 1/1, 1/2, 1/4, 1/8 scale that keeps both sides at
            least this long (libjpeg's DCT scaling, as PIL's ``thumbnail`` does): a big photo costs an
            eighth to a sixty-fourth of the memory. ``None``: full size.

    Returns:
        A decoded ``PIL.Image`` in any mode, its EXIF orientation applied (a phone
        photo stored sideways comes back upright), each side at least ``MIN_IMAGE_SIDE``.

    Raises:
        ImageError: one line naming the image when it is missing, not a regular file,
            not an image, corrupt, larger than ``MAX_IMAGE_PIXELS`` or smaller than
            ``MIN_IMAGE_SIDE`` on a side.
    """
    label = image_label(source, name)
    stream = io.BytesIO(source) if isinstance(source, bytes) else _open_regular_file(source, label)
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
                if max_side:
                    image.draft(image.mode, (max_side, max_side))
                image.load()
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(f"{label}: image is too large to decode safely (over {MAX_IMAGE_PIXELS:,} pixels)") from None
        except UnidentifiedImageError:
            raise ImageError(f"{label}: not a readable image (expected JPEG, PNG, BMP, GIF, WebP or TIFF)") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"{label}: corrupt image ({exc})") from None
    image = _upright(image)
    if min(image.size) < MIN_IMAGE_SIDE:
        raise ImageError(f"{label}: image is {image.width}x{image.height} pixels, too small to hold a face "
                         f"(expected at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE})")
    return image


def _upright(image: Image.Image) -> Image.Image:
    """``image`` turned as its EXIF Orientation tag says (phones store the sensor's rows and
    record the turn); unchanged without the tag, or when the EXIF block is unreadable."""
    try:
        ImageOps.exif_transpose(image, in_place=True)  # in place: no copy of a photo that needs no turn
    except (OSError, SyntaxError, ValueError, KeyError, TypeError, struct.error):
        pass
    return image


def to_gray(image: Image.Image, name: str = "image") -> Image.Image:
    """``image`` as 8-bit gray (PIL mode ``L``, 0..255).

    16-bit and 32-bit integer samples (modes ``I;16*`` and ``I``: 16-bit PNG and TIFF) are
    scaled by 255/65535 (PIL's own conversion clips them, turning most of a photo white);
    floating-point samples (mode ``F``, TIFF) in 0..1 by 255, others clipped to 0..255; a CIELab
    image gives its lightness; an image with transparency is composited on white first; colour
    becomes ITU-R 601 luma (PIL's ``L``).

    Raises:
        ImageError: naming the image (``name``) when it is fully transparent (nothing to score) or in
            a mode PIL cannot turn gray.
    """
    if image.mode.startswith("I") or image.mode == "F":
        samples = np.nan_to_num(np.asarray(image, dtype=np.float32))
        samples *= _to_8_bit(image.mode, samples)
        return Image.fromarray(np.clip(np.rint(samples), 0, 255).astype(np.uint8), "L")
    if image.mode == "LAB":
        return image.getchannel("L")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        if rgba.getchannel("A").getextrema()[1] == 0:
            raise ImageError(f"{name}: image is fully transparent (nothing to score; expected visible pixels)")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    try:
        return image.convert("L")
    except ValueError:
        raise ImageError(f"{name}: image mode {image.mode} cannot be read as gray (expected RGB, gray or CMYK)") \
            from None


def _to_8_bit(mode: str, samples: np.ndarray) -> float:
    """The factor that brings wide samples to 0..255: 16- and 32-bit integers' 0..65535 by 255/65535,
    floats in 0..1 by 255, other floats as they are (then clipped)."""
    if mode != "F":
        return 255 / 65535
    return 255.0 if samples.max(initial=0) <= 1 else 1.0


def read_gray(source: str | Path | bytes, name: str | None = None, max_side: int | None = None) -> Image.Image:
    """An image file (or bytes) decoded by :func:`open_image` and :func:`to_gray`: upright, 8-bit gray; with
    ``max_side``, shrunk to at most that on its long side (aspect kept), before the gray conversion where the
    mode resamples smoothly (not bilevel or palette images), so a big photo is converted small."""
    image = open_image(source, name, max_side)
    if max_side and image.mode not in ("1", "P", "PA"):
        image.thumbnail((max_side, max_side))
    gray = to_gray(image, image_label(source, name))
    if max_side:
        gray.thumbnail((max_side, max_side))
    return gray


def to_face_array(image: Image.Image, size: int = IMAGE_SIZE) -> np.ndarray:
    """Convert an image to the model's face format.

    The image becomes gray as :func:`to_gray` says; any other size is resized
    with bilinear filtering (no cropping: callers crop faces first).

    Returns:
        ``uint8`` array of shape ``(size, size)``, values 0..255.
    """
    gray = to_gray(image)
    if gray.size != (size, size):
        gray = gray.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(gray, dtype=np.uint8)


def read_face(source: str | Path | bytes, name: str | None = None) -> np.ndarray:
    """Open an image file (or bytes) and return it as a ``uint8 (48, 48)`` face."""
    return to_face_array(read_gray(source, name))
