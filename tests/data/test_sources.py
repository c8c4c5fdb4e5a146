import logging
import os

import numpy as np
import pytest
from data_helpers import benchmark_rolls, write_corrupt, write_mat, write_pickle, write_tunes

from musickit.data.dataset import load_dataset
from musickit.data.sources import open_source, read_scores, roll_to_score
from musickit.errors import DataSourceError
from musickit.representations.piano_roll import PianoRoll


@pytest.mark.parametrize(
    "source, words",
    [
        ("mozart", "unknown data source 'mozart'"),
        ("no/such/folder", "no such file or folder"),
        ("missing.mid", "no such file or folder"),
        ("tfds:", "needs a dataset name"),
    ],
)
def test_bad_source_strings_are_one_line_errors(source, words):
    with pytest.raises(DataSourceError, match=words) as caught:
        open_source(source)
    assert "\n" not in str(caught.value)


def test_empty_folder_and_single_file_are_errors(tmp_path):
    with pytest.raises(DataSourceError, match="no .mid or .midi files"):
        open_source(str(tmp_path)).entries()
    (path,) = write_tunes(tmp_path, ["one"])
    with pytest.raises(DataSourceError, match="pass its folder"):
        open_source(path)


def test_max_files_must_be_positive():
    with pytest.raises(DataSourceError, match="max_files"):
        open_source("bach", max_files=0)


def test_folder_source_is_recursive_and_labels_styles_by_subfolder(tmp_path):
    write_tunes(tmp_path, ["one"])
    write_tunes(tmp_path, ["two", "three"], subfolder="jazz")
    os.rename(tmp_path / "jazz" / "three.mid", tmp_path / "jazz" / "three.MIDI")
    (tmp_path / "notes.txt").write_text("not music")
    collection = read_scores(str(tmp_path))
    by_name = {piece.name: piece.score for piece in collection.pieces}
    assert sorted(by_name) == ["jazz/three.MIDI", "jazz/two.mid", "one.mid"]
    assert by_name["jazz/two.mid"].metadata["style"] == "jazz"
    assert "style" not in by_name["one.mid"].metadata
    assert [note.pitch for note in by_name["one.mid"].notes] == [60, 64, 67]


def test_folder_source_skips_unreadable_files_with_one_line_each(tmp_path, caplog):
    write_tunes(tmp_path, ["one", "two"])
    write_corrupt(str(tmp_path / "bad" / "text.mid"))
    write_corrupt(str(tmp_path / "empty.mid"), b"")
    with caplog.at_level(logging.WARNING, logger="musickit.data"):
        collection = read_scores(str(tmp_path))
    assert [piece.name for piece in collection.pieces] == ["one.mid", "two.mid"]
    assert sorted(name for name, _ in collection.skipped) == ["bad/text.mid", "empty.mid"]
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 3 and all("\n" not in message for message in messages)
    assert "empty file" in " ".join(messages)
    assert messages[-1].endswith("read 2 of 4 pieces, skipped 2 unreadable")


def test_folder_with_only_unreadable_files_is_an_error(tmp_path):
    write_corrupt(str(tmp_path / "a.mid"))
    with pytest.raises(DataSourceError, match="none of its 1 pieces could be read"):
        read_scores(str(tmp_path))


def test_max_files_takes_the_first_files_in_sorted_order(tmp_path):
    write_tunes(tmp_path, ["one", "two", "three"])
    assert [entry.name for entry in open_source(str(tmp_path), max_files=2).entries()] == ["one.mid", "three.mid"]


def test_roll_to_score_makes_one_note_per_run_of_frames():
    roll = np.zeros((4, 88), dtype=np.uint8)
    roll[0:2, 39] = 1  # middle C for two frames
    roll[3, 39] = 1  # struck again after a rest
    roll[1:4, 43] = 1
    notes = [(note.pitch, note.start, note.end) for note in roll_to_score(roll).notes]
    assert notes == [(60, 0.0, 1.0), (64, 0.5, 2.0), (60, 1.5, 2.0)]


@pytest.mark.parametrize("writer, suffix", [(write_mat, ".mat"), (write_pickle, ".pkl")])
def test_benchmark_files_keep_their_published_splits_and_rolls(tmp_path, writer, suffix):
    rolls = benchmark_rolls()
    path = writer(str(tmp_path / f"JSB Chorales{suffix}"), rolls)
    dataset = load_dataset(path, PianoRoll(steps_per_quarter=1), seed=123)
    for split in ("train", "valid", "test"):
        encoded = dataset.split(split)
        assert len(encoded) == len(rolls[split])
        for original, roll in zip(rolls[split], encoded):
            # The encoded roll ends with the last note; the published one may end in silence.
            np.testing.assert_array_equal(roll, original[: len(roll)])
            assert not original[len(roll) :].any()
    assert dataset.train.metadata[0]["style"] == "jsb_chorales"
    assert dataset.train.metadata[0]["name"] == "train/0000"


def test_benchmark_file_without_splits_is_a_data_source_error(tmp_path):
    path = write_mat(str(tmp_path / "odd.mat"), {"train": benchmark_rolls()["train"]})
    with pytest.raises(DataSourceError, match="no 'valid' split"):
        open_source(path).entries()


def test_music21_corpora_carry_their_style():
    bach = read_scores("bach", max_files=1).pieces[0]
    assert bach.name == "bwv1.6" and bach.score.metadata["style"] == "bach" and len(bach.score.notes) > 100
    # Essen files are anthologies: each tune is one piece, named file#number; a few tunes come from
    # different anthologies, not all from the first one.
    essen = read_scores("essen", max_files=2).pieces
    assert [piece.name for piece in essen] == ["altdeu10#1", "altdeu20#1"]
    assert essen[0].score.metadata["style"] == "essen"
    assert essen[0].score.notes != essen[1].score.notes


def test_a_tune_budget_spans_every_essen_anthology():
    names = [entry.name for entry in open_source("essen", max_files=40).entries()]
    anthologies = {name.split("#")[0] for name in names}
    assert len(names) == 40 and len(anthologies) == 27  # music21's 27 Essen anthologies, its test files left out
    assert names[:3] == ["altdeu10#1", "altdeu20#1", "ballad10#1"]
    assert names[27] == "altdeu10#2"  # the second round starts again at the first anthology
    everything = open_source("essen").entries()
    assert everything[0].name == "altdeu10#1" and everything[1].name == "altdeu10#2"  # the whole corpus in file order
    assert [entry.name for entry in open_source("essen", max_files=10**6).entries()] == [e.name for e in everything]


def test_a_comma_separated_source_reads_every_part_with_its_own_style(tmp_path):
    write_tunes(tmp_path / "first", ["one", "two", "three"], subfolder="jazz")
    write_tunes(tmp_path / "second", ["one", "two"], subfolder="folk")
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    combined = open_source(f"{first}, {second}", max_files=2)  # max_files bounds each part
    collection = read_scores(combined)
    assert [piece.name for piece in collection.pieces] == [
        f"{first}/jazz/one.mid",
        f"{first}/jazz/three.mid",
        f"{second}/folk/one.mid",
        f"{second}/folk/two.mid",
    ]
    assert [piece.score.metadata["style"] for piece in collection.pieces] == ["jazz", "jazz", "folk", "folk"]
    assert combined.fingerprint() != open_source(first).fingerprint()
    with pytest.raises(DataSourceError, match="list each source once"):
        open_source(f"{first},{first}")
    with pytest.raises(DataSourceError, match="unknown data source 'mozart'"):
        open_source(f"{first},mozart")
