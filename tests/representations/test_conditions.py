import json

import numpy as np
import pytest

from musickit.data.labels import EMOTION_CLASSES as LABEL_EMOTIONS
from musickit.data.labels import emotion_class
from musickit.errors import UsageError
from musickit.music import Marker, Score
from musickit.music.score import Note
from musickit.representations import load_representation
from musickit.representations.conditions import (
    EMOTION_CLASSES,
    SECTION_LETTERS,
    UNKNOWN_ID,
    class_id,
    class_ids,
    emotion_name,
    section_id,
)
from musickit.representations.remi import REMITokenizer


def test_one_vocabulary_for_labels_and_tokens():
    tokenizer = REMITokenizer()
    assert LABEL_EMOTIONS is EMOTION_CLASSES
    assert tokenizer.emotions == EMOTION_CLASSES == ("happy", "tense", "sad", "calm")
    assert [tokenizer.id_to_token(tokenizer.section_token_id(letter)) for letter in SECTION_LETTERS] == [
        "SECTION_A",
        "SECTION_B",
        "SECTION_C",
        "SECTION_D",
    ]
    # A heuristic label reaches the tokens: "tense" used to be dropped by a tokenizer that only knew "angry".
    a_minor_fast = [Note(pitch, 90, 0.125 * i, 0.125 * i + 0.125) for i, pitch in enumerate([57, 60, 64, 69] * 8)]
    score = Score(notes=a_minor_fast)
    score.metadata["emotion"] = emotion_class(score)
    assert score.metadata["emotion"] == "tense"
    assert tokenizer.id_to_token(int(tokenizer.encode(score)[0])) == "EMOTION_tense"


def test_unknown_is_minus_one_everywhere():
    assert UNKNOWN_ID == -1
    assert class_id("calm", EMOTION_CLASSES) == 3 and class_id(None, EMOTION_CLASSES) == -1
    assert class_ids(["bach", "jazz", None], ["bach", "essen"]).tolist() == [0, -1, -1]
    assert class_ids([], ["bach"]).dtype == np.int32


def test_sections_and_old_emotion_names():
    assert [section_id(letter) for letter in "ABCD"] == [0, 1, 2, 3]
    with pytest.raises(UsageError, match="not one of A, B, C, D"):
        section_id("E")
    assert [emotion_name(name) for name in ("Angry", "Q2", "tense", " Calm ")] == ["tense", "tense", "tense", "calm"]


def test_a_tokenizer_saved_with_the_old_emotion_name_still_loads(tmp_path):
    current = REMITokenizer()
    path = tmp_path / "representation.json"
    current.save(path)
    payload = json.loads(path.read_text())
    payload["config"]["emotions"] = ["happy", "angry", "sad", "calm"]  # as run folders written before saved it
    path.write_text(json.dumps(payload))
    old = load_representation(path)
    assert old == current and old.vocabulary_size == current.vocabulary_size
    assert old.emotion_token_id("angry") == old.emotion_token_id("tense") == current.token_to_id("EMOTION_tense")
    # The same piece gives the same ids, so a model trained before the rename reads them as it learned them.
    score = Score(notes=[Note(60, 90, 0.0, 0.5)], markers=[Marker(0.0, "A")], metadata={"emotion": "tense"})
    np.testing.assert_array_equal(old.encode(score), current.encode(score))
