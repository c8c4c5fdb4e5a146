"""Curriculum: form complexity, phase plans, one dataset that walks the phases, and fit across epochs."""

import keras
import numpy as np
import pytest

from musickit.data.curriculum import CurriculumPhase, curriculum_pairs, curriculum_phases, form_complexity
from musickit.data.dataset import EncodedSplit
from musickit.data.form_synthesis import FORMS
from musickit.errors import UsageError
from musickit.losses.sequence import SequenceCrossEntropy
from musickit.models.hierarchical import HierarchicalTransformer

ALL_FORMS = ("AB", "ABA", "ABAB", "AABA", "ABC", "ABCD")


def _split(forms, length=14, seed=0):
    """One piece of random tokens per form; each piece's style is its form, so a batch says whose it is."""
    rng = np.random.default_rng(seed)
    pieces = [rng.integers(3, 40, length) for _ in forms]
    metadata = [
        {"style": form or "unknown", "form": form, "sections": [("A", piece[:4])]} for form, piece in zip(forms, pieces)
    ]
    return EncodedSplit(pieces, metadata)


def _styles_per_batch(dataset, split):
    styles = sorted(item["style"] for item in split.metadata)
    return [
        sorted({styles[index] for index in keras.ops.convert_to_numpy(inputs["style_id"])}) for inputs, _, _ in dataset
    ]


def test_form_complexity_counts_distinct_sections_then_length():
    assert sorted(reversed(FORMS), key=form_complexity)[:3] == ["AB", "ABA", "AABA"]
    assert [form_complexity(form) for form in ALL_FORMS] == [(2, 2), (2, 3), (2, 4), (2, 4), (3, 3), (4, 4)]


def test_phases_add_forms_level_by_level_and_lengthen_windows():
    phases = curriculum_phases(FORMS, sequence_lengths=(16, 32, 64))
    # Five levels (ABAB and AABA share one) over three lengths: index k * 3 // 5 = 0, 0, 1, 1, 2.
    assert [phase.sequence_length for phase in phases] == [16, 16, 32, 32, 64]
    assert [phase.forms for phase in phases] == [
        ("AB",),
        ("AB", "ABA"),
        ("AB", "ABA", "ABAB", "AABA"),
        ("AB", "ABA", "ABAB", "AABA", "ABC"),
        ("AB", "ABA", "ABAB", "AABA", "ABC", "ABCD"),
    ]
    assert [p.sequence_length for p in curriculum_phases(FORMS, (16, 32, 64), by_length=False)] == [64] * 5
    by_length_only = curriculum_phases(["abcd", "AB"], (16, 32, 64), by_form=False)
    assert by_length_only == [CurriculumPhase(length, ("AB", "ABCD")) for length in (16, 32, 64)]
    assert curriculum_phases(FORMS, (16, 32), by_length=False, by_form=False) == [CurriculumPhase(32, ALL_FORMS)]


@pytest.mark.parametrize(
    "forms, lengths, message",
    [
        ((), (8,), "at least one form"),
        (("AB",), (16, 16), "must increase"),
        (("AB",), (), "positive whole numbers"),
        (("AB",), (16.5, 32), "positive whole numbers"),
        (("AXB",), (8,), "section letters"),
        (("BA",), (8,), "in order"),
    ],
)
def test_bad_curricula_fail_clearly(forms, lengths, message):
    with pytest.raises(UsageError, match=message):
        curriculum_phases(forms, sequence_lengths=lengths)


