"""Polyphony, density and empty beats against hand-computed values, in musical (not clock) time."""

import math

import pytest
from conftest import make_notes, make_score

from musickit.metrics.texture import empty_beat_rate, note_density, polyphony, polyphony_rate
from musickit.metrics.timeline import note_times
from musickit.music.score import Score, TempoChange


def chord_then_drum(qpm=120.0):
    """In quarters: C [0, 2), E [0, 1), G [1, 2), B [0, 0.5), C again in a second part, a drum at [3, 4)."""
    beat = 60.0 / qpm
    score = make_score(
        [(60, 90, 0, 2 * beat), (64, 90, 0, beat), (67, 90, beat, 2 * beat), (71, 90, 0, 0.5 * beat)], qpm
    )
    score.notes += make_notes([(60, 90, 0, 2 * beat)], instrument=1)
    score.notes += make_notes([(36, 100, 3 * beat, 4 * beat)], is_drum=True)
    return score


def test_polyphony_counts_each_key_once_and_ignores_drums():
    # Key time: C 2 + E 1 + G 1 + B 0.5 = 4.5 quarters over 2 sounding quarters.
    assert polyphony(chord_then_drum()) == pytest.approx(2.25)


def test_polyphony_rate_counts_more_than_threshold_keys_over_the_whole_piece():
    score = chord_then_drum()  # 4 quarters long because of the drum
    assert polyphony_rate(score) == pytest.approx(0.5 / 4)  # three keys only during [0, 0.5)
    assert polyphony_rate(score, threshold=1) == pytest.approx(2 / 4)
    assert polyphony_rate(score, threshold=0) == pytest.approx(2 / 4)


def test_tempo_does_not_change_texture_metrics():
    slow, fast = chord_then_drum(60.0), chord_then_drum(150.0)
    for metric in (polyphony, polyphony_rate, note_density, empty_beat_rate):
        assert metric(slow) == pytest.approx(metric(fast))


def test_tempo_changes_are_followed():
    # 120 qpm for the first second (2 quarters), then 60 qpm: a note at 2.0 s starts on quarter 3.
    score = Score(
        notes=make_notes([(60, 90, 0.0, 0.5), (62, 90, 2.0, 3.0)]), tempos=[TempoChange(0, 120), TempoChange(1.0, 60)]
    )
    times = note_times(score)
    assert times.start.tolist() == [0.0, 3.0] and times.end.tolist() == [1.0, 4.0]
    assert empty_beat_rate(score) == pytest.approx(0.5)  # beats 1 and 2 of 0..3 are silent


def test_note_density_is_pitched_notes_per_sixteenth():
    # 5 pitched notes over 4 quarters = 16 sixteenth steps.
    assert note_density(chord_then_drum()) == pytest.approx(5 / 16)
    assert note_density(chord_then_drum(), steps_per_quarter=2) == pytest.approx(5 / 8)


def test_empty_beat_rate_uses_half_open_beats():
    # crotchet, crotchet rest, crotchet: one empty beat in three. MusPy 0.5 says 0.0 because it also
    # marks the beat a note ends on.
    score = make_score([(60, 90, 0.0, 0.5), (62, 90, 1.0, 1.5)])
    assert empty_beat_rate(score) == pytest.approx(1 / 3)
    held = make_score([(60, 90, 0.0, 1.5)])  # one note over three beats
    assert empty_beat_rate(held) == 0.0


def test_empty_and_drum_only_pieces():
    empty = Score()
    assert all(math.isnan(metric(empty)) for metric in (polyphony, polyphony_rate, note_density, empty_beat_rate))
    drums = Score(notes=make_notes([(36, 100, 0.0, 0.25), (38, 100, 1.0, 1.25)], is_drum=True))
    assert math.isnan(polyphony(drums))
    assert polyphony_rate(drums) == 0.0 and note_density(drums) == 0.0
    assert empty_beat_rate(drums) == pytest.approx(1 / 3)  # drums fill beats too
