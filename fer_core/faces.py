"""Find the faces in a photo and crop each to the model's 48x48 gray format.

One path for ``fer predict photo.jpg`` and the dashboard's Your photo page, so
both give the same emotions for the same photo: the photo is decoded to gray
(at most ``MAX_SIDE`` pixels on its long side), faces are found with OpenCV's
Haar cascade (Viola & Jones, "Rapid object detection using a boosted cascade of
simple features", CVPR 2001) on the histogram-equalized image, and each box is
resized to 48x48. Without a face, callers may use the whole photo.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from fer_core.images import read_gray, to_face_array

Box = tuple[int, int, int, int]  # x, y, width, height in pixels of the gray photo
MAX_SIDE = 1024
MARK_COLOUR = (91, 75, 214)


def read_photo(source: str | Path | bytes, name: str | None = None) -> np.ndarray:
    """A photo as ``uint8 (H, W)`` gray, shrunk to at most ``MAX_SIDE`` pixels on its long side.

    Raises:
        ImageError: one line naming the image when it is missing, corrupt or too large.
    """
    image = read_gray(source, name)
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    return np.asarray(image, np.uint8)


@functools.lru_cache(maxsize=1)
def _detector():
    import cv2

    return cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def find_faces(gray: np.ndarray) -> list[Box]:
    """Frontal faces in a ``uint8 (H, W)`` photo, left to right, each at least 1/12 of the short side (24 px)."""
    import cv2

    min_side = max(24, min(gray.shape) // 12)
    boxes = _detector().detectMultiScale(cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5,
                                         minSize=(min_side, min_side))
    return sorted((tuple(int(v) for v in box) for box in boxes), key=lambda box: box[0])


def crop_face(gray: np.ndarray, box: Box | None = None) -> np.ndarray:
    """``uint8 (48, 48)``: the box (or the whole photo) of a ``uint8 (H, W)`` photo, resized."""
    x, y, w, h = box or (0, 0, gray.shape[1], gray.shape[0])
    return to_face_array(Image.fromarray(gray[y:y + h, x:x + w]))


def faces_in(gray: np.ndarray) -> list[tuple[Box | None, np.ndarray]]:
    """Every face found as ``(box, uint8 (48, 48) crop)``; ``[(None, whole photo)]`` when none is found."""
    boxes = find_faces(gray)
    return [(box, crop_face(gray, box)) for box in boxes] or [(None, crop_face(gray))]


def mark_faces(gray: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """``uint8 (H, W, 3)``: the photo with a numbered frame around each box."""
    image = Image.fromarray(gray).convert("RGB")
    draw = ImageDraw.Draw(image)
    width = max(2, min(gray.shape) // 200)
    for number, (x, y, w, h) in enumerate(boxes, start=1):
        draw.rectangle((x, y, x + w, y + h), outline=MARK_COLOUR, width=width)
        draw.text((x + width + 2, y + width + 2), str(number), fill=(255, 255, 0))
    return np.asarray(image)
