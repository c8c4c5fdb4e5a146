"""The heuristic preference scorer on pieces built from tuples: each component worked out by hand."""

import pytest
from conftest import make_score

from musickit.metrics.preference_score import ScorerSettings, grammar_validity, score_piece
from musickit.representations.remi import REMITokenizer

# 120 qpm, 4/4: a quarter is 0.5 s, a bar 2 s, a 16th step 0.125 s.
SETTINGS = ScorerSettings(density_range=(0.2, 0.3), polyphony_range=(1.0, 2.0))


def test_a_plain_scale_scores_the_in_scale_reward_and_nothing_else():
    scale = make_score([(pitch, 80, 0.5 * index, 0.5 * index + 0.5) for index, pitch in enumerate([60, 62, 64, 65])])
    result = score_piece(scale, SETTINGS)
    # 4 notes over 16 steps: density 0.25 (in range); one voice; one bar; one distinct 4-gram; no clash.
    assert result.components == {
        "in_scale": 1.0,
        "repetition": 0.0,
        "loop": 0.0,
        "density": 0.0,
        "polyphony": 0.0,
        "clashes": 0.0,
    }
    assert result.total == pytest.approx(1.0)


def test_clashes_loops_and_a_sparse_texture_are_penalised():
    # The same bar (C and C# together, then D) four times: half the sounding time clashes.
    bar = [(60, 80, 0.0, 1.0), (61, 80, 0.0, 1.0), (62, 80, 1.0, 2.0)]
    looped = make_score([(p, v, start + 2.0 * b, end + 2.0 * b) for b in range(4) for p, v, start, end in bar])
    result = score_piece(looped, SETTINGS)
    components = result.components
    assert components["clashes"] == pytest.approx(0.5)
    assert components["repetition"] == pytest.approx(0.75 - 0.25)  # bars 2-4 repeat bar 1
    # Note tokens (steps since the last onset, pitch, length): the first bar opens with (0, 60, 8), later bars with
    # (8, 60, 8), so the 9 windows of 4 hold the opening one plus 3 of the repeating figure: 4 distinct.
    assert components["loop"] == pytest.approx(1 - 4 / 9)
    # 12 notes over 8 s = 16 quarters = 64 steps: 0.1875, 0.0125 below 0.2 in a range 0.1 wide: 0.125.
    assert components["density"] == pytest.approx(0.125)
    # 2 keys sound for the first half of each bar, 1 for the second: polyphony 1.5, inside (1, 2).
    assert components["polyphony"] == 0.0
    penalties = 0.5 + (1 - 4 / 9) + 0.125 + 0.0 + 2 * 0.5
    assert result.total == pytest.approx(components["in_scale"] - penalties)


def test_an_empty_continuation_takes_every_worst_value():
    result = score_piece(make_score([]), SETTINGS)
    assert result.components["in_scale"] == 0.0
    assert result.total == pytest.approx(-(0 + 1 + 1 + 1 + 1 + 2 * 1))


def test_grammar_validity_counts_transitions_the_remi_grammar_allows():
    tokenizer = REMITokenizer(num_velocity_bins=0, use_programs=False)
    tokens = [int(token) for token in tokenizer.encode(make_score([(60, 80, 0.0, 0.5), (64, 80, 0.5, 1.0)]))]
    assert grammar_validity(tokens, tokenizer.grammar) == 1.0
    style = tokenizer.grammar.ids("style")
    if len(style):  # a style token opens a generated piece: "other" to the bar grammar
        assert grammar_validity([int(style[0]), *tokens], tokenizer.grammar) == 1.0
    pitch = tokenizer.grammar.ranges["pitch"][0]
    broken = tokens + [pitch, pitch]  # the last note's Duration then Pitch Pitch: one bad transition of len - 1
    assert grammar_validity(broken, tokenizer.grammar) == pytest.approx(1 - 1 / (len(broken) - 1))
    result = score_piece(make_score([(60, 80, 0.0, 0.5)]), SETTINGS, broken, tokenizer.grammar)
    assert result.components["grammar"] == pytest.approx(1 / (len(broken) - 1))


def test_ranges_fitted_to_a_corpus():
    pieces = [make_score([(60, 80, 0.0, 0.5 * n)]) for n in (1, 2, 4)]  # one note over 4, 8, 16 steps
    fitted = ScorerSettings().fitted_to_corpus(pieces, low=0, high=100)
    assert fitted.density_range == pytest.approx((1 / 16, 1 / 4))
    assert fitted.polyphony_range == pytest.approx((1.0, 1.0))
