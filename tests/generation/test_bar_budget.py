"""A length in bars for token models: BarBudget ends a piece where its next bar (or time shift) would go past it."""

import keras
import numpy as np
import pytest

from musickit.errors import UsageError
from musickit.generation.processors import LogitsProcessor, RemiGrammarMask
from musickit.generation.processors.length import BarBudget, bar_advances
from musickit.models.music_transformer import MusicTransformer
from musickit.representations.performance import PerformanceTokenizer
from musickit.representations.remi import REMITokenizer

REMI = REMITokenizer(num_velocity_bins=0, use_programs=False)


class Boost(LogitsProcessor):
    """Make one token the greedy choice wherever the rules before it allow it (a model that loves bar lines)."""

    def __init__(self, token_id):
        self.token_id = token_id

    def __call__(self, logits, token_ids, index):
        boost = keras.ops.one_hot(self.token_id, keras.ops.shape(logits)[-1]) * 50.0
        return logits + boost[None, :]

    def get_config(self):
        return {"token_id": self.token_id}


def processed(processor, history, index, vocabulary_size):
    logits = np.zeros((1, vocabulary_size), "float32")
    return keras.ops.convert_to_numpy(processor(logits, np.array([history], "int32"), index))[0]


def test_after_its_bars_a_bar_line_becomes_the_end_and_other_tokens_keep_their_odds():
    budget = BarBudget.from_tokenizer(REMI, bars=2, reset_token_ids=[REMI.prompt_end_id])
    bar, position, eos = REMI.bar_id, REMI.token_to_id("Position_0"), REMI.eos_id
    # A bar line in the prompt (before PROMPT_END) does not count: one bar so far, nothing changes.
    history = [REMI.prompt_start_id, bar, REMI.prompt_end_id, bar, position, 0, 0, 0]
    assert processed(budget, history, 5, REMI.vocabulary_size).tolist() == [0.0] * REMI.vocabulary_size
    history[5] = bar  # a second bar of the piece: the third would end it
    logits = processed(budget, history, 6, REMI.vocabulary_size)
    assert logits[bar] < -1e8 and logits[eos] == pytest.approx(np.log(2.0))  # logaddexp(0, 0): the bar's odds
    assert logits[position] == 0.0


def test_a_performance_piece_counts_its_time_shifts_in_two_second_bars():
    tokenizer = PerformanceTokenizer(num_time_shifts=100, time_shift_ms=10, special_tokens=True)
    second = tokenizer.token_to_id("TIME_SHIFT_100")
    assert bar_advances(tokenizer)[second] == 0.5 and bar_advances(tokenizer)[tokenizer.token_to_id("NOTE_ON_60")] == 0
    budget = BarBudget.from_tokenizer(tokenizer, bars=1)
    note = tokenizer.token_to_id("NOTE_ON_60")
    assert processed(budget, [second, note, 0], 2, tokenizer.vocabulary_size)[second] == 0.0  # half a bar so far
    assert processed(budget, [second, second, 0], 2, tokenizer.vocabulary_size)[second] < -1e8


@pytest.mark.parametrize("bars", [0, None])
def test_a_length_below_one_bar_is_one_line(bars):
    with pytest.raises(UsageError, match="--bars must be at least 1"):
        BarBudget.from_tokenizer(REMI, bars=bars)


def test_generation_ends_after_the_bars_of_the_piece_on_every_backend():
    keras.utils.set_random_seed(1)
    model = MusicTransformer.from_preset(
        "tiny", vocabulary_size=REMI.vocabulary_size, max_sequence_length=12, end_id=REMI.eos_id
    )
    grammar = RemiGrammarMask.from_tokenizer(REMI, vocabulary_size=REMI.vocabulary_size)
    rules = [grammar, Boost(REMI.bar_id)]
    prompt = [REMI.prompt_start_id, REMI.bar_id, REMI.prompt_end_id]
    budget = BarBudget.from_tokenizer(REMI, 2, REMI.vocabulary_size, reset_token_ids=[REMI.prompt_end_id])
    ended = model.generate([prompt], max_length=10, sampler="greedy", processors=rules + [budget])[0]
    # The boost makes a bar line the greedy choice wherever the grammar allows one: two bars, then the end.
    assert ended == prompt + [REMI.bar_id, REMI.bar_id, REMI.eos_id]
