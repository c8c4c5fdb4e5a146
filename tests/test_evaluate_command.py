"""``musickit evaluate``: comparison table, one JSON object, HTML report, run folders, odd files, one-line errors."""

import json
import re
import struct

import pytest
from conftest import make_notes
from metrics.synthetic_music import chorale, chorales

from musickit.cli import main
from musickit.music.midi_io import write_midi
from musickit.music.score import Marker, Note, Score


def strict_json(text):
    """json.loads that refuses NaN and Infinity, as any other JSON reader would."""

    def refuse(constant):
        raise ValueError(f"invalid JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def folders(tmp_path):
    generated, reference = tmp_path / "generated", tmp_path / "reference"
    for index, piece in enumerate(chorales(3, first_seed=50)):
        write_midi(piece, generated / f"sample_{index}.mid")
    write_midi(
        Score(notes=make_notes([(36, 100, 0.25 * i, 0.25 * i + 0.1) for i in range(8)], is_drum=True)),
        generated / "drums.mid",
    )
    (generated / "broken.mid").write_bytes(b"not midi at all")
    for index, piece in enumerate(chorales(14, first_seed=0)):
        write_midi(piece, reference / f"piece_{index}.mid")
    return generated, reference


def test_table_shows_every_set_and_the_mean_overlap(folders, capsys):
    generated, reference = folders
    assert main(["evaluate", str(generated), "--reference", str(reference)]) == 0
    captured = capsys.readouterr()
    assert "4 generated pieces" in captured.out and "held-out pieces of" in captured.out
    assert re.search(
        r"^feature\s+generated\s+held-out\s+random floor\s+Markov floor\s+ceiling\s+overlap\s+verdict",
        captured.out,
        re.MULTILINE,
    )
    assert re.search(r"^semitone_clash_fraction\s+\S+ \(\S+\)\s+\S+\s+\S+ \(\S+\)", captured.out, re.MULTILINE)
    assert re.search(r"^mean overlap\s+\d\.\d\d", captured.out, re.MULTILINE)
    assert "note: drums.mid: drums only" in captured.out
    assert "skipped broken.mid: not a MIDI file (no MThd header)" in captured.err


def test_json_is_one_valid_object_with_the_comparison(folders, capsys):
    generated, reference = folders
    assert main(["evaluate", str(generated), "--reference", str(reference), "--json"]) == 0
    captured = capsys.readouterr()
    result = strict_json(captured.out)  # stdout holds the object and nothing else
    assert sorted(result["files"]) == ["drums.mid", "sample_0.mid", "sample_1.mid", "sample_2.mid"]
    assert result["skipped"] == [{"file": "broken.mid", "reason": "not a MIDI file (no MThd header)"}]
    assert result["reference"]["source"] == str(reference) and result["reference"]["split"] == "test"
    assert result["reference"]["pieces"] >= 2 and result["reference"]["training_pieces"] >= 8
    drums = result["files"]["drums.mid"]
    assert drums["pitch_entropy"] is None and drums["semitone_clash_fraction"] is None
    assert result["files"]["sample_0.mid"]["max_polyphony"] == 4
    comparison = result["comparison"]
    assert set(comparison["mean_overlap"]) == {"generated", "random_notes", "markov", "ceiling"}
    for name in comparison["features"]:
        assert set(comparison["overlap"][name]) == {"generated", "random_notes", "markov", "ceiling"}
        assert comparison["verdict"][name]
    assert 0 <= result["set"]["yang_lerch"]["pitch_range"]["overlap_area"] <= 1


def test_report_shows_the_sets_side_by_side(folders, tmp_path, capsys):
    generated, reference = folders
    report = tmp_path / "report"
    arguments = ["evaluate", str(generated / "sample_0.mid"), "--reference", str(reference), "--report", str(report)]
    assert main(arguments + ["--metrics", "pitch_range,polyphony"]) == 0
    assert f"wrote {report / 'report.html'}" in capsys.readouterr().out
    page = (report / "report.html").read_text()
    images = re.findall(r"<img[^>]*src='([^']+)'", page)
    assert sum(image.startswith("sets_") for image in images) >= 10
    for image in images:
        assert (report / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Markov floor" in page and "semitone_clash_fraction" in page


def test_a_run_folder_gives_the_source_seed_and_primer(folders, tmp_path, capsys):
    _, reference = folders
    run = tmp_path / "run"
    primer = chorale(60, bars=2, seed=7)
    write_midi(primer, run / "primer.mid")
    for index, piece in enumerate(chorales(3, first_seed=60, bars=6)):
        shifted = [Note(n.pitch, n.velocity, n.start + 4.0, n.end + 4.0) for n in piece.notes]  # after 8 quarters
        write_midi(
            Score(notes=primer.notes + shifted, tempos=piece.tempos, time_signatures=piece.time_signatures),
            run / "samples" / f"sample_{index}.mid",
        )
    (run / "run.json").write_text(json.dumps({"model": "piano_roll_lstm", "data": str(reference), "seed": 3}))
    assert main(["evaluate", str(run / "samples"), "--json"]) == 0
    result = strict_json(capsys.readouterr().out)
    assert result["reference"]["source"] == str(reference) and result["reference"]["seed"] == 3
    assert result["comparison"]["primer_quarters"] == 8 and result["comparison"]["length_quarters"] == 24
    assert "key_drift" in result["comparison"]["features"]


def test_odd_files_give_numbers_or_nulls_and_header_only_files_a_reason(tmp_path, folders, capsys):
    _, reference = folders
    odd = tmp_path / "odd"
    write_midi(Score(notes=[Note(60, 90, 1 / 960, 0.5)], markers=[Marker(0.0, "A")]), odd / "off_grid_marker.mid")
    three_notes = Score(
        notes=[Note(60, 90, 0.0, 0.5), Note(62, 90, 0.5, 1.0), Note(64, 90, 1.0, 1.5)],
        markers=[Marker(0.0, "A"), Marker(0.5, "B"), Marker(1.0, "A")],
    )
    write_midi(three_notes, odd / "three_notes.mid")
    write_midi(Score(markers=[Marker(0.0, "A")]), odd / "markers_only.mid")
    (odd / "header_only.mid").write_bytes(b"MThd" + struct.pack(">IHHH", 6, 1, 0, 480))
    assert main(["evaluate", str(odd), "--reference", str(reference), "--json"]) == 0
    captured = capsys.readouterr()
    result = strict_json(captured.out)
    assert sorted(result["files"]) == ["markers_only.mid", "off_grid_marker.mid", "three_notes.mid"]
    assert result["skipped"][0]["file"] == "header_only.mid" and "header only" in result["skipped"][0]["reason"]
    assert "max() arg" not in captured.err


def test_a_tiny_reference_falls_back_to_all_its_pieces_with_a_warning(folders, capsys):
    generated, _ = folders
    assert main(["evaluate", str(generated / "sample_1.mid"), "--max-reference-files", "2", "--json"]) == 0
    captured = capsys.readouterr()
    assert strict_json(captured.out)["reference"] == {
        "source": "bach",
        "split": "all",
        "seed": 0,
        "pieces": 2,
        "training_pieces": 0,
        "run": None,
    }
    assert "comparing with all 2 pieces" in captured.err


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["{empty}"], "the folder has no .mid or .midi files"),
        (["{missing}"], "no such file or folder"),
        (["{broken_only}"], "none of its 1 MIDI files could be read"),
        (["{generated}", "--metrics", "loudness"], "unknown metric loudness"),
        (["{generated}", "--reference", "mozart"], "unknown data source 'mozart'"),
        (["{generated}", "--max-reference-files", "-1"], "--max-reference-files must be 0 (all) or a positive number"),
        (["{generated}", "--primer-quarters", "-2"], "--primer-quarters must be 0 or a positive number"),
        (["{generated}", "--seed", "-1"], "--seed -1: use a whole number"),
        (["{header_only}"], "header only"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(folders, tmp_path, capsys, arguments, message):
    generated, _ = folders
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken_only").mkdir()
    (tmp_path / "broken_only" / "bad.mid").write_bytes(b"MThd")
    (tmp_path / "header_only.mid").write_bytes(b"MThd" + struct.pack(">IHHH", 6, 1, 0, 480))
    paths = {
        "header_only": tmp_path / "header_only.mid",
        "empty": tmp_path / "empty",
        "missing": tmp_path / "nope",
        "broken_only": tmp_path / "broken_only",
        "generated": generated,
    }
    assert main(["evaluate"] + [argument.format(**paths) for argument in arguments]) == 2
    error_lines = capsys.readouterr().err.strip().splitlines()
    assert len(error_lines) == 1 and error_lines[0].startswith("musickit evaluate: error") and message in error_lines[0]
