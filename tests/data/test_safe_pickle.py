"""Benchmark pickles are read without running code; unfinished ``.partial`` files are never data."""

import os
import pickle

import numpy as np
import pytest

from musickit import cli
from musickit.data.sources import load_benchmark_rolls, open_source, read_scores
from musickit.errors import DataSourceError, MusickitError
from musickit.music import Note, Score, write_midi


class RunsACommand:
    """What an attacker pickles: unpickling calls ``os.system(...)``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def crafted(tmp_path, name="evil.pkl"):
    marker = tmp_path / "pwned"
    path = tmp_path / name
    path.write_bytes(pickle.dumps({"train": [RunsACommand(marker)], "valid": [], "test": []}, protocol=2))
    return path, marker


def test_a_crafted_pickle_is_refused_in_one_line_and_runs_nothing(tmp_path):
    path, marker = crafted(tmp_path)
    with pytest.raises(DataSourceError) as error:
        load_benchmark_rolls(path)
    message = str(error.value)
    assert len(message.splitlines()) == 1 and "refused to unpickle" in message and "system" in message
    with pytest.raises(MusickitError):
        read_scores(str(path))
    assert not marker.exists()


def test_evaluate_reference_refuses_a_crafted_pickle(tmp_path, capsys):
    path, marker = crafted(tmp_path, "reference.pickle")
    samples = tmp_path / "samples"
    samples.mkdir()
    write_midi(Score(notes=[Note(60, 80, 0.0, 1.0), Note(64, 80, 1.0, 2.0)]), samples / "a.mid")
    assert cli.main(["evaluate", str(samples), "--reference", str(path), "--no-cache"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "refused to unpickle" in error
    assert not marker.exists()


def test_the_published_pickle_layout_still_reads(tmp_path):
    # Lists of frames of sounding pitches (the published files), and a variant with numpy arrays.
    lists = {"train": [[[60, 64], [62]], [[21]]], "valid": [[[108]]], "test": [[(60, 67)]]}
    arrays = {"train": [np.array([[60, 64], [62, 65]])], "valid": [np.array([[60]])], "test": [[{61}]]}
    for name, content in (("lists.pkl", lists), ("arrays.pickle", arrays)):
        (tmp_path / name).write_bytes(pickle.dumps(content, protocol=2))
        rolls = load_benchmark_rolls(tmp_path / name)
        assert {split: len(value) for split, value in rolls.items()} == {
            "train": len(content["train"]),
            "valid": 1,
            "test": 1,
        }
    first = load_benchmark_rolls(tmp_path / "lists.pkl")["train"][0]
    assert first.shape == (2, 88) and np.flatnonzero(first[0]).tolist() == [60 - 21, 64 - 21]


def test_unfinished_partial_files_are_not_data(tmp_path):
    write_midi(Score(notes=[Note(60, 80, 0.0, 1.0)]), tmp_path / "song.mid")
    write_midi(Score(notes=[Note(62, 80, 0.0, 1.0)]), tmp_path / ".other.k3j2.partial.mid")  # complete, but unfinished
    assert [entry.name for entry in open_source(str(tmp_path)).entries()] == ["song.mid"]
