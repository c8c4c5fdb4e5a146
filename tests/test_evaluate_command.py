"""``musickit evaluate``: table, JSON, HTML report, and one-line errors for bad input."""

import json
import re

import pytest
from conftest import make_notes, make_score

from musickit.cli import main
from musickit.music.midi_io import write_midi
from musickit.music.score import Score


def melody(tonic, bars=4):
    steps = [0, 2, 4, 5, 7, 5, 4, 2]
    return make_score(
        [(tonic + steps[i % 8], 90, i * 0.25, i * 0.25 + 0.25) for i in range(bars * 8)]
        + [(tonic - 12, 70, bar * 2.0, bar * 2.0 + 2.0) for bar in range(bars)]
    )


@pytest.fixture
def folders(tmp_path):
    generated, reference = tmp_path / "generated", tmp_path / "reference"
    for index, tonic in enumerate((60, 62, 67)):
        write_midi(melody(tonic), generated / f"sample_{index}.mid")
    write_midi(
        Score(notes=make_notes([(36, 100, 0.25 * i, 0.25 * i + 0.1) for i in range(8)], is_drum=True)),
        generated / "drums.mid",
    )
    (generated / "broken.mid").write_bytes(b"not midi at all")
    for index, tonic in enumerate((57, 59, 60, 62, 64)):
        write_midi(melody(tonic, bars=6), reference / f"piece_{index}.mid")
    return generated, reference


def test_table_with_notes_and_skipped_files(folders, capsys):
    generated, reference = folders
    assert main(["evaluate", str(generated), "--reference", str(reference)]) == 0
    captured = capsys.readouterr()
    assert "4 generated pieces vs 5 pieces of" in captured.out
    assert re.search(r"^pitch_range\s+\S+ ± \S+\s+\S+ ± \S+", captured.out, re.MULTILINE)
    assert "note: drums.mid: drums only" in captured.out
    assert "skipped broken.mid: not a MIDI file (no MThd header)" in captured.err


def test_json_is_one_object_with_files_and_set_level_results(folders, capsys):
    generated, reference = folders
    assert main(["evaluate", str(generated), "--reference", str(reference), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert sorted(result["files"]) == ["drums.mid", "sample_0.mid", "sample_1.mid", "sample_2.mid"]
    assert result["skipped"] == [{"file": "broken.mid", "reason": "not a MIDI file (no MThd header)"}]
    assert result["reference"] == {"source": str(reference), "pieces": 5}
    drums = result["files"]["drums.mid"]
    assert drums["pitch_entropy"] is None and drums["undefined"]["pitch_entropy"] == "no pitched notes"
    assert result["files"]["sample_0.mid"]["pitch_range"] == 19
    assert set(result["set"]) == {"metrics", "pitch_class_profiles", "yang_lerch", "diversity", "mode_collapse"}
    assert 0 <= result["set"]["yang_lerch"]["pitch_range"]["overlap_area"] <= 1
    assert result["statistics"]["reference"]["pitch_range"]["count"] == 5


def test_report_holds_every_picture_it_shows(folders, tmp_path, capsys):
    generated, reference = folders
    report = tmp_path / "report"
    arguments = ["evaluate", str(generated / "sample_0.mid"), "--reference", str(reference), "--report", str(report)]
    assert main(arguments + ["--metrics", "pitch_range,polyphony,pitch_class_histogram_distance"]) == 0
    assert f"wrote {report / 'report.html'}" in capsys.readouterr().out
    page = (report / "report.html").read_text()
    images = re.findall(r"<img[^>]*src='([^']+)'", page)
    assert len(images) >= 6  # profiles, 3 histograms, distance curves, one piano roll
    for image in images:
        assert (report / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "pitch_class_histogram_distance" in page and "sample_0.mid" in page


def test_reference_from_a_music21_corpus(folders, capsys):
    generated, _ = folders
    assert main(["evaluate", str(generated / "sample_1.mid"), "--max-reference-files", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reference"] == {"source": "bach", "pieces": 2}


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["{empty}"], "the folder has no .mid or .midi files"),
        (["{missing}"], "no such file or folder"),
        (["{broken_only}"], "none of its 1 MIDI files could be read"),
        (["{generated}", "--metrics", "loudness"], "unknown metric loudness"),
        (["{generated}", "--reference", "mozart"], "unknown data source 'mozart'"),
        (["{generated}", "--max-reference-files", "-1"], "--max-reference-files must be 0 (all) or a positive number"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(folders, tmp_path, capsys, arguments, message):
    generated, _ = folders
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken_only").mkdir()
    (tmp_path / "broken_only" / "bad.mid").write_bytes(b"MThd")
    paths = {
        "empty": tmp_path / "empty",
        "missing": tmp_path / "nope",
        "broken_only": tmp_path / "broken_only",
        "generated": generated,
    }
    assert main(["evaluate"] + [argument.format(**paths) for argument in arguments]) == 2
    error_lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("musickit evaluate: error")]
    assert len(error_lines) == 1 and message in error_lines[0]
