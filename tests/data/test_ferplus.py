"""FER+ votes read beside FER2013: alignment by row, validation, the cache, the other sources."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from fer_core import cli
from fer_core.data.dataset import load_fer2013
from fer_core.data.ferplus import HEADER, VOTE_COLUMNS
from fer_core.errors import DataError
from tests.conftest import make_faces, write_text

USAGES = ["Training"] * 21 + ["PublicTest"] * 14


def votes_csv(votes: np.ndarray, usages=USAGES, header=",".join(HEADER)) -> str:
    rows = [f"{u},fer{i:07d}.png,{','.join(map(str, v))}" for i, (u, v) in enumerate(zip(usages, votes))]
    return "\n".join([header, *rows]) + "\n"


def random_votes(n: int, seed: int = 1) -> np.ndarray:
    """``n`` rows of 10 vote counts summing to 10."""
    rng = np.random.default_rng(seed)
    return np.stack([np.bincount(rng.integers(0, len(VOTE_COLUMNS), 10), minlength=len(VOTE_COLUMNS)) for _ in range(n)])


def test_votes_beside_the_csv_follow_its_rows_into_each_split(kaggle_folder):
    folder = kaggle_folder[0]
    votes = random_votes(35)
    write_text(folder / "fer2013new.csv", votes_csv(votes))
    dataset = load_fer2013(folder)
    assert dataset.votes_file == folder / "fer2013new.csv"
    np.testing.assert_array_equal(dataset["train"].votes, votes[:21])
    np.testing.assert_array_equal(dataset["public"].votes, votes[21:])
    assert dataset["train"].votes.dtype == np.uint8
    assert dataset["private"].votes is None  # the unlabeled private file has no rows in the votes file
    np.testing.assert_array_equal(dataset["public"].take(3).votes, votes[21:24])


def test_a_cached_load_keeps_the_votes_and_a_load_without_them_is_a_new_entry(kaggle_folder, tmp_path, monkeypatch):
    folder = kaggle_folder[0]
    votes = random_votes(35)
    write_text(folder / "fer2013new.csv", votes_csv(votes))
    first = load_fer2013(folder)
    with monkeypatch.context() as patched:
        patched.setattr("fer_core.data.dataset.parse", lambda plan: pytest.fail("the second load parsed again"))
        again = load_fer2013(folder)  # from the cache
    np.testing.assert_array_equal(again["public"].votes, first["public"].votes)
    cache = Path(os.environ["FER_CACHE"])
    assert len(list(cache.rglob("*.npz"))) == 1
    (folder / "fer2013new.csv").unlink()
    assert load_fer2013(folder)["public"].votes is None
    assert len(list(cache.rglob("*.npz"))) == 2, "a load without the votes is an entry of its own"


def test_a_shorter_votes_file_leaves_the_rows_after_it_without_votes(kaggle_folder):
    folder = kaggle_folder[0]
    votes = random_votes(25)
    write_text(folder / "fer2013new.csv", votes_csv(votes, USAGES[:25]))
    dataset = load_fer2013(folder)
    np.testing.assert_array_equal(dataset["train"].votes, votes[:21])
    public = dataset["public"].votes
    np.testing.assert_array_equal(public[:4], votes[21:25])
    assert not public[4:].any()


def test_ferplus_option_and_variable_name_the_file(kaggle_folder, tmp_path, monkeypatch):
    folder = kaggle_folder[0]
    votes = random_votes(35)
    elsewhere = write_text(tmp_path / "votes" / "any-name.csv", votes_csv(votes))
    np.testing.assert_array_equal(load_fer2013(folder, ferplus=elsewhere)["public"].votes, votes[21:])
    monkeypatch.setenv("FER_PLUS", str(elsewhere))
    assert load_fer2013(folder).votes_file == elsewhere
    monkeypatch.setenv("FER_PLUS", str(tmp_path / "missing.csv"))
    with pytest.raises(DataError, match=r"missing.csv: no such FER\+ votes file \(from FER_PLUS"):
        load_fer2013(folder)


def _bad(votes_text: str, kaggle_folder) -> str:
    folder = kaggle_folder[0]
    write_text(folder / "fer2013new.csv", votes_text)
    with pytest.raises(DataError) as error:
        load_fer2013(folder)
    message = str(error.value)
    assert message.startswith(str(folder / "fer2013new.csv")) and "\n" not in message
    assert not list(folder.parent.glob("cache/*.npz")), "nothing may be cached for a bad votes file"
    return message


def test_more_votes_rows_than_the_csv_is_an_error(kaggle_folder):
    message = _bad(votes_csv(random_votes(36), USAGES + ["PublicTest"]), kaggle_folder)
    assert "has 36 rows of votes but the FER2013 CSV has 35" in message


def test_a_usage_that_differs_from_the_csvs_names_the_row(kaggle_folder):
    usages = list(USAGES)
    usages[22] = "Training"  # data row 23 = spreadsheet row 24
    message = _bad(votes_csv(random_votes(35), usages), kaggle_folder)
    assert "row 24: Usage is 'Training' but the FER2013 CSV's row 24 is 'PublicTest'" in message


def test_a_training_row_missing_from_the_votes_is_caught_where_the_splits_meet(kaggle_folder):
    votes, usages = random_votes(35), list(USAGES)
    del usages[5]  # every later row moves up one: the first PublicTest vote lands on the CSV's last Training row
    message = _bad(votes_csv(votes[:34], usages), kaggle_folder)
    assert "row 22: Usage is 'PublicTest' but the FER2013 CSV's row 22 is 'Training'" in message
    assert message.endswith("a row missing or added above it shifts every row after it)")


@pytest.mark.parametrize("count", ["11", "-1", "2.5", "x"])
def test_a_count_that_is_not_an_integer_0_to_10_names_row_and_column(kaggle_folder, count):
    lines = votes_csv(random_votes(35)).splitlines()
    cells = lines[5].split(",")
    cells[2 + 6] = count  # the 'fear' column of data row 5 = spreadsheet row 6
    lines[5] = ",".join(cells)
    message = _bad("\n".join(lines) + "\n", kaggle_folder)
    assert f"row 6: column 'fear' is {count!r} (expected an integer vote count 0..10)" in message


def test_a_wrong_header_is_an_error(kaggle_folder):
    header = ",".join(HEADER).replace("happiness", "happy")
    message = _bad(votes_csv(random_votes(35), header=header), kaggle_folder)
    assert "row 1: header is" in message and "expected Usage,Image name,neutral,happiness" in message


@pytest.mark.parametrize("content", ["two members", b"not a zip at all"])
def test_a_votes_zip_that_is_not_one_csv_is_one_line(tmp_path, kaggle_folder, content):
    import zipfile

    path = tmp_path / "fer2013new.csv.zip"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("fer2013new.csv", votes_csv(random_votes(35)))
            archive.writestr("LICENSE.txt", "MIT")
    with pytest.raises(DataError) as error:
        load_fer2013(kaggle_folder[0], ferplus=path)
    assert str(error.value).startswith(f"{path}: not a readable CSV (") and "\n" not in str(error.value)


def test_votes_need_the_kaggle_csv(tmp_path, kaggle_folder):
    images, labels = make_faces(7)
    rows = [f"{y},{' '.join(map(str, x.reshape(-1)))}" for x, y in zip(images, labels)]
    write_text(tmp_path / "course" / "train.csv", "\n".join(["label,feature", *rows]) + "\n")
    votes = write_text(tmp_path / "v.csv", votes_csv(random_votes(35)))
    with pytest.raises(DataError, match=r"FER\+ votes need the Kaggle fer2013.csv .*not the ML2017 course files"):
        load_fer2013(tmp_path / "course", ferplus=votes)
    assert load_fer2013(tmp_path / "course")["train"].votes is None


def test_fer_data_says_which_splits_carry_votes(kaggle_folder, capsys):
    folder = kaggle_folder[0]
    assert cli.main(["data", "--data", str(folder)]) == 0
    assert "FER+ votes: none (put fer2013new.csv beside" in capsys.readouterr().out
    write_text(folder / "fer2013new.csv", votes_csv(random_votes(35)))
    assert cli.main(["data", "--data", str(folder)]) == 0
    assert "FER+ votes for train 21, public 14 (from " in capsys.readouterr().out


@pytest.mark.data
def test_the_real_votes_align_with_the_real_csv(real_data):
    dataset = load_fer2013(real_data)
    for name in ("train", "public"):
        votes = dataset[name].votes
        assert votes.shape == (len(dataset[name]), len(VOTE_COLUMNS))
        assert ((votes.sum(axis=1) >= 9) & (votes.sum(axis=1) <= 10)).all()
