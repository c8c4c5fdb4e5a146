"""Preference pairs: the labelled JSON format round trip, its one-line refusals, the training-copy check."""

import json

import pytest
from conftest import make_score

from musickit.errors import UsageError
from musickit.families.music_transformer.alignment import split_pairs, win_rate
from musickit.families.music_transformer.preference_pairs import (
    PreferencePair,
    load_labelled_pairs,
    pairs_to_json,
    ranked_pairs,
    training_overlap,
)
from musickit.metrics.diversity import ngrams, score_tokens


def test_labelled_pairs_round_trip_and_unlabelled_ones_are_counted(tmp_path):
    pairs = [PreferencePair([1, 2], [3, 4], [5], style="bach"), PreferencePair([1], [6], [7, 8])]
    content = pairs_to_json(pairs)
    assert [entry["scorer_preferred"] for entry in content["pairs"]] == ["a", "b"]  # the favourite alternates
    content["pairs"][0]["preferred"] = "a"  # a person agreed with the scorer on the first; left the second
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps(content))
    loaded, unlabelled = load_labelled_pairs(str(path))
    assert unlabelled == 1 and len(loaded) == 1
    assert (loaded[0].prompt, loaded[0].chosen, loaded[0].rejected, loaded[0].style) == ([1, 2], [3, 4], [5], "bach")
    content["pairs"][1]["preferred"] = "a"  # a is the rejected one of pair 2 (shown second): chosen flips
    path.write_text(json.dumps(content))
    assert load_labelled_pairs(str(path))[0][1].chosen == [7, 8]


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "cannot read"),
        (json.dumps({"pairs": []}), "not a preference-pairs file"),
        (
            json.dumps(
                {
                    "format": "musickit-preference-pairs",
                    "pairs": [{"prompt": [1], "a": [2], "b": [3], "preferred": "c"}],
                }
            ),
            "pair 1",
        ),
    ],
)
def test_bad_pair_files_are_one_line(tmp_path, content, message):
    path = tmp_path / "pairs.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=message):
        load_labelled_pairs(str(path))


def test_training_overlap_is_the_largest_shared_share_of_note_ngrams():
    melody = [(60 + step, 80, 0.5 * step, 0.5 * step + 0.5) for step in range(6)]  # 6 notes: 3 4-grams
    piece = make_score(melody)
    same = ngrams(score_tokens(make_score(melody)), 4)
    half = ngrams(score_tokens(make_score(melody[:5])), 4)  # its first 2 4-grams
    assert training_overlap(piece, [half]) == pytest.approx(2 / 3)
    assert training_overlap(piece, [half, same]) == 1.0
    assert training_overlap(make_score([(60, 80, 0.0, 0.5)]), [same]) == 0.0  # too short to have a 4-gram


def test_win_rate_counts_ties_as_half_and_the_split_holds_out_a_quarter():
    after = [{"total": 1.0}, {"total": 0.0}, {"total": 0.5}]
    before = [{"total": 0.0}, {"total": 1.0}, {"total": 0.5}]
    assert win_rate(after, before) == pytest.approx(0.5)
    pairs = [PreferencePair([number], [1], [2]) for number in range(8)]
    train, valid = split_pairs(pairs, 0.25)
    assert train == pairs[:6] and valid == pairs[6:]
    assert split_pairs(pairs[:3], 0.25) == (pairs[:3], [])
    # Pairs of one prompt share candidates: the cut moves back to where the held-out prompt's pairs begin.
    pairs = [PreferencePair([number // 3], [number], [9]) for number in range(8)]  # prompts 0 0 0 1 1 1 2 2
    train, valid = split_pairs(pairs, 0.125)
    assert [pair.prompt for pair in valid] == [[2], [2]] and len(train) == 6


def test_ranked_pairs_take_the_widest_gaps_first_and_drop_close_ones():
    totals = [0.6, 1.0, 0.0, 0.55]
    assert ranked_pairs(totals, min_score_gap=0.1) == [(1, 2)]  # best against worst
    assert ranked_pairs(totals, min_score_gap=0.1, limit=None) == [(1, 2), (0, 2), (3, 2), (1, 3), (1, 0)]
    assert ranked_pairs(totals, min_score_gap=0.1, limit=2) == [(1, 2), (0, 2)]
    assert ranked_pairs([0.5, 0.52], min_score_gap=0.1, limit=None) == []


def test_candidates_sample_the_models_own_distribution_unless_the_run_sampling_is_asked_for():
    from musickit.families.music_transformer.alignment import SourceRun, candidate_sampling
    from musickit.families.music_transformer.config import AlignmentConfig
    from musickit.generation.sampling_config import SamplingConfig

    steered = SamplingConfig(
        temperature=0.7, top_p=0.95, key="auto", key_penalty=1.2, max_polyphony=4, min_voices=4, clash_penalty=1.5,
        no_duplicates=True, ascending_pitches=True, max_rest_steps=0, full_length=True, new_tokens=360,
    )  # fmt: skip
    source = SourceRun("run", {}, None, None, steered)
    plain = candidate_sampling(source, AlignmentConfig(new_tokens=64))
    # the model's distribution: no temperature, nucleus, key, voice or clash steering ...
    assert (plain.temperature, plain.top_p, plain.key, plain.key_penalty) == (1.0, 1.0, None, None)
    assert (plain.max_polyphony, plain.min_voices, plain.clash_penalty) == (0, 0, 0.0)
    # ... but the representation's own rules, and the alignment's length
    assert (plain.no_duplicates, plain.ascending_pitches, plain.max_rest_steps, plain.full_length) == (
        True, True, 0, True,
    )  # fmt: skip
    assert plain.new_tokens == 64
    assert candidate_sampling(source, AlignmentConfig(new_tokens=64, candidate_sampling="run")) == steered.replace(
        new_tokens=64
    )
    with pytest.raises(UsageError, match="--candidate-sampling"):
        AlignmentConfig(candidate_sampling="greedy").validate()
