"""Emotion and tempo labels: the heuristics, explicit labels, the pair pipeline's ids, and fit with them."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from musickit.data.dataset import EncodedSplit
from musickit.data.labels import EMOTION_CLASSES, TEMPO_CLASSES, emotion_class, onsets_per_second, tempo_class
from musickit.data.pipelines import section_snippet_pairs
from musickit.data.sections import encode_sectioned
from musickit.errors import UsageError
from musickit.losses.sequence import SequenceCrossEntropy
from musickit.models.hierarchical import HierarchicalTransformer
from musickit.representations.remi import REMITokenizer
from tests.conftest import make_score

C_MAJOR = [60, 64, 67, 72, 67, 64, 60, 62, 59, 60]  # arpeggio ending on the tonic
A_MINOR = [57, 60, 64, 69, 68, 69, 64, 60, 57, 59, 56, 57]  # with the raised leading tone G#


def _line(pitches, seconds_per_note, qpm=120.0, **metadata):
    """One note after the other, each ``seconds_per_note`` long."""
    step = seconds_per_note
    return make_score([(pitch, 80, i * step, (i + 1) * step) for i, pitch in enumerate(pitches)], qpm=qpm, **metadata)


def test_tempo_classes_follow_the_named_boundaries():
    assert TEMPO_CLASSES == ("slow", "moderate", "fast")
    classes = [tempo_class(_line([60], 1.0, qpm=qpm)) for qpm in (40.0, 75.9, 76.0, 120.0, 120.5, 200.0)]
    assert classes == ["slow", "slow", "moderate", "moderate", "fast", "fast"]
    without_tempo = make_score([(60, 80, 0.0, 1.0)])
    without_tempo.tempos = []
    assert tempo_class(without_tempo) == "moderate"  # 120 qpm, the default
    assert tempo_class(_line([60], 1.0, qpm=200.0, tempo="Slow")) == "slow"  # an explicit label wins


def test_emotion_quadrants_from_mode_and_onset_rate():
    # Four onsets a second is high arousal (threshold 3), one a second is low.
    assert [
        emotion_class(_line(C_MAJOR, 0.25)),
        emotion_class(_line(A_MINOR, 0.25)),
        emotion_class(_line(A_MINOR, 1.0)),
        emotion_class(_line(C_MAJOR, 1.0)),
    ] == list(EMOTION_CLASSES)
    assert EMOTION_CLASSES == ("happy", "tense", "sad", "calm")
    # A four-voice chord is one onset: two chords in one second are 2 onsets/s, not 8.
    chords = make_score([(pitch, 80, start, start + 0.5) for start in (0.0, 0.5) for pitch in (48, 55, 64, 72)])
    assert onsets_per_second(chords) == 2.0
    assert emotion_class(make_score([])) is None


def test_explicit_emotion_wins_and_bad_labels_fail_clearly():
    assert emotion_class(_line(C_MAJOR, 0.25, emotion="sad")) == "sad"
    assert emotion_class(_line(C_MAJOR, 0.25, emotion="Q4")) == "calm"  # EMOPIA's quadrant names
    with pytest.raises(UsageError, match="emotion label 'joyful' of tune is not one of happy"):
        emotion_class(_line(C_MAJOR, 0.25, emotion="joyful", name="tune"))


def test_encode_sectioned_stores_labels_and_the_pairs_yield_their_ids():
    pieces = [
        _line(C_MAJOR, 0.25, qpm=60.0, style="folk"),  # happy, slow
        _line(A_MINOR, 1.0, style="bach", emotion="tense"),  # explicit: tense, moderate
        _line(A_MINOR, 1.0, qpm=150.0, style="bach"),
    ]  # sad, fast
    split = encode_sectioned(pieces, REMITokenizer(), label=False)
    assert [(item["emotion"], item["tempo"]) for item in split.metadata] == [
        ("happy", "slow"),
        ("tense", "moderate"),
        ("sad", "fast"),
    ]
    split.metadata[2]["emotion"] = None  # a piece without a label gets -1
    dataset = section_snippet_pairs(split, snippet_length=4, sequence_length=512, batch_size=8, shuffle=False)
    inputs, _, _ = next(iter(dataset))
    assert inputs["emotion_id"].dtype == tf.int32 and inputs["tempo_id"].dtype == tf.int32
    np.testing.assert_array_equal(inputs["style_id"], [1, 0, 0])  # sorted styles: bach, folk
    np.testing.assert_array_equal(inputs["emotion_id"], [0, 1, -1])
    np.testing.assert_array_equal(inputs["tempo_id"], [0, 1, 2])
    # Custom class lists: labels outside them are -1.
    custom = section_snippet_pairs(
        split,
        emotions=["tense"],
        tempos=["fast", "slow"],
        snippet_length=4,
        sequence_length=512,
        batch_size=8,
        shuffle=False,
    )
    inputs, _, _ = next(iter(custom))
    np.testing.assert_array_equal(inputs["emotion_id"], [-1, 0, -1])
    np.testing.assert_array_equal(inputs["tempo_id"], [1, -1, 0])


@pytest.mark.long
def test_models_fit_on_pairs_with_condition_ids_they_were_not_built_for():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    pieces = [rng.integers(3, 48, 20) for _ in range(3)]
    metadata = [
        {"style": "bach", "emotion": emotion, "tempo": "moderate", "sections": [("A", piece[:8])]}
        for emotion, piece in zip(("happy", "sad", None), pieces)
    ]
    # Sizes as in test_hierarchical_model.py (batch 2, 10 tokens, 4 x 8 snippet tokens): shared compiled ops.
    dataset = section_snippet_pairs(
        EncodedSplit(pieces, metadata),
        snippet_length=8,
        sequence_length=10,
        batch_size=2,
        eos_id=2,
        pad_id=0,
        drop_remainder=True,
    )
    inputs = next(iter(dataset))[0]
    for condition_sizes in ({"style": 1}, {"style": 1, "emotion": 4, "tempo": 3}):
        model = HierarchicalTransformer.from_preset(
            "tiny",
            vocabulary_size=48,
            snippet_length=8,
            num_memory_vectors=2,
            condition_sizes=condition_sizes,
            dropout=0.0,
            end_id=2,
        )
        # Run eagerly to keep this fast, except on JAX, where an eager step compiles every operation one by one
        # (about twice the time of one traced step); test_curriculum.py fits a traced step on the same batches.
        eager = keras.backend.backend() != "jax"
        model.compile(
            optimizer=keras.optimizers.SGD(0.5), loss=SequenceCrossEntropy(), weighted_metrics=[], run_eagerly=eager
        )
        history = model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        # A model reads the emotion id only if it was built for it.
        calm = dict(inputs, emotion_id=np.full((2,), EMOTION_CLASSES.index("calm"), "int32"))
        condition, calm_condition = (keras.ops.convert_to_numpy(model.embed_conditions(x)) for x in (inputs, calm))
        assert np.allclose(condition, calm_condition) == ("emotion" not in condition_sizes)
