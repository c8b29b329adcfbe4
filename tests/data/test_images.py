"""Photos as phones and editors write them, decoded once for the CLI, the loader and the dashboard:
EXIF orientation, 16-bit and float samples, big photos shrunk as decoded, transparency, images too small for a
face, and paths that are not files."""

import os
import signal
import zipfile

import numpy as np
import pytest
from PIL import Image

from fer_core import cli
from fer_core.data.faces import read_photo
from fer_core.data.images import MIN_IMAGE_SIDE, read_face, read_gray, to_gray
from tests.conftest import make_faces, one_error_line, snapshot

EXIF_ORIENTATION = 0x0112


def _photo(height: int = 90, width: int = 60) -> np.ndarray:
    """``uint8 (height, width)``: a smooth gradient with a bright block at the top left (so any turn shows)."""
    rows, cols = np.mgrid[0:height, 0:width]
    image = (40 + 100 * rows / height + 60 * cols / width).astype(np.uint8)
    image[: height // 3, : width // 3] = 250
    return image


def test_a_phone_photo_stored_sideways_is_read_upright(tmp_path):
    upright = _photo()
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # what the sensor wrote
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # "turn 90 degrees clockwise to display"
    stored.save(tmp_path / "phone.jpg", quality=95, exif=exif)
    read = read_photo(tmp_path / "phone.jpg")
    assert read.shape == upright.shape
    assert np.abs(read.astype(int) - upright).mean() < 3  # JPEG noise only
    Image.fromarray(upright).save(tmp_path / "upright.png")
    face, expected = read_face(tmp_path / "phone.jpg"), read_face(tmp_path / "upright.png")
    assert np.abs(face.astype(int) - expected).mean() < 3


def test_a_sideways_phone_photo_of_a_face_has_its_face_found(tmp_path):
    """The issue's case: upright, the face is found; stored sideways with its EXIF turn, it must be found too."""
    data = pytest.importorskip("skimage.data", reason="scikit-image's astronaut photo is the face used here")
    from fer_core.data.faces import find_faces

    upright = Image.fromarray(data.astronaut())
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "sideways.jpg", quality=95, exif=exif)
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "no-exif.jpg", quality=95)
    assert find_faces(read_photo(tmp_path / "sideways.jpg"))
    assert not find_faces(read_photo(tmp_path / "no-exif.jpg"))  # the turn is what makes the difference


def test_a_16_bit_png_is_scaled_not_clipped(tmp_path):
    faces, _ = make_faces(2, seed=3)
    for i, face in enumerate(faces):
        wide = face.astype(np.uint16) * 257  # the same picture in 16 bits: 0..255 -> 0..65535
        Image.fromarray(wide).save(tmp_path / f"wide{i}.png")
        assert Image.open(tmp_path / f"wide{i}.png").mode.startswith("I;16")
        np.testing.assert_array_equal(read_face(tmp_path / f"wide{i}.png"), face)
        np.testing.assert_array_equal(read_photo(tmp_path / f"wide{i}.png"), face)


def test_a_float_tiff_in_0_to_1_is_scaled_and_a_lab_tiff_gives_its_lightness(tmp_path):
    face = make_faces(1, seed=4)[0][0]
    Image.fromarray(face.astype(np.float32) / 255).save(tmp_path / "float.tif")
    assert Image.open(tmp_path / "float.tif").mode == "F"
    np.testing.assert_array_equal(read_face(tmp_path / "float.tif"), face)
    lab = Image.merge("LAB", [Image.fromarray(face), *[Image.new("L", face.shape[::-1], 128)] * 2])
    lab.save(tmp_path / "lab.tif")
    assert Image.open(tmp_path / "lab.tif").mode == "LAB"
    np.testing.assert_array_equal(read_face(tmp_path / "lab.tif"), face)
    np.testing.assert_array_equal(read_photo((tmp_path / "lab.tif").read_bytes()), face)


@pytest.mark.parametrize("fmt, mode", [("JPEG", "RGB"), ("PNG", "RGBA")])
def test_a_big_photo_is_shrunk_as_it_is_decoded_and_matches_a_full_size_decode(tmp_path, fmt, mode):
    big = Image.fromarray(np.kron(_photo(300, 400), np.ones((10, 10), np.uint8))).convert(mode)  # 4000x3000
    path = tmp_path / f"big.{fmt.lower()}"
    big.save(path, fmt)
    small = read_gray(path, max_side=1024)
    assert small.size == (1024, 768) and small.mode == "L"
    full = to_gray(Image.open(path))
    full.thumbnail((1024, 1024))
    difference = np.abs(np.asarray(small, np.int16) - np.asarray(full, np.int16))
    assert difference.mean() < 1.0 and np.percentile(difference, 99) <= 4
    assert read_photo(path).shape == (768, 1024)


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((48, 48, 4), np.uint8)
    rgba[..., :3] = 30
    rgba[:24, :, 3] = 255  # top half opaque dark, bottom half fully transparent
    Image.fromarray(rgba).save(tmp_path / "cutout.png")
    face = read_face(tmp_path / "cutout.png")
    assert (face[:24] == 30).all() and (face[24:] == 255).all()


def _refused(tmp_path, capsys, path) -> str:
    """Run ``fer predict`` on ``path``: exit 2, one line, nothing under ``tmp_path`` changed; return the line."""
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as archive:  # passes the look at the file; never loaded
        archive.writestr("config.json", "{}")
    before = snapshot(tmp_path)
    assert cli.main(["predict", str(tmp_path / "m.keras"), str(path)]) == 2  # images are checked before TensorFlow
    assert snapshot(tmp_path) == before
    return one_error_line(capsys.readouterr().err)


def test_a_fully_transparent_png_is_refused(tmp_path, capsys):
    Image.fromarray(np.zeros((64, 64, 4), np.uint8)).save(tmp_path / "clear.png")
    assert _refused(tmp_path, capsys, tmp_path / "clear.png") == f"{tmp_path / 'clear.png'}: image is fully " \
        "transparent (nothing to score; expected visible pixels)"


@pytest.mark.parametrize("size", [(1, 1), (MIN_IMAGE_SIDE - 1, 200)])
def test_an_image_too_small_to_hold_a_face_is_refused(tmp_path, capsys, size):
    Image.new("L", size, 128).save(tmp_path / "tiny.png")
    line = _refused(tmp_path, capsys, tmp_path / "tiny.png")
    assert line == (f"{tmp_path / 'tiny.png'}: image is {size[0]}x{size[1]} pixels, too small to hold a face "
                    f"(expected at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE})")
    Image.new("L", (MIN_IMAGE_SIDE, MIN_IMAGE_SIDE), 128).save(tmp_path / "smallest.png")
    assert read_face(tmp_path / "smallest.png").shape == (48, 48)


def _fail_after(seconds: int):
    def alarm(signum, frame):
        raise TimeoutError(f"still waiting after {seconds} s")
    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_fifo_or_a_folder_is_refused_at_once(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.jpg")
    previous = signal.getsignal(signal.SIGALRM)
    _fail_after(20)  # opening a FIFO for reading waits for a writer: the old behaviour hung here
    try:
        assert _refused(tmp_path, capsys, tmp_path / "pipe.jpg") == \
            f"{tmp_path / 'pipe.jpg'}: is a named pipe (FIFO), not an image file"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    (tmp_path / "photos").mkdir()
    assert _refused(tmp_path, capsys, tmp_path / "photos") == f"{tmp_path / 'photos'}: is a folder, not an image file"
