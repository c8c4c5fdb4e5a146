"""Groove consistency, drum patterns and bar periodicity against hand-computed values."""

import math

import pytest
from conftest import make_notes, make_score

from musickit.metrics.rhythm import drum_pattern_consistency, groove_consistency, rhythmic_regularity
from musickit.metrics.undefined import collecting_reasons
from musickit.music.score import Score

QUARTER = 0.5  # seconds at the 120 qpm of make_score


def bars(*onset_lists, numerator=4, length=0.25):
    """A score whose bar ``i`` has notes at the given quarter offsets (4/4 unless told)."""
    tuples = []
    for bar, onsets in enumerate(onset_lists):
        for onset in onsets:
            start = (bar * numerator + onset) * QUARTER
            tuples.append((60, 90, start, start + length * QUARTER))
    score = make_score(tuples, numerator=numerator)
    # A quiet last note keeps every bar inside the piece.
    end = len(onset_lists) * numerator * QUARTER
    score.notes += make_notes([(30, 1, end - 0.25 * QUARTER, end)], instrument=1)
    return score


def test_groove_consistency_is_one_minus_mean_hamming_per_bar_step():
    # Bar 1 on every beat (steps 0, 4, 8, 12); bars 2 and 3 on beats 1 and 3; the filler adds step 15 to bar 3.
    score = bars([0, 1, 2, 3], [0, 2], [0, 2])
    assert groove_consistency(score) == pytest.approx(1 - (2 / 16 + 1 / 16) / 2)


def test_groove_consistency_follows_the_time_signature():
    waltz = bars([0, 1, 2], [0, 1, 2], [0, 1, 2], numerator=3)  # 12-step bars; the filler adds step 11 to bar 3
    assert groove_consistency(waltz) == pytest.approx(1 - (0 + 1 / 12) / 2)


def test_groove_consistency_leaves_out_a_pickup_bar():
    # In quarters: an upbeat at 0.5 in a one-beat pickup, then bars from 1 and 5 with onsets on beats 1 and 3,
    # and a filler on the last sixteenth of the second bar.
    quarters = [(0.5, 0.75), (1, 1.25), (3, 3.25), (5, 5.25), (7, 7.25), (8.75, 9)]
    score = make_score([(60, 90, start * QUARTER, end * QUARTER) for start, end in quarters])
    score.metadata["pickup_quarters"] = 1.0
    assert groove_consistency(score) == pytest.approx(1 - 1 / 16)  # only bar 1 vs bar 2 (the filler)
    del score.metadata["pickup_quarters"]  # now bars start at 0, 4, 8: a different grouping
    assert groove_consistency(score) != pytest.approx(1 - 1 / 16)


def test_groove_consistency_needs_two_bars():
    with collecting_reasons() as reasons:
        value = groove_consistency(make_score([(60, 90, 0.0, 0.5)]))
    assert math.isnan(value) and reasons == ["shorter than two bars"]


def test_drum_pattern_consistency_takes_the_better_of_duple_and_triple():
    # Sixteenths at 0, 1/4, 1/2 of a beat and one triplet eighth at 1/3.
    offsets = [0.0, 0.25, 0.5, 1 / 3]
    drums = Score(
        notes=make_notes([(42, 90, (4 + o) * QUARTER, (4 + o + 0.1) * QUARTER) for o in offsets], is_drum=True)
    )
    assert drum_pattern_consistency(drums) == pytest.approx(0.75)
    triplets = Score(
        notes=make_notes([(42, 90, (o / 3) * QUARTER, (o / 3 + 0.1) * QUARTER) for o in range(9)], is_drum=True)
    )
    assert drum_pattern_consistency(triplets) == pytest.approx(1.0)
    with collecting_reasons() as reasons:
        assert math.isnan(drum_pattern_consistency(make_score([(60, 90, 0, 1)])))
    assert reasons == ["no drum notes"]


def test_rhythmic_regularity():
    strict = make_score([(60, 90, bar * 2.0 + t, bar * 2.0 + t + 0.25) for bar in range(4) for t in (0.0, 0.75)])
    assert rhythmic_regularity(strict) == pytest.approx(1.0)
    every_step = make_score([(60, 90, step * 0.125, (step + 1) * 0.125) for step in range(32)])
    assert rhythmic_regularity(every_step) == 1.0
    first_bar_only = make_score([(60, 90, 0.0, 0.25), (62, 90, 0.5, 3.875), (64, 90, 3.875, 4.0)])
    # Onsets at steps 0, 4 | 31: the bars share nothing. Pearson over 16 steps by hand:
    # covariance 0 - 16 * (2/16) * (1/16), variances 2 - 16 * (2/16)^2 and 1 - 16 * (1/16)^2.
    expected = (0 - 16 * (2 / 16) * (1 / 16)) / math.sqrt((2 - 16 * (2 / 16) ** 2) * (1 - 16 * (1 / 16) ** 2))
    assert rhythmic_regularity(first_bar_only) == pytest.approx(expected)
    with collecting_reasons() as reasons:
        assert math.isnan(rhythmic_regularity(make_score([(60, 90, 0.0, 1.0)])))
    assert reasons == ["shorter than two bars"]
