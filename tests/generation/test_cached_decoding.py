"""The generation engine: cached greedy equals full recompute; padding, stopping, conditions; bad input."""

import keras
import numpy as np
import pytest

from musickit.errors import UsageError
from musickit.generation.processors import ForbiddenTokens, KeyScaleMask, LogitsProcessor, RepetitionPenalty
from musickit.models.music_transformer import MusicTransformer


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(5)
    model = MusicTransformer.from_preset(
        "tiny", vocabulary_size=32, max_sequence_length=24, dropout=0.0, condition_sizes={"style": 2}, end_id=None
    )
    model.build()
    for block in model.blocks:  # conditioning that matters
        block.attention_modulation.projection.kernel.assign(np.full((32, 64), 0.2, "float32"))
    return model


PROMPTS = [[3, 9, 4, 7, 1], [5, 6], [8, 2, 11]]


def test_greedy_with_cache_equals_full_recompute(model):
    styles = {"style": [0, 1, 1]}
    cached = model.generate(PROMPTS, max_length=16, sampler="greedy", conditions=styles)
    uncached = model.generate(PROMPTS, max_length=16, sampler="greedy", conditions=styles, use_cache=False)
    assert cached == uncached
    assert [row[: len(prompt)] for row, prompt in zip(cached, PROMPTS)] == PROMPTS
    assert all(len(row) == 16 for row in cached)
    # The condition reaches the output.
    assert cached != model.generate(PROMPTS, max_length=16, sampler="greedy", conditions={"style": [1, 0, 0]})
    # Left-padded array prompts give the same result (the compiled loop is reused).
    padded = np.zeros((3, 5), "int32")  # padding id 0
    for row, prompt in enumerate(PROMPTS):
        padded[row, 5 - len(prompt) :] = prompt
    assert model.generate(padded, max_length=16, sampler="greedy", padding_side="left", conditions=styles) == cached


def test_an_unknown_condition_gives_that_row_no_conditioning(model):
    # UNKNOWN_ID (-1) rows get a zero condition vector; the fresh FiLM biases are zero, so such a row is
    # generated exactly as without conditions, while the labelled row keeps its style.
    plain = model.generate(PROMPTS, max_length=16, sampler="greedy")
    styled = model.generate(PROMPTS, max_length=16, sampler="greedy", conditions={"style": 1})
    assert plain[2] != styled[2]  # style 1 changes the third row
    unknown_last = model.generate(PROMPTS, max_length=16, sampler="greedy", conditions={"style": [1, 1, -1]})
    assert unknown_last == styled[:2] + plain[2:]
    unknown_first = model.generate(PROMPTS, max_length=16, sampler="greedy", conditions={"style": [-1, -1, 1]})
    assert unknown_first == plain[:2] + styled[2:]
    with pytest.raises(UsageError, match="outside"):
        model.generate(PROMPTS, max_length=16, conditions={"style": -2})


class OnlyTokenAfter(LogitsProcessor):
    """Allows only ``token`` once ``index`` reaches ``start``: a deterministic end for the test."""

    def __init__(self, token, start):
        self.token, self.start = token, start

    def __call__(self, logits, token_ids, index):
        is_token = keras.ops.arange(keras.ops.shape(logits)[-1])[None, :] == self.token
        return keras.ops.where(keras.ops.logical_or(is_token, index < self.start), logits, -1e9)

    def get_config(self):
        return {"token": self.token, "start": self.start}


def test_stops_at_the_end_token_and_sampling_is_seeded(model):
    end = OnlyTokenAfter(token=31, start=8)
    outputs = model.generate(
        [[3, 4], [5, 6, 7]],
        max_length=12,
        sampler="top_k",
        top_k=4,
        seed=7,
        processors=[end],
        stop_token_ids=[31],
        conditions={"style": 0},
    )
    assert [len(row) for row in outputs] == [9, 9] and all(row[-1] == 31 for row in outputs)
    again = model.generate(
        [[3, 4], [5, 6, 7]],
        max_length=12,
        sampler="top_k",
        top_k=4,
        seed=7,
        processors=[end],
        stop_token_ids=[31],
        conditions={"style": 0},
    )
    assert again == outputs


def test_one_buffer_serves_calls_of_several_lengths_with_one_compile_and_the_same_tokens():
    keras.utils.set_random_seed(6)
    model = MusicTransformer.from_preset("tiny", vocabulary_size=32, max_sequence_length=96, dropout=0.0, end_id=None)
    model.build()
    # 70 tokens: longer than the 64-token prefill, so the rest of the prompt goes through the decoding steps.
    prompt = [[2 + (5 * position) % 29 for position in range(70)]]
    never_ends = [ForbiddenTokens([31])]  # the model never stops itself: the limit must stop it
    options = {"sampler": "greedy", "stop_token_ids": [31], "processors": never_ends}
    plain = {length: model.generate(prompt, max_length=length, **options)[0] for length in (72, 80)}
    compiled_before = len(model.__dict__["_musickit_generate_functions"])
    for length in (72, 80):
        buffered = model.generate(prompt, max_length=length, buffer_length=96, **options)[0]
        assert buffered == plain[length] and len(buffered) == length  # cut at the limit, no end token kept
    assert len(model.__dict__["_musickit_generate_functions"]) == compiled_before + 1  # one compile for both
    with pytest.raises(UsageError, match="buffer_length 70 must lie between max_length 72"):
        model.generate(prompt, max_length=72, buffer_length=70, **options)


