import numpy as np
import pytest
from PIL import Image

from fer_core import cli
from fer_core.data.dataset import load_fer2013
from fer_core.errors import DataError
from fer_core.labels import EMOTIONS
from tests.conftest import (files_under, id_csv, kaggle_csv, killed_write, make_faces, one_error_line, pixel_text,
                            write_text)


def assert_split(split, images, labels):
    assert split.images.dtype == np.uint8 and split.images.shape == (len(images), 48, 48)
    np.testing.assert_array_equal(split.images, images)
    if labels is None:
        assert split.labels is None
    else:
        assert split.labels.dtype == np.int64
        np.testing.assert_array_equal(split.labels, labels)


# ----------------------------------------------------------------------------- formats round-trip


@pytest.mark.parametrize("gz", [False, True])
def test_kaggle_csv_all_three_usages_labeled(tmp_path, gz):
    images, labels = make_faces(30)
    usages = ["Training"] * 12 + ["PublicTest"] * 9 + ["PrivateTest"] * 9
    path = write_text(tmp_path / ("fer2013.csv.gz" if gz else "fer2013.csv"), kaggle_csv(images, labels, usages), gz)
    data = load_fer2013(path)
    assert_split(data["train"], images[:12], labels[:12])
    assert_split(data["public"], images[12:21], labels[12:21])
    assert_split(data["private"], images[21:], labels[21:])
    np.testing.assert_array_equal(data["private"].ids, np.arange(9))


def test_folder_with_unlabeled_private_file(kaggle_folder):
    folder, images, labels = kaggle_folder
    data = load_fer2013(folder)
    assert_split(data["train"], images[:21], labels[:21])
    assert_split(data["public"], images[21:35], labels[21:35])
    assert_split(data["private"], images[35:], None)
    np.testing.assert_array_equal(data["private"].ids, np.arange(5))


def test_ml2017_course_files(tmp_path):
    images, labels = make_faces(12)
    train_rows = [f"{y},{pixel_text(x)}" for x, y in zip(images[:8], labels[:8])]
    write_text(tmp_path / "train.csv", "\n".join(["label,feature", *train_rows]) + "\n")
    write_text(tmp_path / "test.csv", id_csv(images[8:], "feature", start=100))
    data = load_fer2013(tmp_path)
    assert_split(data["train"], images[:8], labels[:8])
    assert_split(data["private"], images[8:], None)
    np.testing.assert_array_equal(data["private"].ids, [100, 101, 102, 103])


def test_image_folders_with_prefixes_sizes_and_colour(tmp_path):
    images, _ = make_faces(4)
    Image.fromarray(images[0]).save(tmp_path / "x.png")  # ignored: not in an emotion folder
    layout = [
        ("train", "happy", "Training_1.png", images[0]),
        ("test", "sad", "PublicTest_7.png", images[1]),
        ("test", "fear", "PrivateTest_3.png", images[2]),
        ("train", "angry", "face.png", images[3]),  # no prefix: split from the folder
    ]
    for top, emotion, name, face in layout:
        (tmp_path / top / emotion).mkdir(parents=True, exist_ok=True)
        Image.fromarray(face).save(tmp_path / top / emotion / name)
    (tmp_path / "test" / "sad" / "notes.txt").write_text("not an image")
    colour = np.stack([np.full((96, 96), 200, np.uint8)] * 3, axis=-1)
    Image.fromarray(colour).save(tmp_path / "train" / "happy" / "Training_2.jpg")
    data = load_fer2013(tmp_path)
    train = data["train"]
    assert sorted(train.labels.tolist()) == [EMOTIONS.index("angry"), EMOTIONS.index("happy"), EMOTIONS.index("happy")]
    assert any(np.array_equal(img, images[0]) for img in train.images)
    big = [img for img in train.images if abs(int(img.mean()) - 200) <= 2]
    assert len(big) == 1 and big[0].shape == (48, 48)  # 96x96 colour -> 48x48 gray
    assert_split(data["public"], images[1:2], [EMOTIONS.index("sad")])
    assert_split(data["private"], images[2:3], [EMOTIONS.index("fear")])


