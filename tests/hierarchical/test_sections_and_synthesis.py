"""Section labelling of real pieces and form-aware synthetic pieces: exact bar timing and markers."""

import numpy as np
import pytest

from musickit.data.dataset import section_scores
from musickit.data.form_synthesis import FORMS, extract_phrases, form_letters, synthesize_corpus, synthesize_piece
from musickit.data.pipelines import section_snippet_pairs
from musickit.data.sections import encode_sectioned, find_repeat, label_sections, section_snippets
from musickit.errors import UsageError
from musickit.music.midi_io import read_midi, write_midi
from musickit.representations.remi import REMITokenizer
from tests.conftest import make_score


def _bars(pitches, qpm=120.0, numerator=4):
    """One whole-bar note per pitch (4/4 at 120 qpm: a bar is 2 s)."""
    bar = numerator * 60.0 / qpm
    return make_score(
        [(pitch, 80, index * bar, (index + 1) * bar) for index, pitch in enumerate(pitches)],
        qpm=qpm,
        numerator=numerator,
        style="bach",
        name="piece",
    )


def test_repeated_bar_range_becomes_section_a_twice():
    score = _bars([60, 62, 64, 67, 60, 62, 65])  # bars 0-1 come back at 4-5
    labelled = label_sections(score)
    assert labelled.metadata["section_method"] == "repeats"
    assert [(marker.time, marker.text) for marker in labelled.markers] == [
        (0.0, "A"),
        (4.0, "B"),
        (8.0, "A"),
        (12.0, "C"),
    ]


def test_find_repeat_never_overlaps_its_copies():
    assert find_repeat(list("xxxx")) == (0, 2, 2)  # not (0, 1, 3)
    assert find_repeat(list("abcd")) is None


def test_phrase_segmentation_cuts_after_cadences():
    # Eight quarter notes per two bars, then a held half note ends each phrase of three bars.
    notes, time = [], 0.0
    for phrase in range(3):
        for index in range(10):
            notes.append((60 + phrase + index % 5, 80, time, time + 0.5))
            time += 0.5
        notes.append((60, 80, time, time + 1.0))  # a half note ends the third bar
        time += 1.0
    labelled = label_sections(make_score(notes), bars_per_section=3)
    assert labelled.metadata["section_method"] == "phrases"
    assert [(marker.time, marker.text) for marker in labelled.markers] == [(0.0, "A"), (6.0, "B"), (12.0, "C")]


def test_synthetic_pieces_start_every_section_exactly_on_its_bar():
    phrases = extract_phrases(_bars(range(60, 72), qpm=96.0), bars_per_phrase=3)
    assert [phrase.steps for phrase in phrases] == [48] * 4
    piece = synthesize_piece(phrases, "ABCD", style="bach")
    bar_seconds = 4 * 60.0 / 96.0
    # Exactly 3 bars per section: no drift at the joins, one tempo for the whole piece.
    assert [marker.time for marker in piece.markers] == [index * 3 * bar_seconds for index in range(4)]
    assert [marker.text for marker in piece.markers] == list("ABCD")
    assert [(tempo.time, tempo.qpm) for tempo in piece.tempos] == [(0.0, 96.0)]
    assert [note.start for note in piece.notes] == [index * bar_seconds for index in range(12)]
    assert piece.metadata["style"] == "bach" and piece.metadata["form"] == "ABCD"


def test_repeated_letters_replay_the_same_phrase():
    phrases = extract_phrases(_bars([60, 61, 62, 63]), bars_per_phrase=2)
    piece = synthesize_piece(phrases, "AABA")
    assert [note.pitch for note in piece.notes] == [60, 61, 60, 61, 62, 63, 60, 61]
    assert [(marker.time, marker.text) for marker in piece.markers] == [(0.0, "A"), (4.0, "A"), (8.0, "B"), (12.0, "A")]


def test_markers_and_style_survive_a_midi_round_trip(tmp_path):
    piece = synthesize_piece(extract_phrases(_bars([60, 62, 64, 65]), 2), "ABA", style="bach")
    path = tmp_path / "piece.mid"
    write_midi(piece, path)
    back = read_midi(path)
    assert [(round(marker.time, 6), marker.text) for marker in back.markers] == [(0.0, "A"), (4.0, "B"), (8.0, "A")]
    assert [label for label, _ in section_scores(back)] == ["A", "B", "A"]


def test_corpus_is_balanced_and_curriculum_orders_forms():
    scores = [_bars(range(60 + k, 76 + k)) for k in range(2)]
    pieces = synthesize_corpus(scores, pieces_per_form=2, bars_per_section=4, seed=1)
    forms = [piece.metadata["form"] for piece in pieces]
    assert sorted(forms) == sorted(FORMS * 2)
    ordered = synthesize_corpus(
        scores, forms=("ABCD", "AB", "ABA"), pieces_per_form=1, bars_per_section=4, curriculum=True
    )
    assert [piece.metadata["form"] for piece in ordered] == ["AB", "ABA", "ABCD"]


def test_bad_forms_and_too_short_sources_fail_clearly():
    with pytest.raises(UsageError, match="section letters"):
        form_letters("AXB")
    with pytest.raises(UsageError, match="in order"):
        form_letters("BA")
    with pytest.raises(UsageError, match="no source piece has 4 phrases"):
        synthesize_corpus([_bars([60, 62, 64])], forms=("ABCD",), bars_per_section=1)


def test_snippets_feed_the_pair_pipeline():
    tokenizer = REMITokenizer()
    piece = synthesize_piece(extract_phrases(_bars([60, 62, 64, 65]), 2), "ABA", style="bach")
    snippets = section_snippets(piece, tokenizer, snippet_length=6)
    assert sorted(snippets) == ["A", "B"] and all(len(ids) == 6 for ids in snippets.values())
    split = encode_sectioned([piece], tokenizer)
    inputs, targets, weights = next(
        iter(section_snippet_pairs(split, styles=["bach"], snippet_length=6, sequence_length=16, batch_size=1))
    )
    assert inputs["snippet_ids"].shape == (1, 4, 6)
    assert np.asarray(inputs["snippet_mask"]).tolist() == [[True, True, False, False]]
    assert np.asarray(inputs["section_ids"])[0, :2].tolist() == [0, 1]
    assert np.asarray(inputs["snippet_ids"])[0, 1].tolist() == snippets["B"].tolist()
    assert int(inputs["style_id"][0]) == 0
