"""Tonal stability, harmonic coherence, repetition and section similarity."""

import math

import numpy as np
import pytest
from conftest import make_score

from musickit.metrics.form import label_family, section_contrast, section_similarity
from musickit.metrics.repetition import repeated_bar_ratio, repeated_frame_ratio
from musickit.metrics.tonality import harmonic_coherence, tonal_stability
from musickit.metrics.undefined import collecting_reasons
from musickit.music.score import Marker, Score

BAR = 2.0  # seconds per 4/4 bar at 120 qpm


def arpeggio_bars(triad, first_bar, count):
    """``count`` bars of the triad as eighth notes, root doubled an octave up."""
    pitches = list(triad) + [triad[0] + 12]
    return [
        (pitches[step % 4], 90, (first_bar * 8 + bar * 8 + step) * 0.25, (first_bar * 8 + bar * 8 + step + 1) * 0.25)
        for bar in range(count)
        for step in range(8)
    ]


def test_tonal_stability_is_the_share_of_windows_in_the_piece_key():
    # Six bars of C major, two of F# major; two-bar windows one bar apart: 7 windows, 5 all C, 1 mixed, 1 all F#.
    score = make_score(arpeggio_bars((60, 64, 67), 0, 6) + arpeggio_bars((66, 70, 73), 6, 2))
    assert 5 / 7 - 1e-9 <= tonal_stability(score) <= 6 / 7 + 1e-9
    assert tonal_stability(make_score(arpeggio_bars((60, 64, 67), 0, 8))) == 1.0
    with collecting_reasons() as reasons:
        assert math.isnan(tonal_stability(Score()))
    assert reasons == ["no pitched notes"]


def test_harmonic_coherence_by_beat():
    # Beat 1: a C major triad. Beat 2: the triad plus a passing D for half the beat: 3 of 3.5 quarter-beats fit.
    chord = [(p, 90, 0.0, 1.0) for p in (60, 64, 67)]
    score = make_score(chord + [(62, 90, 0.5, 0.75)])
    assert harmonic_coherence(score) == pytest.approx((1 + 3 / 3.5) / 2)
    cluster = make_score([(p, 90, 0.0, 0.5) for p in range(60, 72)])  # all twelve pitch classes
    assert harmonic_coherence(cluster) == pytest.approx(3 / 12)


def test_repeated_bar_ratio():
    riff = [(60, 0.0), (64, 0.5), (67, 1.0)]
    notes = [(p, 90, bar * BAR + t, bar * BAR + t + 0.5) for bar in (0, 1, 3) for p, t in riff]  # bar 3 is empty
    notes += [(72, 90, 4 * BAR, 4 * BAR + 0.5)]
    # Non-empty bars: 1, 2, 4 and 5; bars 2 and 4 repeat bar 1.
    assert repeated_bar_ratio(make_score(notes)) == pytest.approx(2 / 4)


def test_repeated_frame_ratio_on_rolls_and_scores():
    roll = np.zeros((8, 88))
    roll[:4, 39] = 1
    roll[4:, [39, 43]] = 1
    assert repeated_frame_ratio(roll, lag=1) == pytest.approx(6 / 7)
    assert repeated_frame_ratio(roll, lag=4) == 0.0  # frames 4..7 (the chord) never equal frames 0..3
    looping = make_score([(60 + (step % 4), 90, step * 0.125, (step + 1) * 0.125) for step in range(64)])
    assert repeated_frame_ratio(looping) == 1.0  # every bar (16 steps) equals the previous one
    with collecting_reasons() as reasons:
        assert math.isnan(repeated_frame_ratio(np.zeros((0, 88))))
    assert reasons == ["empty piano roll"]


def form_piece(markers):
    a = [(60, 0.0), (64, 0.25), (67, 0.5), (64, 0.75), (60, 1.0), (62, 1.5)]
    a_variant = [(60, 0.0), (64, 0.25), (67, 0.5), (65, 0.75), (60, 1.0), (62, 1.5)]
    b = [(66, 0.0), (67, 0.5), (73, 1.25), (71, 1.75)]
    notes = []
    for index, part in enumerate((a, b, a_variant)):
        notes += [(p, 90, index * BAR + t, index * BAR + t + 0.25) for p, t in part]
    score = make_score(notes)
    score.markers = [Marker(index * BAR, text) for index, text in enumerate(markers)]
    return score


def test_section_similarity_puts_a_and_a_prime_closer_than_a_and_b():
    result = section_similarity(form_piece(["A", "B", "A'"]))
    assert [section.label for section in result.sections] == ["A", "B", "A'"]
    assert len(result.pairs) == 3
    pair = {(p["first"], p["second"]): p for p in result.pairs}
    assert pair[("A", "A'")]["same_family"] and not pair[("A", "B")]["same_family"]
    for feature in ("pitch_class", "interval", "rhythm", "mean"):
        assert pair[("A", "A'")][feature] > pair[("A", "B")][feature]
    assert pair[("A", "A'")]["rhythm"] == pytest.approx(1.0)  # same onsets
    assert result.contrast > 0.3
    assert section_contrast(form_piece(["A", "B", "A'"])) == pytest.approx(result.contrast)


def test_section_contrast_without_markers_or_pairs_is_nan_with_a_reason():
    with collecting_reasons() as reasons:
        assert math.isnan(section_contrast(form_piece([])))
        assert math.isnan(section_contrast(form_piece(["A", "B", "C"])))  # no same-label pair
    assert reasons == ["no section markers", "needs two sections with one label and one with another"]
    assert label_family("A'") == label_family("a2") == "A"
