"""Find the faces in a photo, level their eyes, and crop each to the model's 48x48 gray format.

One path for ``fer predict photo.jpg`` and the dashboard's Your photo page (both call
:func:`faces_in`), so both give the same emotions for the same photo:

1. the photo is decoded to gray, at most ``MAX_SIDE`` pixels on its long side (:func:`read_photo`);
2. faces and their eye centres are found by MTCNN (Zhang et al., "Joint face detection and
   alignment using multitask cascaded convolutional networks", IEEE Signal Processing Letters
   2016), the ``mtcnn`` package, whose weights ship inside it and which runs on TensorFlow, on the
   photo and on it turned by +-30 degrees, so that tilted heads are found too (:func:`find_faces`);
3. each face is rotated about the midpoint of its eyes until they are level, and cut out as a
   square placed as FER2013 places its faces (:data:`EYE_DISTANCE`, :data:`EYE_LINE`), then
   resized to 48x48 (:func:`crop_face`).

Without a face, callers may use the whole photo (``crop_face(gray)``).
"""

from __future__ import annotations

import functools
import math
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw

from fer_core.data.images import read_gray, to_face_array

Box = tuple[int, int, int, int]  # x, y, width, height in pixels of the gray photo
Point = tuple[float, float]  # x, y in pixels of the gray photo
MAX_SIDE = 1024
MARK_COLOUR = (91, 75, 214)
SEARCH_ANGLES = (0, 30, -30)  # degrees the photo is turned for MTCNN (upright faces, give or take 30)
MIN_CONFIDENCE = 0.9  # MTCNN's last-stage score; below it, the benchmark's photos gave false faces
# Where FER2013's faces have their eyes, as fractions of the 48-pixel side: MTCNN's eye centres on 332 of
# 400 random PublicTest faces (upscaled 4x, one face found with confidence > 0.9), medians: eyes 17.5 px
# apart, their midpoint at x 24.1, y 18.6.
EYE_DISTANCE = 17.5 / 48
EYE_LINE = 18.6 / 48


class Face(NamedTuple):
    """One face MTCNN found: its box, its eye centres (the one on the photo's left first), its score 0..1."""

    box: Box
    left_eye: Point
    right_eye: Point
    confidence: float


def read_photo(source: str | Path | bytes, name: str | None = None) -> np.ndarray:
    """A photo as ``uint8 (H, W)`` gray, shrunk to at most ``MAX_SIDE`` pixels on its long side.

    Raises:
        ImageError: one line naming the image when it is missing, corrupt or too large.
    """
    return np.asarray(read_gray(source, name, MAX_SIDE), np.uint8)


@functools.lru_cache(maxsize=1)
def _detector():
    from mtcnn import MTCNN

    return MTCNN(), threading.Lock()  # one network for the process; the lock keeps calls one at a time


def find_faces(gray: np.ndarray) -> list[Face]:
    """Faces in a ``uint8 (H, W)`` photo, left to right, each at least 20 px and scored ``MIN_CONFIDENCE``.

    MTCNN looks at the photo as it is and turned by each of ``SEARCH_ANGLES`` (a head tilted 45 degrees is
    then at most 15 from upright in one of them); what it finds is mapped back to the photo, and where two
    finds share a face (eye midpoints closer than half their eye distance), the higher-scored one is kept.
    """
    found = [face for angle in SEARCH_ANGLES for face in _mtcnn_faces(gray, angle)]
    kept: list[Face] = []
    for face in sorted(found, key=lambda face: -face.confidence):
        if all(not _same_face(face, other) for other in kept):
            kept.append(face)
    return sorted(kept, key=lambda face: face.box[0])