# ----------------------------------------------------------------------------- cache


def test_cache_is_used_and_keyed_by_mtime(kaggle_folder, tmp_path):
    folder, images, labels = kaggle_folder
    cache = tmp_path / "cache"
    load_fer2013(folder)
    assert len(list(cache.glob("*.npz"))) == 1
    assert not list(cache.glob(".tmp-*"))
    # Change the source: the old cache must not be served.
    new_images, new_labels = make_faces(3, seed=5)
    write_text(folder / "fer2013.csv.gz", kaggle_csv(new_images, new_labels, ["Training"] * 3), gz=True)
    data = load_fer2013(folder)
    assert_split(data["train"], new_images, new_labels)
    assert len(list(cache.glob("*.npz"))) == 2


def test_a_dataset_describes_itself_and_hands_out_labeled_splits_only(kaggle_folder):
    data = load_fer2013(kaggle_folder[0])
    assert data.describe() == f"FER2013 at `{data.source}`: train 21, public 14, private 5"
    assert data.labeled("public") is data["public"] and data.labeled("private") is None and data.labeled("x") is None


def test_cached_load_serves_same_arrays(kaggle_folder, monkeypatch):
    folder, _, _ = kaggle_folder
    first = load_fer2013(folder)
    monkeypatch.setattr("fer_core.data.dataset.parse", lambda plan: pytest.fail("the second load parsed the CSV again"))
    second = load_fer2013(folder)  # from the .npz cache
    for name in ("train", "public", "private"):
        np.testing.assert_array_equal(first[name].images, second[name].images)
        np.testing.assert_array_equal(first[name].ids, second[name].ids)
    for name in ("train", "public"):
        np.testing.assert_array_equal(first[name].labels, second[name].labels)
    assert second["private"].labels is None


def _cut_short(entry):
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])


def _drop_labels(entry):
    with np.load(entry) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "train/labels"}
    np.savez(entry, **arrays)


@pytest.mark.parametrize("damage", [_cut_short, _drop_labels])
def test_a_damaged_cache_entry_is_removed_and_rebuilt(kaggle_folder, tmp_path, capsys, damage):
    folder, images, labels = kaggle_folder
    load_fer2013(folder)
    (entry,) = (tmp_path / "cache").glob("*.npz")
    good = entry.read_bytes()
    damage(entry)
    assert entry.read_bytes() != good
    assert cli.main(["data", "--data", str(folder)]) == 0
    assert capsys.readouterr().err.startswith(f"warning: {entry}: damaged cache entry (")
    assert entry.read_bytes() == good  # rebuilt
    assert_split(load_fer2013(folder)["train"], images[:21], labels[:21])
    assert capsys.readouterr().err == ""  # and served from the cache again


def test_a_cache_write_killed_half_way_leaves_no_temporary_file_after_the_next_load(kaggle_folder, tmp_path):
    folder, images, labels = kaggle_folder
    cache = tmp_path / "cache"
    temp = killed_write(cache / "fer2013-0123456789abcdef01234567.npz", size=16 << 20)  # 16 MB, as in the issue
    assert_split(load_fer2013(folder)["train"], images[:21], labels[:21])
    assert not temp.exists()
    assert [p.suffix for p in cache.iterdir()] == [".npz"]


# ----------------------------------------------------------------------------- real data


@pytest.mark.data
def test_real_fer2013_counts_and_cached_load(real_data, monkeypatch):
    data = load_fer2013(real_data)
    assert len(data["train"]) == 28709 and len(data["public"]) == 3589 and len(data["private"]) == 3589
    np.testing.assert_array_equal(np.bincount(data["train"].labels), [3995, 436, 4097, 7215, 4830, 3171, 4965])
    np.testing.assert_array_equal(np.bincount(data["public"].labels), [467, 56, 496, 895, 653, 415, 607])
    assert data["private"].labels is None
    np.testing.assert_array_equal(np.sort(data["private"].ids), np.arange(3589))
    monkeypatch.setattr("fer_core.data.dataset.parse", lambda plan: pytest.fail("the second load parsed the CSV again"))
    again = load_fer2013(real_data)  # from the .npz cache (its speed is a benchmark figure, not a timed test)
    np.testing.assert_array_equal(again["public"].images, data["public"].images)
    np.testing.assert_array_equal(again["train"].votes, data["train"].votes)


