"""benchmarks/music_quality.py at its smallest size: a table and one final JSON object."""

import json
import os
import sys

import pytest
from synthetic_music import chorales

from musickit.music.midi_io import write_midi

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import music_quality  # noqa: E402


@pytest.fixture
def reference(tmp_path):
    folder = tmp_path / "reference"
    for index, piece in enumerate(chorales(14, first_seed=0, bars=4)):
        write_midi(piece, folder / f"piece_{index}.mid")
    return folder


@pytest.mark.parametrize("kind", ["held-out", "random"])
def test_baseline_at_its_smallest_size(reference, capsys, kind):
    arguments = ["--baseline", kind, "--reference", str(reference), "--pieces", "2", "--bars", "2", "--json"]
    assert music_quality.main(arguments) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("## Music quality: 2 ")
    assert any(
        line.startswith("| feature | generated | held-out | random floor | Markov floor | ceiling |") for line in lines
    )
    result = json.loads(lines[-1])
    assert set(result["mean_overlap"]) == {"generated", "random_notes", "markov", "ceiling"}
    assert result["comparison"]["length_quarters"] == 8


def test_a_run_folder_without_samples_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert music_quality.main(["--run", str(tmp_path)]) == 2
    assert "has no samples/ folder" in capsys.readouterr().err