def _mtcnn_faces(gray: np.ndarray, angle: float) -> list[Face]:
    """MTCNN's faces in ``gray`` turned ``angle`` degrees counter-clockwise about its centre (same canvas),
    in the coordinates of ``gray``."""
    detector, lock = _detector()
    turned = np.asarray(Image.fromarray(gray).rotate(angle, Image.Resampling.BILINEAR)) if angle else gray
    with lock:  # mtcnn 1.0.0's default smallest face, 20 px: a larger one also cuts its pyramid short
        found = detector.detect_faces(np.repeat(turned[..., None], 3, axis=-1))  # it takes 3 channels
    centre, radians = (gray.shape[1] / 2, gray.shape[0] / 2), math.radians(angle)

    def back(xy) -> Point:  # a point of the turned canvas -> the photo (turned back by -angle)
        dx, dy = float(xy[0]) - centre[0], float(xy[1]) - centre[1]
        cos, sin = math.cos(radians), math.sin(radians)
        return centre[0] + dx * cos - dy * sin, centre[1] + dx * sin + dy * cos

    faces = []
    for f in found:
        x, y, w, h = (int(v) for v in f["box"])
        if f["confidence"] >= MIN_CONFIDENCE and min(w, h) >= 20:
            mx, my = back((x + w / 2, y + h / 2))
            box = (round(mx - w / 2), round(my - h / 2), w, h)
            faces.append(Face(box, back(f["keypoints"]["left_eye"]), back(f["keypoints"]["right_eye"]),
                              float(f["confidence"])))
    return faces


def _same_face(a: Face, b: Face) -> bool:
    """Whether two finds' eye midpoints are closer than half the smaller of their eye distances."""
    def middle(face: Face) -> Point:
        return (face.left_eye[0] + face.right_eye[0]) / 2, (face.left_eye[1] + face.right_eye[1]) / 2

    def spread(face: Face) -> float:
        return math.dist(face.left_eye, face.right_eye)

    return math.dist(middle(a), middle(b)) < min(spread(a), spread(b)) / 2


def eye_angle(face: Face) -> float:
    """Degrees the eye line rises clockwise from level in the photo (positive: the right eye is lower)."""
    (lx, ly), (rx, ry) = face.left_eye, face.right_eye
    return math.degrees(math.atan2(ry - ly, rx - lx))


def crop_face(gray: np.ndarray, face: Face | None = None) -> np.ndarray:
    """``uint8 (48, 48)``: ``face`` of a ``uint8 (H, W)`` photo with its eyes level, placed as in FER2013
    (the whole photo, resized, when ``face`` is None).

    The square's side is the eye distance / ``EYE_DISTANCE``; its centre column is the eyes' midpoint, which
    sits ``EYE_LINE`` of the side below its top. It is cut at the photo's resolution in one affine resampling
    (bilinear; outside the photo, black), then shrunk to 48x48 by :func:`fer_core.data.images.to_face_array`.
    """
    if face is None:
        return to_face_array(Image.fromarray(gray))
    (lx, ly), (rx, ry) = face.left_eye, face.right_eye
    side = max(1.0, math.hypot(rx - lx, ry - ly) / EYE_DISTANCE)
    size = max(1, round(side))
    angle = math.radians(eye_angle(face))
    cos, sin = math.cos(angle) * side / size, math.sin(angle) * side / size
    # output pixel (u, v) -> photo point: eye midpoint + rotation(angle) of (u - size/2, v - EYE_LINE*size)
    du, dv = -size / 2, -EYE_LINE * size
    cx, cy = (lx + rx) / 2 + cos * du - sin * dv, (ly + ry) / 2 + sin * du + cos * dv
    square = Image.fromarray(gray).transform(
        (size, size), Image.Transform.AFFINE, (cos, -sin, cx, sin, cos, cy), Image.Resampling.BILINEAR
    )
    return to_face_array(square)


def faces_in(gray: np.ndarray) -> list[tuple[Box | None, np.ndarray]]:
    """Every face found as ``(box, uint8 (48, 48) aligned crop)``; ``[(None, whole photo)]`` when none is found."""
    return [(face.box, crop_face(gray, face)) for face in find_faces(gray)] or [(None, crop_face(gray))]


def mark_faces(gray: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """``uint8 (H, W, 3)``: the photo with a numbered frame around each box."""
    image = Image.fromarray(gray).convert("RGB")
    draw = ImageDraw.Draw(image)
    width = max(2, min(gray.shape) // 200)
    for number, (x, y, w, h) in enumerate(boxes, start=1):
        draw.rectangle((x, y, x + w, y + h), outline=MARK_COLOUR, width=width)
        draw.text((x + width + 2, y + width + 2), str(number), fill=(255, 255, 0))
    return np.asarray(image)
