"""Set-level comparisons: Yang & Lerch distance distributions, diversity, mode collapse."""

import math

import numpy as np
import pytest
from conftest import make_score

from musickit.metrics.distribution import (
    compare_distributions,
    compare_feature,
    densities_on_grid,
    inter_set_distances,
    intra_set_distances,
    kl_divergence,
    overlap_area,
)
from musickit.metrics.diversity import (
    copied_ngram_share,
    distinct_ngram_ratio,
    feature_diversity,
    mode_collapse_indicators,
    ngram_diversity,
    score_tokens,
)


def test_intra_and_inter_set_distances():
    assert sorted(intra_set_distances([1.0, 4.0, 6.0])) == [2.0, 3.0, 5.0]
    assert sorted(inter_set_distances([0.0, 1.0], [3.0])) == [2.0, 3.0]
    vectors = intra_set_distances([[0.0, 0.0], [3.0, 4.0], [np.nan, 1.0]])  # the NaN row is left out
    assert vectors.tolist() == [5.0]
    assert len(intra_set_distances([1.0])) == 0


def test_densities_integrate_to_one_even_for_constant_samples():
    grid, densities = densities_on_grid([0.0, 0.0, 0.0], [0.0, 1.0, 2.5, 3.0])
    for density in densities:
        assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3)
    # Two samples a hair apart: Scott's width is far below the grid spacing; the 1% floor keeps the mass.
    grid, densities = densities_on_grid([0.0, 1e-9], [0.0, 5.0, 10.0])
    assert np.trapezoid(densities[0], grid) == pytest.approx(1.0, abs=1e-3)


def test_overlap_area_and_kl_divergence():
    rng = np.random.default_rng(0)
    same = rng.normal(size=200)
    assert overlap_area(same, same) == pytest.approx(1.0, abs=1e-3)
    assert kl_divergence(same, same) == pytest.approx(0.0, abs=1e-9)
    shifted = same + 1.0
    assert 0.4 < overlap_area(same, shifted) < 0.8  # two unit normals one sd apart overlap by ~0.62
    assert kl_divergence(same, shifted) > 0.2  # ~0.5 for the true normals
    assert overlap_area(same, same + 100.0) < 1e-3
    assert overlap_area([0.0, 0.0], [0.0, 0.0]) == pytest.approx(1.0, abs=1e-3)
    assert math.isnan(overlap_area([], [1.0, 2.0])) and math.isnan(kl_divergence([1.0], []))


def test_compare_feature_sizes_and_summary():
    result = compare_feature([1.0, 2.0, 3.0], [1.0, 2.0, 2.5, 4.0])
    assert (len(result.intra_generated), len(result.intra_reference), len(result.inter)) == (3, 6, 12)
    summary = result.summary()
    assert summary["inter"]["count"] == 12
    assert 0.0 <= summary["overlap_area"] <= 1.0 and summary["kl_divergence"] >= 0.0
    both = compare_distributions({"a": [1.0, 2.0], "b": [0.0, 1.0]}, {"a": [1.0, 3.0]})
    assert list(both) == ["a"]


def test_a_matching_set_overlaps_more_than_a_collapsed_one():
    rng = np.random.default_rng(1)
    reference = rng.normal(60, 5, size=40)
    matching = rng.normal(60, 5, size=20)
    collapsed = np.full(20, 75.0)
    assert compare_feature(matching, reference).summary()["overlap_area"] > 0.8
    assert compare_feature(collapsed, reference).summary()["overlap_area"] < 0.5


def test_ngram_diversity_and_distinct_ratio():
    assert ngram_diversity([[1, 2, 3], [1, 2, 3]], n=2) == 0.0
    assert ngram_diversity([[1, 2, 3], [4, 5, 6]], n=2) == 1.0
    # {12, 23} vs {23, 34}: one shared of three.
    assert ngram_diversity([[1, 2, 3], [2, 3, 4]], n=2) == pytest.approx(2 / 3)
    assert distinct_ngram_ratio([[1, 1, 1, 1]], n=2) == pytest.approx(1 / 3)
    assert math.isnan(ngram_diversity([[1, 2, 3]], n=2))


def test_copied_ngram_share_counts_windows_found_in_the_reference():
    reference = [[0, 1, 2, 3], [9, 8]]
    # {12, 23}: both in the reference; {78, 89}: neither (89 reversed is not 98); {12, 25}: one of two.
    assert copied_ngram_share([[1, 2, 3]], reference, n=2) == 1.0
    assert copied_ngram_share([[7, 8, 9]], reference, n=2) == 0.0
    assert copied_ngram_share([[1, 2, 3], [7, 8, 9], [1, 2, 5]], reference, n=2) == pytest.approx(0.5)
    assert copied_ngram_share([[1, 2, 3], [4]], reference, n=2) == 1.0  # too short to count
    assert math.isnan(copied_ngram_share([[1]], reference, n=2))


def test_feature_diversity_scales_and_imputes():
    assert feature_diversity([[0.0, 0.0], [3.0, 4.0]], scale=[1.0, 1.0]) == pytest.approx(5.0)
    assert feature_diversity([[0.0, 0.0], [3.0, 8.0]], scale=[1.0, 2.0]) == pytest.approx(5.0)
    assert feature_diversity([[0.0, np.nan], [3.0, np.nan]], scale=[1.0, 1.0]) == pytest.approx(3.0)
    assert math.isnan(feature_diversity([[1.0, 2.0]]))


def test_mode_collapse_indicators_flag_copies():
    melody = make_score([(60 + step % 7, 90, step * 0.25, step * 0.25 + 0.25) for step in range(16)])
    other = make_score([(48 + step * 3 % 11, 90, step * 0.5, step * 0.5 + 0.25) for step in range(16)])
    tokens = score_tokens(melody)
    assert tokens[:2] == [(0, 60, 2), (2, 61, 2)]
    other_tokens = score_tokens(other)
    reference = [other_tokens, tokens, tokens[:6] + other_tokens[:6]]
    collapsed = mode_collapse_indicators([tokens, tokens, tokens], reference, n=2)
    assert len(collapsed["near_duplicate_pairs"]) == 3 and collapsed["near_duplicate_rate"] == 1.0
    assert collapsed["self_similarity"] == 1.0
    assert 0 < collapsed["reference_self_similarity"] < 1
    assert collapsed["self_similarity_ratio"] == pytest.approx(1 / collapsed["reference_self_similarity"])
    varied = mode_collapse_indicators([tokens, score_tokens(other)], n=2)
    assert varied["near_duplicate_pairs"] == [] and varied["self_similarity"] < 0.5
