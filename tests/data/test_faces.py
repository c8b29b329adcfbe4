"""The face finder on a real photo that scikit-image ships (never a FER2013 face), turned as heads tilt."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from fer_core.data import faces
from fer_core.data.images import to_face_array

ASTRONAUT_EYES = (225.0, 101.0)  # midpoint of the astronaut's eyes in skimage.data.astronaut()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return np.asarray(Image.fromarray(data.astronaut()).convert("L"))


def turned(gray: np.ndarray, angle: float) -> tuple[np.ndarray, tuple[float, float]]:
    """``gray`` turned ``angle`` degrees counter-clockwise on a grown canvas, and where its eyes land."""
    image = Image.fromarray(gray).rotate(angle, Image.Resampling.BILINEAR, expand=True)
    dx, dy, a = ASTRONAUT_EYES[0] - gray.shape[1] / 2, ASTRONAUT_EYES[1] - gray.shape[0] / 2, math.radians(angle)
    return np.asarray(image), (image.width / 2 + dx * math.cos(a) + dy * math.sin(a),
                               image.height / 2 - dx * math.sin(a) + dy * math.cos(a))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.astype(np.float64).ravel(), b.astype(np.float64).ravel())[0, 1])


@pytest.mark.parametrize("angle", [0, 15, 30, 45])
def test_a_tilted_head_is_found_with_its_eyes_and_levelled_like_the_upright_one(astronaut, angle):
    upright = faces.crop_face(astronaut, faces.find_faces(astronaut)[0])
    photo, eyes = turned(astronaut, angle)
    (face,) = faces.find_faces(photo)
    x, y, w, h = face.box
    assert x <= eyes[0] <= x + w and y <= eyes[1] <= y + h
    middle = np.mean([face.left_eye, face.right_eye], axis=0)
    assert math.dist(middle, eyes) < 10
    assert faces.eye_angle(face) == pytest.approx(2.7 - angle, abs=8)  # the photo's own tilt is 2.7 degrees
    crop = faces.crop_face(photo, face)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    assert correlation(crop, upright) > 0.9  # levelled: the same face as upright, not a turned one
    box_only = to_face_array(Image.fromarray(photo[y:y + h, x:x + w]))
    if angle >= 30:
        assert correlation(box_only, upright) < correlation(crop, upright)


def test_several_faces_in_one_picture_are_found_left_to_right(astronaut):
    tile = astronaut[:256, 96:352]  # the head and shoulders
    picture = np.concatenate([tile, np.asarray(Image.fromarray(tile).rotate(30)), tile[:, ::-1]], axis=1)
    found = faces.find_faces(picture)
    assert len(found) == 3
    centres = [face.box[0] + face.box[2] / 2 for face in found]
    assert centres == sorted(centres) and [int(c // 256) for c in centres] == [0, 1, 2]


def test_crop_puts_the_eyes_where_fer2013_has_them():
    """Two bright dots as eyes on a line tilted 30 degrees land level, 17.5 px apart, 18.6 px from the top."""
    gray = np.zeros((300, 300), np.uint8)
    centre, half, tilt = np.array([150.0, 140.0]), 40.0, math.radians(30)
    left = centre - half * np.array([math.cos(tilt), math.sin(tilt)])
    right = centre + half * np.array([math.cos(tilt), math.sin(tilt)])
    yy, xx = np.mgrid[:300, :300]
    for eye in (left, right):
        gray[(xx - eye[0]) ** 2 + (yy - eye[1]) ** 2 <= 36] = 255
    face = faces.Face((0, 0, 300, 300), tuple(left), tuple(right), 1.0)
    crop = faces.crop_face(gray, face).astype(np.float64)
    rows, cols = np.mgrid[:48, :48]
    spots = [(float((crop * m * cols).sum() / (crop * m).sum()), float((crop * m * rows).sum() / (crop * m).sum()))
             for m in (cols < 24, cols >= 24)]
    (lx, ly), (rx, ry) = spots
    assert abs(ly - ry) < 0.5  # level
    assert rx - lx == pytest.approx(faces.EYE_DISTANCE * 48, abs=0.6)
    assert (lx + rx) / 2 == pytest.approx(23.5, abs=0.6)  # pixel indices: a point at 24.0 is between pixels 23, 24
    assert (ly + ry) / 2 == pytest.approx(faces.EYE_LINE * 48 - 0.5, abs=0.6)


def test_a_photo_without_a_face_is_used_whole():
    gradient = np.tile(np.linspace(0, 255, 200, dtype=np.uint8), (150, 1))
    ((box, crop),) = faces.faces_in(gradient)
    assert box is None and crop.shape == (48, 48) and crop.dtype == np.uint8
    assert np.all(crop == crop[0]), "the whole photo, squeezed: every row the same"
    assert np.all(np.diff(crop[0].astype(int)) >= 0) and crop[0, 0] < 8 and crop[0, -1] > 247, crop[0]
    assert abs(int(crop[0, 23]) + int(crop[0, 24]) - 255) <= 6, "its middle column is the photo's middle"
