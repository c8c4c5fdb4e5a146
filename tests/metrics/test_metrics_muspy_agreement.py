"""The MusPy-named metrics against MusPy itself, on MIDI files both libraries read.

Every file is written with musickit.write_midi and read back twice: by
musickit.read_midi and by muspy.read_midi. Where the definitions are the same
the values must agree to 1e-6; where musickit deliberately differs (see the
docstrings of musickit.metrics.pitch, .texture and .rhythm) the test pins the
documented difference. benchmarks/muspy_agreement.py runs the same comparison
over whole corpora.
"""

import math

import numpy as np
import pytest
from conftest import make_notes

from musickit.metrics.evaluation import MUSPY_METRICS
from musickit.music.midi_io import read_midi, write_midi
from musickit.music.score import Score, TempoChange, TimeSignature

muspy = pytest.importorskip("muspy")

SAME_DEFINITION = (
    "pitch_range",
    "n_pitches_used",
    "n_pitch_classes_used",
    "pitch_entropy",
    "pitch_class_entropy",
    "scale_consistency",
    "polyphony",
    "polyphony_rate",
    "drum_pattern_consistency",
)


def random_piece(seed, numerator=4, drums=True, triplets=False, tempo_change=False):
    """Several parts of random notes on a sixteenth (or triplet) grid, rests and chords included."""
    rng = np.random.default_rng(seed)
    grid = 1 / 3 if triplets else 1 / 4  # quarters
    seconds_per_quarter = 0.5
    notes = []
    for part, (low, high) in enumerate([(36, 55), (55, 79), (48, 72)]):
        position = float(rng.integers(0, 4)) * grid  # some parts enter late
        while position < 8 * numerator:
            length = int(rng.integers(1, 9)) * grid
            if rng.uniform() < 0.8:  # otherwise a rest
                start, end = position * seconds_per_quarter, (position + length) * seconds_per_quarter
                notes += make_notes([(int(rng.integers(low, high)), 80, start, end)], program=part, instrument=part)
            position += length
    if drums:  # hits on the sixteenth grid, the triplet grid and, now and then, neither (1/24 of a quarter)
        for tick in range(8 * numerator * 24):
            on_sixteenth, on_triplet = tick % 6 == 0, tick % 8 == 0
            chance = 0.3 if on_sixteenth or on_triplet else 0.01
            if rng.uniform() < chance:
                start = tick / 24 * seconds_per_quarter
                notes += make_notes(
                    [(int(rng.choice([36, 38, 42])), 100, start, start + 0.05)], is_drum=True, instrument=9
                )
    tempos = [TempoChange(0.0, 120.0)] + ([TempoChange(6.0, 90.0)] if tempo_change else [])
    if tempo_change:  # keep the notes in quarters: stretch everything after 6 s (quarter 12) to 90 qpm
        for note in notes:
            for attribute in ("start", "end"):
                time = getattr(note, attribute)
                if time > 6.0:
                    setattr(note, attribute, 6.0 + (time - 6.0) * 120.0 / 90.0)
    return Score(notes=notes, tempos=tempos, time_signatures=[TimeSignature(0.0, numerator, 4)])


def bach_chorales(count):
    from music21 import corpus

    from musickit.music.music21_io import from_music21

    paths = [path for path in corpus.getComposer("bach") if path.suffix == ".mxl"][:count]
    return [from_music21(corpus.parse(path)) for path in paths]


def varied_scores():
    pieces = {f"chorale_{index}": score for index, score in enumerate(bach_chorales(3))}
    pieces["random_drums"] = random_piece(0)
    pieces["random_triplets_in_3_4"] = random_piece(1, numerator=3, triplets=True)
    pieces["random_tempo_change"] = random_piece(2, tempo_change=True)
    pieces["random_no_drums"] = random_piece(3, drums=False)
    pieces["drums_only"] = Score(
        notes=make_notes([(36, 100, 0.25 * i, 0.25 * i + 0.1) for i in range(16)], is_drum=True)
    )
    pieces["single_note"] = Score(notes=make_notes([(60, 90, 0.5, 1.0)]))
    pieces["beat_rest"] = Score(notes=make_notes([(60, 90, 0.0, 0.5), (62, 90, 1.0, 1.5)]))  # crotchet, rest, crotchet
    return pieces


@pytest.fixture(scope="module")
def both_readings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("muspy")
    readings = {}
    for name, score in varied_scores().items():
        path = str(folder / f"{name}.mid")
        write_midi(score, path)
        readings[name] = (read_midi(path), muspy.read_midi(path))
    return readings


def muspy_value(name, music):
    if name == "groove_consistency":  # MusPy wants the bar length in ticks
        return muspy.groove_consistency(music, 4 * music.resolution)
    return getattr(muspy, name)(music)


def test_same_definitions_agree_to_1e_6(both_readings):
    compared = 0
    for piece, (ours, theirs) in both_readings.items():
        for name in SAME_DEFINITION:
            if name == "pitch_range" and piece == "drums_only":
                continue  # the documented difference, pinned below
            mine, reference = float(MUSPY_METRICS[name](ours)), float(muspy_value(name, theirs))
            if math.isnan(reference):
                assert math.isnan(mine), (piece, name)
            else:
                assert mine == pytest.approx(reference, abs=1e-6), (piece, name)
            compared += 1
    assert compared == len(both_readings) * len(SAME_DEFINITION) - 1


def test_pitch_range_of_a_drums_only_piece(both_readings):
    ours, theirs = both_readings["drums_only"]
    assert MUSPY_METRICS["pitch_range"](ours) == 0
    assert muspy.pitch_range(theirs) == -127  # MusPy's running min/max never move


def test_empty_beat_rate_counts_half_open_beats(both_readings):
    ours, theirs = both_readings["beat_rest"]
    assert MUSPY_METRICS["empty_beat_rate"](ours) == pytest.approx(1 / 3)
    assert muspy.empty_beat_rate(theirs) == 0.0  # the first note "fills" the beat it ends on
    # MusPy fills a superset of beats and may count one more beat, so it never reports more empty beats.
    for piece, (ours, theirs) in both_readings.items():
        mine, reference = MUSPY_METRICS["empty_beat_rate"](ours), muspy.empty_beat_rate(theirs)
        assert reference <= mine + 1e-9, piece
    ours, theirs = both_readings["chorale_1"]  # no silent beat: the two agree
    assert MUSPY_METRICS["empty_beat_rate"](ours) == pytest.approx(muspy.empty_beat_rate(theirs), abs=1e-6)


def test_groove_consistency_equals_muspy_on_our_grid_and_not_on_ticks(both_readings):
    ours, theirs = both_readings["random_no_drums"]  # 4/4, no pickup, ends inside its last bar
    mine = MUSPY_METRICS["groove_consistency"](ours)
    on_grid = muspy.adjust_resolution(theirs.deepcopy(), 4)  # four steps per quarter (it works in place)
    assert mine == pytest.approx(muspy.groove_consistency(on_grid, 16), abs=1e-6)
    # With the file's ticks MusPy compares 1,920 tick positions per bar and sits near 1.
    assert muspy.groove_consistency(theirs, 4 * theirs.resolution) > 0.99 > mine
