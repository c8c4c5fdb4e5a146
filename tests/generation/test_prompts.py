"""The prompt format and the prompted training arrays (loss on the piece only)."""

import numpy as np
import pytest

from musickit.data.dataset import EncodedSplit
from musickit.errors import UsageError
from musickit.generation.prompts import build_prompt, piece_snippets, prompted_dataset, prompted_examples


class Tokens:
    pad_id, eos_id, prompt_start_id, prompt_end_id = 0, 2, 4, 5

    def section_token_id(self, name):
        return {"A": 6, "B": 7, "C": 8}[name]


def test_prompt_brackets_snippets_cut_to_length():
    assert build_prompt([("A", [20, 21, 22]), ("B", [30, 31])], Tokens(), snippet_length=2) == [
        4,
        6,
        20,
        21,
        7,
        30,
        31,
        5,
    ]
    with pytest.raises(UsageError):
        build_prompt([("A", [1])], Tokens(), snippet_length=0)


def test_snippets_follow_the_form_and_fall_back_to_the_opening():
    sections = {"sections": [("B", [1]), ("A", [2]), ("C", [3])]}
    assert piece_snippets([9], sections, form="AB") == [("A", [2]), ("B", [1])]
    assert piece_snippets([9, 8], {}, form="AB") == [("A", [9, 8])]


def test_examples_weight_only_the_piece_and_split_long_pieces():
    split = EncodedSplit(
        [np.array([10, 11, 12, 13, 14])], [{"style": "essen", "sections": [("A", np.array([10, 11]))]}]
    )
    examples = prompted_examples(split, Tokens(), sequence_length=7, snippet_length=2, styles=["bach", "essen"])
    # Prompt: 4 6 10 11 5 (5 tokens); 8 - 5 = 3 piece tokens per row; piece + EOS = 6 tokens -> 2 rows.
    np.testing.assert_array_equal(examples["token_ids"][0], [4, 6, 10, 11, 5, 10, 11])
    np.testing.assert_array_equal(examples["targets"][0], [6, 10, 11, 5, 10, 11, 12])
    np.testing.assert_array_equal(examples["sample_weight"][0], [0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(examples["token_ids"][1], [4, 6, 10, 11, 5, 13, 14])
    np.testing.assert_array_equal(examples["targets"][1], [6, 10, 11, 5, 13, 14, 2])
    np.testing.assert_array_equal(examples["sample_weight"][1], [0, 0, 0, 0, 1, 1, 1])
    assert examples["style"].tolist() == [1, 1]
    inputs, targets, weights = next(iter(prompted_dataset(examples, batch_size=2, shuffle=False)))
    assert inputs["token_ids"].shape == (2, 7) and inputs["style"].shape == (2,)


def test_padding_is_not_weighted_and_a_too_long_prompt_is_refused():
    split = EncodedSplit([np.array([10])], [{}])
    examples = prompted_examples(split, Tokens(), sequence_length=8, snippet_length=4, styles=["bach"])
    # 4 6 10 5 | 10 2 then padding: targets 6 10 5 10 2 0 0 0; the piece is "10 EOS" (targets 3 and 4).
    np.testing.assert_array_equal(examples["sample_weight"][0], [0, 0, 0, 1, 1, 0, 0, 0])
    assert examples["style"].tolist() == [-1]  # unknown style -> UNKNOWN_ID, no style conditioning
    with pytest.raises(UsageError, match="lower snippet_length"):
        prompted_examples(split, Tokens(), sequence_length=3, snippet_length=4)
