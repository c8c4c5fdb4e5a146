"""compare_to_corpus: floors and ceiling from the same corpus, and a comparison that separates noise from music."""

import json

import numpy as np
import pytest
from synthetic_music import chorales

from musickit.metrics.corpus import (
    MarkovNotes,
    RandomNotes,
    compare_to_corpus,
    cut_quarters,
    roll_to_score,
    score_to_roll,
)
from musickit.metrics.evaluation import json_safe
from musickit.music.score import Note, Score


@pytest.fixture(scope="module")
def corpus():
    return {"training": chorales(24, first_seed=0), "held_out": chorales(10, first_seed=100)}


def test_cut_quarters_and_the_roll_round_trip():
    piece = Score(notes=[Note(60, 90, 0.0, 1.0), Note(62, 90, 1.0, 3.0), Note(64, 90, 3.0, 3.5)])  # quarters 0-2-6-7
    cut = cut_quarters(piece, 2.0, 4.0)
    assert [(n.pitch, n.start, n.end) for n in cut.notes] == [(62, 0.0, 1.0)]  # 2 quarters at 120 qpm = 1 s
    roll = score_to_roll(piece)
    assert roll.shape == (28, 88) and roll[:, 60 - 21].sum() == 8
    back = roll_to_score(roll)
    assert [(n.pitch, n.start, n.end) for n in back.notes] == [(60, 0.0, 1.0), (62, 1.0, 3.0), (64, 3.0, 3.5)]


def test_floors_follow_the_corpus_pitch_distribution_and_density(corpus):
    rng = np.random.default_rng(0)
    random_piece = RandomNotes(corpus["training"]).sample(32.0, rng)
    corpus_pitches = {note.pitch for score in corpus["training"] for note in score.notes}
    assert {note.pitch for note in random_piece.notes} <= corpus_pitches
    corpus_density = np.mean([len(score.notes) / 32.0 for score in corpus["training"]])
    assert len(random_piece.notes) / 32.0 == pytest.approx(corpus_density, rel=0.15)
    markov_piece = MarkovNotes(corpus["training"]).sample(32.0, rng)
    assert markov_piece.notes and {note.pitch for note in markov_piece.notes} <= corpus_pitches


def _comparison(generated, corpus, **options):
    return compare_to_corpus(generated, corpus["held_out"], corpus["training"], seed=0, **options)


def test_random_notes_and_markov_score_clearly_below_real_pieces_on_every_reported_feature(corpus):
    rng = np.random.default_rng(1)
    random_notes = [RandomNotes(corpus["training"]).sample(32.0, rng) for _ in range(12)]
    markov = [MarkovNotes(corpus["training"]).sample(32.0, rng) for _ in range(12)]
    real = chorales(12, first_seed=200)
    results = {
        label: _comparison(pieces, corpus)
        for label, pieces in (("real", real), ("random", random_notes), ("markov", markov))
    }
    real_result = results["real"]
    assert real_result["usual_voices"] == 4
    for name in real_result["mean_over"]:
        for noise in ("random", "markov"):
            assert results[noise]["overlap"][name]["generated"] < real_result["overlap"][name]["generated"] - 0.1, (
                name,
                noise,
            )
        # the floors drawn in the run sit below the ceiling as well
        assert real_result["overlap"][name]["random_notes"] < real_result["overlap"][name]["ceiling"]
        assert real_result["overlap"][name]["markov"] < real_result["overlap"][name]["ceiling"]
    # every feature that sees the failures of issue 17 separates on this corpus
    for name in (
        "semitone_clash_fraction",
        "offbeat_sixteenth_fraction",
        "usual_voice_fraction",
        "max_polyphony",
        "in_scale_ratio",
        "inter_onset_histogram",
    ):
        assert name in real_result["mean_over"]
    # features on which a floor scores like real music are flagged and left out of the mean
    assert "empty_bar_fraction" in real_result["left_out_of_mean"]
    assert real_result["mean_overlap"]["generated"] > 0.7
    assert results["random"]["mean_overlap"]["generated"] < 0.3 and results["markov"]["mean_overlap"]["generated"] < 0.3
    assert "near real" in real_result["verdict"]["semitone_clash_fraction"]
    assert "near a floor" in results["random"]["verdict"]["semitone_clash_fraction"]


