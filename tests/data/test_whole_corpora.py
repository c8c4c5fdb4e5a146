"""Whole-corpus checks (slow: every Bach chorale is parsed once, then cached)."""

import collections

import pytest

from musickit.data.dataset import load_dataset
from musickit.data.splits import split_sizes
from musickit.representations.piano_roll import PianoRoll


@pytest.mark.slow
def test_whole_bach_corpus_loads_and_splits_by_piece():
    dataset = load_dataset("bach", PianoRoll(), seed=0)
    splits_of_group = collections.defaultdict(set)
    for split in ("train", "valid", "test"):
        for roll, metadata in zip(dataset.split(split), dataset.split(split).metadata):
            assert roll.shape[1] == 88 and len(roll) > 0
            assert metadata["style"] == "bach"
            splits_of_group[metadata["group"]].add(split)
    assert all(len(splits) == 1 for splits in splits_of_group.values())
    counts = collections.Counter(next(iter(splits)) for splits in splits_of_group.values())
    assert (counts["train"], counts["valid"], counts["test"]) == split_sizes(len(splits_of_group))
    total = sum(len(dataset.split(split)) for split in ("train", "valid", "test"))
    assert total + len(dataset.skipped) == 409 and total >= 400
