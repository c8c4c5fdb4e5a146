"""The prompt reader: known words become conditions, unknown ones are listed, a repeated condition keeps its first."""

import pytest

from musickit.errors import UsageError
from musickit.representations.prompt import read_prompt


def test_known_words_become_conditions_with_the_words_that_gave_them():
    reading = read_prompt("A gentle AABA chorale in F# minor at 66 BPM, allegro, for strings")
    assert reading.values == {
        "emotion": "calm",
        "form": "AABA",
        "style": "bach",
        "key": "F# minor",
        "qpm": 66.0,
        "tempo": "fast",
        "instrument": "strings",
    }
    assert reading.words["emotion"] == "gentle" and reading.words["qpm"] == "66 BPM"
    assert reading.unknown == () and reading.conflicts == ()


@pytest.mark.parametrize(
    "prompt, field, value",
    [
        ("bb major", "key", "Bb major"),
        ("in a minor", "key", "A minor"),
        ("120bpm", "qpm", 120.0),
        ("ternary", "form", "ABA"),
        ("Q2", "emotion", "tense"),
        ("irish reel", "style", "ryans"),
    ],
)
def test_each_vocabulary(prompt, field, value):
    assert read_prompt(prompt).values[field] == value


def test_unknown_words_are_listed_in_order_and_small_words_are_not():
    reading = read_prompt("a bad sad tune with 3 sparkles and the ab")
    # "bad" and "ab" are not forms (forms are capital letters), "3" is no tempo; "a", "with", "the" are filler.
    assert reading.unknown == ("bad", "3", "sparkles", "ab")
    assert reading.values == {"emotion": "sad"}


def test_a_condition_named_twice_keeps_its_first_word():
    reading = read_prompt("happy sad ABA AB happy")
    assert reading.values == {"emotion": "happy", "form": "ABA"}
    assert reading.conflicts == (("sad", "emotion", "happy"), ("AB", "form", "ABA"))


@pytest.mark.parametrize("prompt", ["", "  ", "?!", None])
def test_an_empty_prompt_is_one_line(prompt):
    with pytest.raises(UsageError, match="--prompt is empty"):
        read_prompt(prompt)
