"""Score, MIDI write/read round trips, tempo maps, quantization, keys, transposition, music21 import."""

import pytest
from conftest import make_notes, make_score

import musickit
from musickit.music import (
    KeySignature,
    Marker,
    Score,
    TempoChange,
    estimate_key,
    parse_key,
    quantize,
    read_midi,
    scale_pitch_classes,
    transpose,
    transposition_range,
    unquantize,
    write_midi,
)


def test_tempo_map_follows_tempo_changes():
    score = Score(tempos=[TempoChange(0.0, 120.0), TempoChange(1.0, 60.0)])
    # 1 s at 120 qpm is 2 quarters; then 1 quarter per second.
    assert score.seconds_to_quarters(1.0) == 2.0
    assert score.seconds_to_quarters(2.5) == 3.5
    assert score.quarters_to_seconds(3.5) == 2.5


def test_midi_round_trip_keeps_notes_tempi_signatures_and_markers(tmp_path):
    score = make_score([(60, 100, 0.0, 0.5), (64, 90, 0.5, 1.25)], numerator=3)
    score.tempos = [TempoChange(0.0, 120.0), TempoChange(1.0, 60.0)]
    score.key_signatures = [KeySignature(0.0, "D minor")]
    score.markers = [Marker(0.0, "A"), Marker(1.0, "B")]
    write_midi(score, tmp_path / "piece.mid")
    read = read_midi(tmp_path / "piece.mid")
    assert [(n.pitch, n.velocity, round(n.start, 6), round(n.end, 6)) for n in read.notes] == [
        (60, 100, 0.0, 0.5),
        (64, 90, 0.5, 1.25),
    ]
    assert [(t.time, t.qpm) for t in read.tempos] == [(0.0, 120.0), (1.0, 60.0)]
    assert [(s.numerator, s.denominator) for s in read.time_signatures] == [(3, 4)]
    assert [k.key for k in read.key_signatures] == ["D minor"]
    assert [(m.time, m.text) for m in read.markers] == [(0.0, "A"), (1.0, "B")]


def test_write_midi_leaves_no_partial_file(tmp_path):
    write_midi(make_score([(60, 80, 0.0, 1.0)]), tmp_path / "one.mid")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["one.mid"]


@pytest.mark.parametrize(
    "content, reason",
    [(b"", "empty file"), (b"RIFFxxxxWAVE", "RIFF file without a MIDI chunk"), (b"hello world", "no MThd header")],
)
def test_read_midi_errors_name_the_file_and_reason(tmp_path, content, reason):
    path = tmp_path / "bad.mid"
    path.write_bytes(content)
    with pytest.raises(musickit.MidiReadError, match=reason) as error:
        read_midi(path)
    assert str(path) in str(error.value)
    assert isinstance(error.value, ValueError)


def test_quantize_follows_tempo_and_lengthens_zero_length_notes():
    score = Score(
        notes=make_notes([(60, 80, 0.0, 1.0), (62, 80, 1.5, 1.5)]),
        tempos=[TempoChange(0.0, 120.0), TempoChange(1.0, 60.0)],
    )
    quantized = quantize(score, steps_per_quarter=4)
    # 1 s at 120 qpm = 8 steps; 0.5 s more at 60 qpm = 2 steps.
    assert [(n.start_step, n.end_step) for n in quantized.notes] == [(0, 8), (10, 11)]
    assert quantized.counts["lengthened_zero_length_notes"] == 1
    assert [round(note.start, 6) for note in unquantize(quantized).notes] == [0.0, 1.5]


def test_bars_follow_time_signatures_and_pickups():
    quantized = quantize(make_score([(60, 80, 0.0, 6.0)], numerator=3))  # 3/4 at 120 qpm, 48 steps
    assert quantized.bar_starts()[:3] == [0, 12, 24]
    assert quantized.position(13) == (1, 1)
    quantized.metadata["pickup_quarters"] = 1.0
    assert quantized.bar_starts()[:3] == [0, 4, 16]


def test_keys_and_scales():
    assert parse_key("Bb") == (10, "major")
    assert parse_key("c# minor") == (1, "minor")
    with pytest.raises(ValueError, match="not a key"):
        parse_key("H")
    assert sorted(scale_pitch_classes("A", "pentatonic")) == [1, 4, 6, 9, 11]
    c_major_scale = [
        (p, 80, i * 0.5, i * 0.5 + (1.0 if p in (60, 67) else 0.5))
        for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72, 67, 60])
    ]
    assert estimate_key(make_score(c_major_scale)) == "C major"


def test_transpose_moves_pitched_notes_and_keys_not_drums():
    score = make_score([(60, 80, 0.0, 1.0)])
    score.notes += make_notes([(36, 80, 0.0, 0.1)], is_drum=True)
    score.key_signatures = [KeySignature(0.0, "C major")]
    shifted = transpose(score, 3)
    assert [n.pitch for n in shifted.notes] == [63, 36]
    assert shifted.key_signatures[0].key == "Eb major"
    assert transposition_range([21, 100]) == (0, 8)


def test_from_music21_reads_a_bach_chorale():
    from music21 import corpus

    score = musickit.music.from_music21(corpus.parse("bach/bwv66.6"), style="bach")
    assert score.metadata["style"] == "bach"
    assert len({note.instrument for note in score.notes}) == 4  # SATB
    assert [t.qpm for t in score.tempos] == [96.0]
    assert score.key_signatures[0].key == "F# minor"
    assert score.metadata["pickup_quarters"] == 1.0


def test_modal_key_signatures_are_named_by_their_major_key():
    from music21 import key, note, stream

    part = stream.Part()
    part.append(key.Key("E", "dorian"))
    part.append(note.Note("E4"))
    score = stream.Score()
    score.insert(0, part)
    assert [k.key for k in musickit.music.from_music21(score).key_signatures] == ["D major"]


def test_unquantize_holds_the_first_tempo_from_step_zero():
    from musickit.music.quantization import QuantizedNote, QuantizedScore

    quantized = QuantizedScore([QuantizedNote(60, 80, 0, 4)], 4, 8, tempos=[(4, 60.0)], time_signatures=[(0, 4, 4)])
    score = unquantize(quantized)
    assert score.notes[0].start == 0.0 and score.notes[0].end == 1.0  # one quarter at 60 qpm
    assert score.time_signatures[0].time == 0.0