def test_pairs_walk_the_phases_in_order_with_cumulative_forms():
    split = _split(["ABCD", "AB", "", "ABA"])  # "" : a piece of unknown form counts as the most complex
    phases = curriculum_phases(("AB", "ABA", "ABCD"), sequence_lengths=(4, 8))
    dataset = curriculum_pairs(split, phases, total_steps=7, batch_size=16, shuffle=False, eos_id=2, pad_id=0)
    assert int(dataset.cardinality()) == 7
    assert dataset.element_spec[0]["token_ids"].shape.as_list() == [None, None]
    batches = list(dataset)
    # Shares 2, 2, 3; lengths 4, 4, 8; every batch holds all windows of the phase's pieces (15 tokens each).
    assert [tuple(inputs["token_ids"].shape) for inputs, _, _ in batches] == [(4, 4)] * 2 + [(8, 4)] * 2 + [(8, 8)] * 3
    assert (
        _styles_per_batch(batches, split) == [["AB"]] * 2 + [["AB", "ABA"]] * 2 + [["AB", "ABA", "ABCD", "unknown"]] * 3
    )
    # Resuming after 3 steps: one step of the second phase is left, then the third.
    resumed = curriculum_pairs(split, phases, total_steps=7, start_step=3, batch_size=16, shuffle=False)
    assert [int(inputs["token_ids"].shape[1]) for inputs, _, _ in resumed] == [4, 8, 8, 8]


def test_bad_pair_requests_fail_clearly():
    split = _split(["AB", "ABA"])
    phases = curriculum_phases(("AB", "ABA", "ABCD"), sequence_lengths=(4,))
    with pytest.raises(UsageError, match="at least one step per phase"):
        curriculum_pairs(split, phases, total_steps=2)
    with pytest.raises(UsageError, match="drop sequence_length"):
        curriculum_pairs(split, phases, total_steps=3, sequence_length=8)
    with pytest.raises(UsageError, match="start_step=3"):
        curriculum_pairs(split, phases, total_steps=3, start_step=3)
    with pytest.raises(UsageError, match="no piece of the split has a form in AB;"):
        curriculum_pairs(
            _split(["ABA"]), [CurriculumPhase(4, ("AB",)), CurriculumPhase(4, ("AB", "ABA"))], total_steps=2
        )


def _window_length(y_true, y_pred):
    """The batch's window length as a metric: its mean over an epoch says which phase the epoch saw."""
    return keras.ops.ones_like(keras.ops.cast(y_true[:, 0], "float32")) * keras.ops.cast(
        keras.ops.shape(y_true)[1], "float32"
    )


@pytest.mark.usefixtures("eager_fits")
@pytest.mark.long
def test_fit_with_steps_per_epoch_walks_the_curriculum_once_across_epochs():
    keras.utils.set_random_seed(0)
    split = _split(["AB", "ABA"], length=40)
    phases = curriculum_phases(("AB", "ABA"), sequence_lengths=(10, 20))
    dataset = curriculum_pairs(
        split, phases, total_steps=4, snippet_length=8, batch_size=2, eos_id=2, pad_id=0, drop_remainder=True
    )
    # Sizes as in test_hierarchical_model.py, so the backends' compiled-op caches are shared in a suite run.
    # The batches also carry emotion and tempo ids, which this style-only model must ignore.
    model = HierarchicalTransformer.from_preset(
        "tiny",
        vocabulary_size=48,
        snippet_length=8,
        num_memory_vectors=2,
        condition_sizes={"style": 3},
        dropout=0.0,
        end_id=2,
    )
    # Not run eagerly: one traced step per window length, from an element spec whose time dimension is None.
    # Plain SGD has no slot variables to create, which keeps the test fast. Without XLA on JAX, every operation
    # of the step would be compiled one by one (about twice the time of the two jitted steps).
    jit_compile = keras.backend.backend() == "jax"
    model.compile(
        optimizer="sgd",
        loss=SequenceCrossEntropy(),
        metrics=[_window_length],
        weighted_metrics=[],
        jit_compile=jit_compile,
    )
    history = model.fit(dataset, epochs=2, steps_per_epoch=2, verbose=0)
    # Keras kept one iterator across epochs: the second epoch saw the second phase, not the first again.
    assert history.history["_window_length"] == [10.0, 20.0]
    assert np.isfinite(history.history["loss"]).all()