# ----------------------------------------------------------------------------- bad input


def _one_row_csv(tmp_path, row: str, header: str = "emotion,pixels,Usage"):
    return write_text(tmp_path / "fer2013.csv", f"{header}\n{row}\n")


GOOD = pixel_text(make_faces(1)[0][0])
BAD_CASES = {
    "2303 pixels": (f"0,{' '.join(GOOD.split()[:-1])},Training", "row 2: column 'pixels' has 2303 pixels"),
    "label 9": (f"9,{GOOD},Training", "row 2: column 'emotion' is '9' (expected an integer 0..6)"),
    "non-numeric pixel": (f"0,{GOOD.replace(' ', ' x', 1)},Training", "non-numeric pixel 'x"),
    "pixel 300": (f"0,300 {GOOD.split(' ', 1)[1]},Training", "pixel outside 0..255"),
    "bad usage": (f"0,{GOOD},Validation", "column 'Usage' is 'Validation'"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_rows_name_file_row_and_expectation(tmp_path, capsys, case):
    row, message = BAD_CASES[case]
    path = _one_row_csv(tmp_path, row)
    with pytest.raises(DataError, match=str(path)) as error:
        load_fer2013(path)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert cli.main(["data", "--data", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fer: error: ") and message in err and len(err.splitlines()) == 1
    assert not list((tmp_path / "cache").glob("*.npz")), "no cache may be written for bad input"


def test_error_row_is_spreadsheet_row(tmp_path):
    images, labels = make_faces(5)
    text = kaggle_csv(images, labels, ["Training"] * 5).splitlines()
    text[4] = text[4].replace(",Training", ",Nope")  # the 4th data row = spreadsheet row 5
    path = write_text(tmp_path / "f.csv", "\n".join(text) + "\n")
    with pytest.raises(DataError, match="row 5:"):
        load_fer2013(path)


def _rows(n: int = 7) -> list[str]:
    """A Kaggle CSV's lines: the header (spreadsheet row 1), then ``n`` Training rows (rows 2..n+1)."""
    images, labels = make_faces(n)
    return kaggle_csv(images, labels, ["Training"] * n).splitlines()


def _headerless(rows: list[str]) -> list[str]:
    return rows[1:]


def _swapped_row_3(rows: list[str]) -> list[str]:
    label, pixels, usage = rows[2].split(",")
    return [*rows[:2], f"{pixels},{label},{usage}", *rows[3:]]


LONG_VALUES = {  # a file whose error would quote 2,304 pixels -> what its one line says
    "headerless": (_headerless, "missing column 'emotion', 'pixels', 'Usage' (expected columns emotion,pixels,Usage; "
                                "found 0,"),
    "pixels in the emotion column": (_swapped_row_3, "row 3: column 'emotion' is '"),
}


@pytest.mark.parametrize("case", list(LONG_VALUES))
@pytest.mark.parametrize("as_folder", [False, True])
def test_a_value_of_kilobytes_is_cut_in_the_one_line(tmp_path, monkeypatch, capsys, case, as_folder):
    edit, says = LONG_VALUES[case]
    path = write_text(tmp_path / "fer" / "fer2013.csv", "\n".join(edit(_rows())) + "\n")
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path)
    assert cli.main(["data", "--data", str(path.parent if as_folder else path)]) == 2
    message = one_error_line(capsys.readouterr().err)
    assert message.startswith(f"{path}: {says}") and "characters cut]" in message
    assert len(message) < 250, "a few words of the value, not its 9 KB"
    assert files_under(tmp_path) == before


PARSER_CASES = {  # (line index = spreadsheet row - 1, how the line is broken) -> what the one line says
    "a 4th field in row 4": (3, lambda line: line + ",x", "row 4: has 4 fields (expected 3, as in the header)"),
    "a quote opened in row 6": (5, lambda line: '"' + line, 'row 6: a quoted field (") starts here and never ends'),
}


@pytest.mark.parametrize("case", list(PARSER_CASES))
def test_rows_that_pandas_reports_are_numbered_as_ours_with_the_header_as_row_1(tmp_path, capsys, case):
    index, breaks, says = PARSER_CASES[case]
    rows = _rows()
    rows[index] = breaks(rows[index])
    path = write_text(tmp_path / "fer2013.csv", "\n".join(rows) + "\n")
    assert cli.main(["data", "--data", str(path)]) == 2
    assert one_error_line(capsys.readouterr().err) == f"{path}: {says}"


@pytest.mark.parametrize("gz", [False, True])
def test_the_fast_reader_reads_a_good_file_cell_for_cell_as_the_c_parser_does(tmp_path, gz):
    import pandas as pd

    from fer_core.data.formats import _read_csv_with_arrow

    images, labels = make_faces(20)
    text = kaggle_csv(images, labels, ["Training"] * 10 + ["PublicTest"] * 10).replace(",Training", ",")  # empty cells
    path = write_text(tmp_path / ("fer2013.csv.gz" if gz else "fer2013.csv"), text, gz)
    fast = _read_csv_with_arrow(path)
    assert fast is not None, "a well-formed file takes the fast path"
    pd.testing.assert_frame_equal(fast, pd.read_csv(path, dtype=str, keep_default_na=False))


@pytest.mark.parametrize("case", list(PARSER_CASES))
def test_the_fast_reader_leaves_a_broken_file_to_the_c_parser(tmp_path, case):
    from fer_core.data.formats import _read_csv_with_arrow

    index, breaks, _ = PARSER_CASES[case]
    rows = _rows()
    rows[index] = breaks(rows[index])
    assert _read_csv_with_arrow(write_text(tmp_path / "fer2013.csv", "\n".join(rows) + "\n")) is None


def test_a_child_process_fills_the_cache_that_load_then_reads(tmp_path, monkeypatch):
    from fer_core.data.dataset import parse_in_a_process

    monkeypatch.setenv("FER_CACHE", str(tmp_path / "cache"))
    images, labels = make_faces(12)
    path = write_text(tmp_path / "fer2013.csv", kaggle_csv(images, labels, ["Training"] * 6 + ["PublicTest"] * 6))
    parse_in_a_process(path)
    assert len(list((tmp_path / "cache").glob("fer2013-*.npz"))) == 1
    monkeypatch.setattr("fer_core.data.dataset.parse", lambda *_: pytest.fail("parsed again"))
    assert_split(load_fer2013(path)["public"], images[6:], labels[6:])


def test_a_child_that_fails_leaves_no_cache_and_the_error_to_load(tmp_path, monkeypatch):
    from fer_core.data.dataset import parse_in_a_process

    monkeypatch.setenv("FER_CACHE", str(tmp_path / "cache"))
    path = write_text(tmp_path / "fer2013.csv", "\n".join(_rows()[:3] + ["0,1 2 3,Training"]) + "\n")
    parse_in_a_process(path)  # no exception here
    assert not list(tmp_path.glob("cache/fer2013-*.npz"))
    with pytest.raises(DataError, match="row 4: column 'pixels' has 3 pixels"):
        load_fer2013(path)


@pytest.mark.parametrize("gz", [False, True])
def test_a_quote_left_open_in_a_last_line_without_newline_is_named(tmp_path, capsys, gz):
    rows = _rows()
    rows[-1] = rows[-1].replace(",Training", ',"Training')
    path = write_text(tmp_path / ("fer2013.csv.gz" if gz else "fer2013.csv"), "\n".join(rows), gz)
    assert cli.main(["data", "--data", str(path)]) == 2
    assert one_error_line(capsys.readouterr().err) == f'{path}: row 8: a quoted field (") starts here and never ends'


@pytest.mark.parametrize("name, content", [("fer2013.csv.zip", b"not a zip at all"),
                                           ("fer2013.csv.gz", b"not gzip either")])
def test_a_compressed_file_that_is_not_one_is_one_line(tmp_path, capsys, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    assert cli.main(["data", "--data", str(path)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"{path}: not a readable CSV (") and len(line) < 250


@pytest.mark.parametrize("members", [["fer2013.csv", "readme.txt"], []])
def test_a_zip_holding_several_files_or_none_is_one_line(tmp_path, capsys, members):
    import zipfile

    path = tmp_path / "fer2013.zip"  # Kaggle's download holds five files
    with zipfile.ZipFile(path, "w") as archive:
        for name in members:
            archive.writestr(name, "\n".join(_rows()))
    assert cli.main(["data", "--data", str(path)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"{path}: not a readable CSV (") and "files found in ZIP file" in line


def test_missing_column(tmp_path):
    path = _one_row_csv(tmp_path, f"0,{GOOD}", header="emotion,pixels")
    with pytest.raises(DataError, match=r"missing column 'Usage' \(expected columns emotion,pixels,Usage"):
        load_fer2013(path)


def test_empty_file(tmp_path):
    path = write_text(tmp_path / "fer2013.csv", "")
    with pytest.raises(DataError, match="fer2013.csv: file is empty"):
        load_fer2013(path)


def test_a_header_without_rows_is_an_error_not_an_empty_table(tmp_path, capsys):
    from fer_core import cli

    path = write_text(tmp_path / "fer2013.csv", "emotion,pixels,Usage\n")
    with pytest.raises(DataError, match="fer2013.csv: holds no faces"):
        load_fer2013(path)
    assert cli.main(["data", "--data", str(path)]) == 2
    assert "holds no faces" in capsys.readouterr().err


def test_an_empty_private_file_beside_a_good_one_is_named(kaggle_folder):
    folder = kaggle_folder[0]
    (folder / "private_test.csv").write_text("id,pixels\n")
    with pytest.raises(DataError, match="private_test.csv: holds no faces"):
        load_fer2013(folder, cache=False)


@pytest.mark.parametrize("bad_id", ["inf", "1e30", "-9007199254740993"])
def test_a_private_id_that_no_int64_holds_exactly_is_named_not_wrapped(kaggle_folder, bad_id):
    folder, images, _ = kaggle_folder
    lines = id_csv(images[35:]).splitlines()
    lines[2] = bad_id + lines[2][lines[2].index(","):]
    (folder / "private_test.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=f"private_test.csv: row 3: column 'id' is '{bad_id}' \\(expected an integer\\)"):
        load_fer2013(folder, cache=False)


def test_corrupt_image(tmp_path):
    (tmp_path / "train" / "happy").mkdir(parents=True)
    (tmp_path / "train" / "happy" / "Training_9.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    with pytest.raises(DataError, match="Training_9.jpg: (not a readable image|corrupt image)"):
        load_fer2013(tmp_path)


def test_unknown_emotion_folder(tmp_path):
    (tmp_path / "train" / "contempt").mkdir(parents=True)
    with pytest.raises(DataError, match="unknown emotion folder 'contempt' \\(expected one of angry, disgust"):
        load_fer2013(tmp_path)


def test_no_data_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("FER_DATA", raising=False)
    with pytest.raises(DataError, match="neither --data nor FER_DATA is set; get FER2013"):
        load_fer2013()
    monkeypatch.setenv("FER_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="nowhere: no such file or folder \\(from FER_DATA\\)"):
        load_fer2013()
    with pytest.raises(DataError, match="no FER2013 files found \\(looked for fer2013.csv"):
        load_fer2013(tmp_path)