def test_primer_is_removed_and_key_drift_measured(corpus):
    primer = chorales(1, first_seed=300, bars=2)[0]
    # Continuations in the primer's key, and continuations a tritone away.
    same_key = [chorales(1, first_seed=301 + i, bars=10)[0] for i in range(6)]
    for piece in same_key:
        piece.notes = [n for n in piece.notes if n.start >= 4.0] + primer.notes  # primer = first 8 quarters (4 s)
    result = _comparison(same_key, corpus, primer_quarters=8)
    assert result["primer_quarters"] == 8 and result["length_quarters"] == 32
    assert "key_drift" in result["features"]
    assert result["sets"]["held_out"]["summary"]["key_drift"]["mean"] == 0


def test_result_is_json_safe_and_a_representation_is_applied(corpus):
    class HalfNotes:  # a representation whose grid is a half note: every onset lands on a beat
        def encode(self, score):
            return [(n.pitch, round(n.start), max(round(n.end), round(n.start) + 1)) for n in score.notes]

        def decode(self, rows):
            return Score(notes=[Note(p, 90, float(s), float(e)) for p, s, e in rows])

    result = _comparison(chorales(3, first_seed=400), corpus, representation=HalfNotes())
    document = json.loads(json.dumps(json_safe(result), allow_nan=False))
    assert set(document["mean_overlap"]) == {"generated", "random_notes", "markov", "ceiling"}
    assert document["sets"]["held_out"]["summary"]["offbeat_sixteenth_fraction"]["mean"] == 0
    assert "_values" not in document and document["sets"]["random_notes"]["pieces"] == 16


def test_bad_inputs_raise_one_clear_error(corpus):
    with pytest.raises(ValueError, match="at least one generated piece"):
        compare_to_corpus([], corpus["held_out"])
    with pytest.raises(ValueError, match="at least two held-out pieces"):
        compare_to_corpus(chorales(1), corpus["held_out"][:1])
    result = compare_to_corpus([Score()], corpus["held_out"], seed=0)  # an empty piece: undefined, no crash
    assert result["overlap"]["semitone_clash_fraction"]["generated"] is None
    assert result["sets"]["ceiling"]["pieces"] == 0 and result["mean_overlap"]["ceiling"] is None


def test_near_primer_key_share_and_the_verdict_of_a_flagged_feature(corpus):
    primer = chorales(1, first_seed=300, bars=2)[0]
    pieces = []
    for index in range(4):
        piece = chorales(1, first_seed=310 + index, bars=10)[0]
        piece.notes = primer.notes + [n for n in piece.notes if n.start >= 4.0]
        pieces.append(piece)
    result = _comparison(pieces, corpus, primer_quarters=8)
    assert set(result["near_primer_key"]) == {"held_out", "generated", "random_notes", "markov", "ceiling"}
    assert result["near_primer_key"]["held_out"] == 1.0
    for name in result["left_out_of_mean"]:
        assert "left out of the mean" in result["verdict"][name]
    assert set(result["mean_overlap_all_features"]) == set(result["mean_overlap"])


def test_form_contrast_with_an_interval_when_generated_pieces_have_markers(corpus):
    from musickit.music.score import Marker

    pieces = []
    for index in range(5):  # A (8 bars of one chorale), B (another, a fifth away), A again
        first, second = chorales(1, first_seed=500 + index, bars=2)[0], chorales(1, first_seed=520 + index, bars=2)[0]
        notes = list(first.notes) + [Note(n.pitch + 7, 80, n.start + 4.0, n.end + 4.0) for n in second.notes]
        notes += [Note(n.pitch, 80, n.start + 8.0, n.end + 8.0) for n in first.notes]
        pieces.append(Score(notes=notes, markers=[Marker(0.0, "A"), Marker(4.0, "B"), Marker(8.0, "A")]))
    result = _comparison(pieces, corpus)
    assert "section_contrast" in result["features"]
    contrast = result["form_contrast"]["generated"]
    assert contrast["pieces"] == 5 and contrast["low"] > 0  # A is measurably closer to A than to B
    assert result["form_contrast"]["held_out"]["pieces"] == 0  # the chorales carry no markers
    assert result["verdict"]["section_contrast"].startswith("not measurable")
