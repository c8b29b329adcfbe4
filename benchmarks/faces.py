"""The old face finder against the new one, on real photos that ship inside scikit-image.

Run by hand (not a test; needs ``requirements-bench.txt``: scikit-image, and OpenCV 4.x for the old finder)::

    python benchmarks/faces.py                       # the seed CNN reads the emotions
    python benchmarks/faces.py --model assets/models/best --lfw 40

* old: OpenCV's frontal Haar cascade (Viola & Jones 2001) on the histogram-equalized photo, each box resized
  to 48x48: FER Lens's finder until this version, kept here as the baseline.
* new: :mod:`fer_core.data.faces`: MTCNN (Zhang et al. 2016) on the photo and on it turned by +-30 degrees, with
  its eye centres, each face rotated until its eyes are level and cropped as FER2013 crops its faces;
  new-0: the same on the photo as it is only (``SEARCH_ANGLES = (0,)``).

The photos (gray, as both finders see them):

* astronaut: ``skimage.data.astronaut()`` (one face, 512x512) as is, mirrored, and scaled down to 25%
  (128x128), each rotated by 0, 15, 30 and 45 degrees (counter-clockwise; corners black);
* pasted: the astronaut rotated by 0, 15, 30 and 45 degrees, each at half size, four in one 2x2 picture;
* lfw: the first ``--lfw`` faces of ``skimage.data.lfw_subset()`` (25x25 crops of Labeled Faces in the Wild),
  upscaled 4x, padded with their edge pixels to 160x160, then rotated likewise (corners the median gray).

A face counts as found when a box contains its eyes' midpoint (known from the photo and the rotation);
any other box is a false one. "same top-1": the faces whose top-1 emotion (``--model``) at this angle is
the one at 0 degrees of the same unmirrored, unscaled photo, over those found at both.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from PIL import Image  # noqa: E402

from fer_core.data import faces  # noqa: E402
from fer_core.data.images import to_face_array  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ANGLES = (0, 15, 30, 45)
ASTRONAUT_EYES = (225.0, 101.0)  # midpoint of the astronaut's eyes in skimage.data.astronaut(), x, y
Box = tuple[int, int, int, int]


class Photo:
    """A test picture: ``uint8 (H, W)`` gray, the eye midpoints of its faces, and which source face each is."""

    def __init__(self, group: str, angle: int, gray: np.ndarray, eyes: list[tuple[float, float]], sources: list[str]):
        self.group, self.angle, self.gray, self.eyes, self.sources = group, angle, gray, eyes, sources


def rotated(gray: np.ndarray, point: tuple[float, float], angle: float, fill: int = 0):
    """``gray`` turned ``angle`` degrees counter-clockwise (canvas grown to fit) and where ``point`` lands."""
    turned = Image.fromarray(gray).rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=fill)
    (w, h), (new_w, new_h) = (gray.shape[1], gray.shape[0]), turned.size
    dx, dy, a = point[0] - w / 2, point[1] - h / 2, math.radians(angle)
    moved = (new_w / 2 + dx * math.cos(a) + dy * math.sin(a), new_h / 2 - dx * math.sin(a) + dy * math.cos(a))
    return np.asarray(turned), moved


def scaled(gray: np.ndarray, point: tuple[float, float], factor: float):
    size = (round(gray.shape[1] * factor), round(gray.shape[0] * factor))
    shrunk = Image.fromarray(gray).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(shrunk), (point[0] * factor, point[1] * factor)


def astronaut_photos() -> Iterator[Photo]:
    from skimage import data

    gray = np.asarray(Image.fromarray(data.astronaut()).convert("L"))
    variants = {
        "astronaut": (gray, ASTRONAUT_EYES),
        "astronaut mirrored": (gray[:, ::-1].copy(), (gray.shape[1] - 1 - ASTRONAUT_EYES[0], ASTRONAUT_EYES[1])),
        "astronaut at 25%": scaled(gray, ASTRONAUT_EYES, 0.25),
    }
    for group, (image, eyes) in variants.items():
        for angle in ANGLES:
            turned, moved = rotated(image, eyes, angle)
            yield Photo(group, angle, turned, [moved], [f"astronaut@{angle}"])
    tiles = [scaled(*rotated(gray, ASTRONAUT_EYES, angle), 0.5) for angle in ANGLES]
    side = max(max(t.shape) for t, _ in tiles)
    canvas, eyes = np.zeros((2 * side, 2 * side), np.uint8), []
    for number, (tile, (x, y)) in enumerate(tiles):
        top, left = side * (number // 2), side * (number % 2)
        canvas[top:top + tile.shape[0], left:left + tile.shape[1]] = tile
        eyes.append((left + x, top + y))
    yield Photo("pasted (4 in one)", -1, canvas, eyes, [f"astronaut@{a}" for a in ANGLES])


def lfw_photos(count: int) -> Iterator[Photo]:
    from skimage import data

    crops = (data.lfw_subset()[:count] * 255).round().astype(np.uint8)  # the first 100 are faces
    for number, crop in enumerate(crops):
        big = np.pad(np.asarray(Image.fromarray(crop).resize((100, 100), Image.Resampling.BICUBIC)), 30, mode="edge")
        eyes = (80.0, 30 + 100 * 0.38)  # the crops are centred, eyes about 38% from the top
        for angle in ANGLES:
            turned, moved = rotated(big, eyes, angle, fill=int(np.median(big)))
            yield Photo("lfw", angle, turned, [moved], [f"lfw{number}@{angle}"])


def haar_finder() -> Callable[[np.ndarray], list[tuple[Box, np.ndarray]]]:
    """The former ``fer_core.faces``: frontal Haar cascade, boxes at least 1/12 of the short side, resized."""
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def find(gray: np.ndarray) -> list[tuple[Box, np.ndarray]]:
        side = max(24, min(gray.shape) // 12)
        boxes = cascade.detectMultiScale(cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5, minSize=(side, side))
        return [(b, to_face_array(Image.fromarray(gray[b[1]:b[1] + b[3], b[0]:b[0] + b[2]])))
                for b in (tuple(int(v) for v in box) for box in boxes)]

    return find


def mtcnn_finder(gray: np.ndarray) -> list[tuple[Box, np.ndarray]]:
    return [(face.box, faces.crop_face(gray, face)) for face in faces.find_faces(gray)]


def inside(box: Box, point: tuple[float, float]) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def run(finder, photos: list[Photo]) -> tuple[dict, dict[str, np.ndarray], int, float]:
    """``({(group, angle): [found, faces, false boxes]}, {source: crop}, false boxes, seconds per photo)``."""
    counts, crops, false, start = {}, {}, 0, time.perf_counter()
    for photo in photos:
        found = finder(photo.gray)
        tally = counts.setdefault((photo.group, photo.angle), [0, 0])
        hits = set()
        for eyes, source in zip(photo.eyes, photo.sources):
            tally[1] += 1
            match = next((i for i, (box, _) in enumerate(found) if inside(box, eyes) and i not in hits), None)
            if match is not None:
                hits.add(match)
                tally[0] += 1
                crops.setdefault(f"{photo.group}|{source}", found[match][1])
        false += len(found) - len(hits)
    return counts, crops, false, (time.perf_counter() - start) / len(photos)


def agreement(crops: dict[str, np.ndarray], model, group: str, reference: str) -> dict[int, tuple[int, int]]:
    """``{angle: (same top-1 as the reference group at 0 degrees, found at both)}`` for one group of photos."""
    from fer_core.evaluation.scores import predict_proba

    keys = sorted(crops)
    top1 = dict(zip(keys, predict_proba(model, np.stack([crops[k] for k in keys])).argmax(axis=1)))
    result = {}
    for angle in ANGLES:
        pairs = [(top1[k], top1.get(k.replace(f"{group}|", f"{reference}|").rsplit("@", 1)[0] + "@0"))
                 for k in keys if k.startswith(f"{group}|") and k.endswith(f"@{angle}")]
        pairs = [(a, b) for a, b in pairs if b is not None]
        result[angle] = (sum(a == b for a, b in pairs), len(pairs))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "assets" / "models" / "seed"), help="reads the emotions")
    parser.add_argument("--lfw", type=int, default=100, help="LFW faces to use, 0..100 (default: %(default)s)")
    args = parser.parse_args()
    from fer_core.models.builders import load_model

    photos = [*astronaut_photos(), *lfw_photos(args.lfw)]
    model = load_model(args.model)
    faces.find_faces(photos[0].gray)  # load MTCNN before timing
    groups = list(dict.fromkeys(p.group for p in photos))
    print(f"{len(photos)} photos; emotions by {args.model}")
    print(f"{'finder':7s} {'photos':19s} " + " ".join(f"{f'{a} deg':>13s}" for a in ANGLES) + "   (found; same top-1)")
    search = faces.SEARCH_ANGLES
    for name, finder, angles in (("old", haar_finder(), ()), ("new-0", mtcnn_finder, (0,)),
                                 ("new", mtcnn_finder, search)):
        faces.SEARCH_ANGLES = angles  # new-0: MTCNN on the photo as it is, not also turned
        counts, crops, false, seconds = run(finder, photos)
        for group in groups:
            reference = "lfw" if group == "lfw" else "astronaut"
            same = agreement(crops, model, group, reference) if crops else {}
            cells = []
            for angle in ANGLES if group != "pasted (4 in one)" else (-1,):
                found, total = counts[(group, angle)]
                agree = "" if angle < 0 else "; %d/%d" % same.get(angle, (0, 0))
                cells.append(f"{found}/{total}{agree}")
            print(f"{name:7s} {group:19s} " + " ".join(f"{c:>13s}" for c in cells))
        found = sum(c[0] for c in counts.values())
        total = sum(c[1] for c in counts.values())
        print(f"{name:7s} all: {found}/{total} faces found ({found / total:.0%}), {false} false boxes, "
              f"{seconds:.3f} s per photo")


if __name__ == "__main__":
    main()
