"""The issue-17 features on tiny scores with hand-computed values, and odd files that must not crash them."""

import math

import numpy as np
import pytest
from conftest import make_score

from musickit.metrics.corpus import piece_features
from musickit.metrics.features import (
    duplicate_note_fraction,
    empty_bar_fraction,
    estimate_key_fast,
    inter_onset_histogram,
    key_distance,
    key_drift,
    longest_pitch_stretch,
    max_polyphony,
    mean_inter_onset_interval,
    note_length_histogram,
    offbeat_sixteenth_fraction,
    onset_metrical_levels,
    semitone_clash_fraction,
    silence_fraction,
    voice_count_distribution,
    voice_count_fraction,
    voice_range,
)
from musickit.music.keys import estimate_key
from musickit.music.score import Marker, Note, Score

# At 120 qpm one quarter is 0.5 s, so tuples below are (pitch, velocity, start_s, end_s) = quarters / 2.


def test_semitone_clash_fraction_counts_minor_seconds_and_ninths_over_sounding_time():
    # Quarters 0-2: C alone; 2-3: C with C# (minor 2nd); 3-4: C with Db an octave up (minor 9th);
    # 4-5 silence (not sounding time); 5-6: C with D (a major 2nd, not a clash).
    score = make_score(
        [(60, 90, 0.0, 2.0), (61, 90, 1.0, 1.5), (73, 90, 1.5, 2.0), (60, 90, 2.5, 3.0), (62, 90, 2.5, 3.0)]
    )
    assert semitone_clash_fraction(score) == pytest.approx(2 / 5)


def test_voice_counts_and_maximum_polyphony():
    # Quarters 0-1: 1 key; 1-2: 4 keys; 2-3: 2 keys (two tracks on one key count once).
    score = make_score(
        [
            (60, 90, 0.0, 1.5),
            (64, 90, 0.5, 1.0),
            (67, 90, 0.5, 1.0),
            (72, 90, 0.5, 1.0),
            (60, 90, 1.0, 1.5),
            (55, 90, 1.0, 1.5),
        ]
    )
    distribution = voice_count_distribution(score, max_voices=4)
    assert distribution.tolist() == pytest.approx([1 / 3, 1 / 3, 0.0, 1 / 3])
    assert voice_count_fraction(score, 4) == pytest.approx(1 / 3)
    assert max_polyphony(score) == 4


def test_onset_levels_by_metrical_position_and_a_note_one_tick_off_the_grid():
    # Onsets in quarters: 0 (beat), 1.5 (8th), 2.25 and 2.75 (16ths), 3.1 (finer), 4 + 1/480 (beat, a tick late).
    starts = [0.0, 1.5, 2.25, 2.75, 3.1, 4.0 + 1 / 480]
    score = make_score([(60, 90, q / 2, q / 2 + 0.1) for q in starts])
    assert onset_metrical_levels(score).tolist() == pytest.approx([2 / 6, 1 / 6, 2 / 6, 1 / 6])
    assert offbeat_sixteenth_fraction(score) == pytest.approx(2 / 6)


def test_duplicates_silence_and_empty_bars():
    # Two bars of 4/4 and a third: bar 2 (quarters 4-8) has no onset; quarters 2-4 and 4-8 are silent.
    score = make_score([(60, 90, 0.0, 1.0), (60, 70, 0.0, 0.5), (64, 90, 0.0, 1.0), (67, 90, 4.0, 5.0)])
    assert duplicate_note_fraction(score) == pytest.approx(1 / 4)
    assert silence_fraction(score) == pytest.approx(6 / 10)
    assert empty_bar_fraction(score) == pytest.approx(1 / 3)