def test_prompts_in_different_keys_share_one_compiled_loop_and_each_keeps_its_own_key():
    keras.utils.set_random_seed(7)
    model = MusicTransformer.from_preset("tiny", vocabulary_size=32, max_sequence_length=24, dropout=0.0, end_id=None)
    model.build()
    pitches = [-1] * 8 + list(range(60, 84))  # ids 8..31 are the pitches C4..B5
    options = {"max_length": 20, "sampler": "top_k", "top_k": 32, "seed": 0, "stop_token_ids": None}
    model.generate([[8]], processors=[KeyScaleMask(pitches, key="C")], **options)  # compiles once
    compiled = len(model.__dict__["_musickit_generate_functions"])
    for key, scale in (("F#", "major"), ("C", "pentatonic")):
        mask = KeyScaleMask(pitches, key=key, scale=scale)
        generated = model.generate([[8]], processors=[mask], **options)[0][1:]
        allowed = {token for token in range(32) if mask.allowed_tokens(32)[token]}
        assert set(generated) <= allowed, (key, scale)  # the new key's mask, not the first call's
    assert len(model.__dict__["_musickit_generate_functions"]) == compiled  # no new compile per key
    # A rule traced into the loop (a penalty of another size) still compiles its own.
    model.generate([[8]], processors=[RepetitionPenalty(1.2)], **options)
    model.generate([[8]], processors=[RepetitionPenalty(1.5)], **options)
    assert len(model.__dict__["_musickit_generate_functions"]) == compiled + 2


def test_sampler_instances_of_one_setting_share_a_compiled_loop_and_sample_as_they_would_alone():
    from keras_hub.samplers import TopKSampler

    keras.utils.set_random_seed(8)
    model = MusicTransformer.from_preset("tiny", vocabulary_size=32, max_sequence_length=24, dropout=0.0, end_id=None)
    model.build()
    options = {"max_length": 16, "stop_token_ids": None}
    model.generate([[3, 4]], sampler=TopKSampler(k=20, seed=1), **options)  # compiles once
    compiled = len(model.__dict__["_musickit_generate_functions"])
    second = TopKSampler(k=20, seed=2)
    shared = [model.generate([[3, 4]], sampler=second, **options)[0] for _ in range(2)]
    assert len(model.__dict__["_musickit_generate_functions"]) == compiled
    assert shared[0] != shared[1]  # the lent seed state came back advanced: the second call draws anew
    del model.__dict__["_musickit_generate_functions"], model.__dict__["_musickit_samplers"]
    alone = TopKSampler(k=20, seed=2)
    assert [model.generate([[3, 4]], sampler=alone, **options)[0] for _ in range(2)] == shared


def test_beam_search_returns_one_sequence_per_prompt(model):
    outputs = model.generate([[3, 4, 5]], max_length=10, sampler="beam", num_beams=2, conditions={"style": 1})
    assert len(outputs) == 1 and len(outputs[0]) == 10 and outputs[0][:3] == [3, 4, 5]


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"prompt_ids": [list(range(1, 21))], "max_length": 20}, "has 20 tokens but max_length is 20"),
        ({"prompt_ids": [[1, 2]], "max_length": 30}, "exceeds the model's max_sequence_length 24"),
        ({"prompt_ids": [[1, 40, 2]], "max_length": 10}, "token id 40 at position 1, outside the vocabulary"),
        ({"prompt_ids": [[]], "max_length": 10}, "is empty"),
        ({"prompt_ids": [[1, 2]], "max_length": 10, "sampler": "top_p", "top_p": 0.0}, r"top[-_]p must be in \(0, 1\]"),
        ({"prompt_ids": [[1, 2]], "max_length": 10, "sampler": "top_p", "top_p": 1.2}, r"top[-_]p must be in \(0, 1\]"),
        ({"prompt_ids": [[1, 2]], "max_length": 10, "sampler": "nucleus"}, "unknown sampler"),
        ({"prompt_ids": [[1, 2]], "max_length": 10, "conditions": {"mood": 0}}, "unknown condition"),
        (
            {"prompt_ids": [[1, 2]], "max_length": 10, "processors": [KeyScaleMask([-1] + [61] * 31, key="C")]},
            "no pitch token is left",
        ),
    ],
)
def test_bad_input_fails_before_any_work(model, arguments, message):
    functions = dict(model.__dict__.get("_musickit_generate_functions", {}))
    with pytest.raises(UsageError, match=message):
        model.generate(**arguments)
    compiled = {key for key in model.__dict__.get("_musickit_generate_functions", {}) if key[0] != "named"}
    assert compiled == {key for key in functions if key[0] != "named"}
