import numpy as np
import pytest

from musickit.errors import UsageError
from musickit.music.score import Marker, Note, Score, TempoChange
from musickit.representations import PerformanceTokenizer, REMITokenizer
from musickit.representations.conditions import SECTION_LETTERS
from musickit.representations.grammar import TokenGrammar, remi_follows


def test_remi_grammar_states_every_id_as_its_name_does():
    tokenizer = REMITokenizer(
        steps_per_quarter=2,
        lowest_pitch=40,
        highest_pitch=50,
        num_velocity_bins=4,
        time_signatures=["3/4", "6/8"],
        styles=["bach"],
    )
    grammar = tokenizer.grammar
    assert grammar.vocabulary_size == tokenizer.vocabulary_size
    expected = {
        "Bar": ("bar", -1),
        "Position_5": ("position", 5),
        "Pitch_44": ("pitch", 44),
        "Velocity_3": ("velocity", 3),
        "Duration_7": ("duration", 7),
        "Tempo_40": ("tempo", 0),
        "TimeSignature_3/4": ("time_signature", 6),
        "TimeSignature_6/8": ("time_signature", 6),
        "Program_5": ("program", 5),
        "Program_drums": ("program", 128),
        "SECTION_C": ("section", 2),
        "STYLE_bach": ("style", 0),
        "EMOTION_calm": ("emotion", 3),
        "EOS": ("special", 2),
    }
    for name, (kind, value) in expected.items():
        index = tokenizer.token_to_id(name)
        assert (grammar.kinds[index], int(grammar.values[index])) == (kind, value), name
    # The families' ranges are the tokenizer's own, and they tile the vocabulary.
    for start, stop in tokenizer.token_ranges.values():
        assert set(grammar.kinds[start:stop]) == {grammar.kinds[start]}
    assert sum(stop - start for start, stop in grammar.ranges.values()) == tokenizer.vocabulary_size
    assert grammar.values.dtype == np.int32
    np.testing.assert_array_equal(grammar.pitches(), tokenizer.token_pitches())
    assert grammar.ids("section").tolist() == [tokenizer.section_token_id(letter) for letter in SECTION_LETTERS]
    assert grammar.note_order == ("pitch", "velocity", "duration") and grammar.default_bar_steps == 8


def test_remi_order_follows_the_written_stream():
    follows = remi_follows(("pitch", "velocity", "duration"))
    assert follows["pitch"] == ("velocity",) and follows["velocity"] == ("duration",)
    assert follows["program"] == ("pitch",) and "time_signature" not in follows["position"]
    # Every pair of kinds adjacent in an encoded piece is allowed by the table (specials etc. count as other).
    tokenizer = REMITokenizer()
    score = Score(
        notes=[Note(60, 90, 0.0, 0.5), Note(64, 70, 0.0, 1.0, program=5), Note(67, 90, 2.5, 3.0)],
        tempos=[TempoChange(0.0, 100.0), TempoChange(2.5, 140.0)],
        markers=[Marker(0.0, "A"), Marker(2.0, "B")],
        metadata={"style": "bach"},
    )
    kinds = [tokenizer.grammar.kinds[index] for index in tokenizer.encode(score)]
    kinds = [kind if kind in tokenizer.grammar.follows else "other" for kind in kinds]
    assert all(after in tokenizer.grammar.follows[before] for before, after in zip(kinds, kinds[1:]))


def test_performance_grammar_and_resizing():
    tokenizer = PerformanceTokenizer(num_time_shifts=10, num_velocity_bins=4, special_tokens=True)
    grammar = tokenizer.grammar
    on, off, shift = (tokenizer.token_to_id(name) for name in ("NOTE_ON_60", "NOTE_OFF_61", "TIME_SHIFT_10"))
    assert [(grammar.kinds[i], int(grammar.values[i])) for i in (on, off, shift)] == [
        ("pitch", 60),
        ("note_off", 61),
        ("time_shift", 10),
    ]
    assert grammar.follows is None and grammar.default_bar_steps is None
    bigger = grammar.resized(tokenizer.vocabulary_size + 2)
    assert bigger.kinds[-2:] == ("other", "other") and bigger.values[-2:].tolist() == [-1, -1]
    assert grammar.resized(100).ranges == {"pitch": (0, 100)}


def test_a_grammar_needs_one_value_per_id():
    with pytest.raises(UsageError, match="one value per kind"):
        TokenGrammar(["pitch", "pitch"], [60], {"pitch": (0, 2)})
