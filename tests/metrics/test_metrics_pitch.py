"""Pitch metrics against hand-computed values."""

import math

import numpy as np
import pytest
from conftest import make_notes, make_score

from musickit.metrics.pitch import (
    histogram_distance,
    in_scale_ratio,
    mean_pitch_class_histogram,
    n_pitch_classes_used,
    n_pitches_used,
    pitch_class_entropy,
    pitch_class_histogram_distance,
    pitch_entropy,
    pitch_range,
    scale_consistency,
)
from musickit.metrics.undefined import collecting_reasons
from musickit.music.score import Score


def c_major_with_drum():
    # C4 E4 G4 C5, one beat each, plus a kick drum that every pitch metric must ignore.
    score = make_score([(60, 90, 0.0, 0.5), (64, 90, 0.5, 1.0), (67, 90, 1.0, 1.5), (72, 90, 1.5, 2.0)])
    score.notes += make_notes([(36, 100, 0.0, 0.1)], is_drum=True)
    return score


def test_counts_range_and_entropies_ignore_drums():
    score = c_major_with_drum()
    assert pitch_range(score) == 12
    assert n_pitches_used(score) == 4
    assert n_pitch_classes_used(score) == 3
    assert pitch_entropy(score) == pytest.approx(2.0)  # four equally used pitches
    assert pitch_class_entropy(score) == pytest.approx(1.5)  # C twice, E and G once: 1/2, 1/4, 1/4


def test_scale_consistency_and_in_scale_ratio():
    score = make_score([(60, 90, 0, 0.5), (72, 90, 0.5, 1), (64, 90, 1, 1.5), (67, 90, 1.5, 2), (61, 90, 2, 2.5)])
    # No major or minor scale holds C, E, G and C#: the best keeps 4 of 5 notes.
    assert scale_consistency(score) == pytest.approx(0.8)
    assert in_scale_ratio(score, key="C major") == pytest.approx(0.8)
    assert in_scale_ratio(score, key="C", scale="chromatic") == 1.0
    assert in_scale_ratio(score, key="Db major") == pytest.approx(0.6)  # both Cs and the C#; not E or G
    assert in_scale_ratio(score) == pytest.approx(0.8)  # the estimated key is C major


def test_drums_only_piece_has_zero_range_and_nan_entropies_with_a_reason():
    drums = Score(notes=make_notes([(36, 100, 0.0, 0.1), (38, 100, 0.5, 0.6)], is_drum=True))
    assert pitch_range(drums) == 0  # MusPy 0.5 returns -127 here
    assert n_pitches_used(drums) == 0 and n_pitch_classes_used(drums) == 0
    with collecting_reasons() as reasons:
        values = [pitch_entropy(drums), pitch_class_entropy(drums), scale_consistency(drums), in_scale_ratio(drums)]
    assert all(math.isnan(value) for value in values)
    assert reasons == ["no pitched notes"] * 4


def test_single_note_is_defined():
    single = make_score([(60, 90, 0.0, 1.0)])
    assert (pitch_range(single), pitch_entropy(single), pitch_class_entropy(single)) == (0, 0.0, 0.0)
    assert scale_consistency(single) == 1.0


def test_histogram_distances():
    uniform = np.full(12, 1 / 12)
    c_only = np.eye(12)[0]
    assert histogram_distance(c_only, uniform) == pytest.approx(11 / 12)
    assert histogram_distance(c_only, np.eye(12)[7], "jensen_shannon") == pytest.approx(1.0)
    assert histogram_distance(uniform, uniform, "jensen_shannon") == pytest.approx(0.0)
    assert histogram_distance(c_only, np.eye(12)[7], "euclidean") == pytest.approx(math.sqrt(2))
    with pytest.raises(ValueError, match="unknown distance"):
        histogram_distance(c_only, uniform, "cosine")


def test_pitch_class_histogram_distance_to_a_reference_set():
    long_c = make_score([(60, 90, 0.0, 8.0)])
    short_g = make_score([(67, 90, 0.0, 0.5)])
    reference = mean_pitch_class_histogram([long_c, short_g, Score()])  # each piece once; the empty one skipped
    assert reference[0] == pytest.approx(0.5) and reference[7] == pytest.approx(0.5)
    assert pitch_class_histogram_distance(long_c, reference) == pytest.approx(0.5)
    assert pitch_class_histogram_distance(long_c, np.full(12, 1 / 12)) == pytest.approx(11 / 12)
    assert math.isnan(pitch_class_histogram_distance(Score(), reference))