def test_inter_onset_and_note_length_histograms_in_quarters():
    # Onsets at quarters 0, 0.5, 1, 3 (a chord at 0): intervals 0.5, 0.5, 2.
    score = make_score(
        [(60, 90, 0.0, 0.25), (64, 90, 0.0, 0.5), (62, 90, 0.25, 0.5), (64, 90, 0.5, 1.5), (65, 90, 1.5, 3.5)]
    )
    assert inter_onset_histogram(score).tolist() == pytest.approx([0, 2 / 3, 0, 0, 0, 1 / 3, 0, 0])
    assert mean_inter_onset_interval(score) == pytest.approx(1.0)
    # Lengths 0.5, 1, 0.5, 2, 4 quarters.
    assert note_length_histogram(score).tolist() == pytest.approx([0, 2 / 5, 0, 1 / 5, 0, 1 / 5, 0, 1 / 5])


def test_longest_pitch_stretch_sees_a_drone_and_voice_range_the_corpus_voices():
    # Quarters: C struck 8 times in eighths from 0 to 4 (one stretch of 4), E 0-2 and again 3-4 after a rest, G 0-1.
    notes = [(60, 90, q / 4, q / 4 + 0.25) for q in range(8)] + [(64, 90, 0.0, 1.0), (64, 90, 1.5, 2.0)]
    drone = make_score(notes + [(67, 90, 0.0, 0.5)])
    assert longest_pitch_stretch(drone) == pytest.approx(4.0)
    assert note_length_histogram(drone)[0] == 0  # its notes are short: only the stretch shows the drone
    chorale = make_score([(pitch, 90, 0.0, 2.0) for pitch in (48, 55, 64, 72)])  # four voices all the time
    tune = make_score([(60 + step, 90, step / 2, step / 2 + 0.5) for step in range(4)])  # one voice
    assert voice_range([chorale]) == (4, 4) and voice_range([tune]) == (1, 1)
    assert voice_range([chorale, tune]) == (1, 4)  # half the time one voice: the floor falls, the cap stays


def test_key_drift_and_the_fast_key_estimate():
    c_major = make_score([(p, 90, i * 0.5, i * 0.5 + 0.5) for i, p in enumerate([60, 64, 67, 72, 67, 64, 60, 65])])
    f_sharp = make_score([(p + 6, 90, i * 0.5, i * 0.5 + 0.5) for i, p in enumerate([60, 64, 67, 72, 67, 64, 60])])
    drift = key_drift(c_major, f_sharp)
    assert drift["primer_key"] == "C major" and drift["continuation_key"] == "F# major"
    assert drift["fifths"] == 6 and drift["same_key"] is False
    assert key_distance("A minor", "C major") == 0 and key_distance("E minor", "D major") == 1
    rng = np.random.default_rng(0)
    for _ in range(50):
        pairs = zip(rng.integers(48, 84, 12), rng.random(12) * 8)
        notes = [Note(int(pitch), 90, float(start), float(start) + 1.0) for pitch, start in pairs]
        assert estimate_key_fast(Score(notes=notes)) == estimate_key(Score(notes=notes))


ODD_SCORES = {
    "empty": Score(),
    "one note": make_score([(60, 90, 0.0, 0.5)]),
    "markers only": Score(markers=[Marker(0.0, "A"), Marker(1.0, "B")]),
    "off grid with a marker": Score(notes=[Note(60, 90, 1 / 960, 0.5)], markers=[Marker(0.0, "A")]),
    "three notes, two sections": Score(
        notes=[Note(60, 90, 0.001, 0.5), Note(62, 90, 0.501, 1.0), Note(64, 90, 1.0, 1.5)],
        markers=[Marker(0.0, "A"), Marker(0.5, "B"), Marker(1.0, "A")],
    ),
    "drums only": Score(notes=[Note(36, 90, 0.0, 0.1, is_drum=True)]),
}


@pytest.mark.parametrize("name", sorted(ODD_SCORES))
def test_odd_scores_give_numbers_or_nan_never_a_crash(name):
    values = piece_features(ODD_SCORES[name], usual_voices=4, primer=ODD_SCORES[name])
    for feature, value in values.items():
        array = np.asarray(value, dtype=float)
        assert array.size and (np.isnan(array).all() or np.isfinite(array).all()), feature
    if name in ("empty", "markers only", "drums only"):
        assert math.isnan(values["semitone_clash_fraction"]) and values["max_polyphony"] == 0
