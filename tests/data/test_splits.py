import collections

import pytest
from conftest import make_score
from data_helpers import TUNES, write_tunes

from musickit.data.dataset import load_dataset
from musickit.data.splits import assign_splits, content_group, split_sizes
from musickit.music.midi_io import write_midi
from musickit.music.transposition import transpose
from musickit.representations.piano_roll import PianoRoll


@pytest.mark.parametrize(
    "count, sizes", [(0, (0, 0, 0)), (1, (1, 0, 0)), (3, (1, 1, 1)), (20, (14, 3, 3)), (100, (70, 15, 15))]
)
def test_split_sizes_are_70_15_15(count, sizes):
    assert split_sizes(count) == sizes


def test_assignment_is_deterministic_and_depends_on_the_seed():
    groups = [f"piece{index}" for index in range(40)]
    first = assign_splits(groups, seed=0)
    assert first == assign_splits(list(reversed(groups)), seed=0)
    assert collections.Counter(first.values()) == {"train": 28, "valid": 6, "test": 6}
    assert first != assign_splits(groups, seed=1)


def test_adding_a_piece_moves_few_others():
    groups = [f"piece{index}" for index in range(100)]
    before = assign_splits(groups, seed=0)
    after = assign_splits(groups + ["newcomer"], seed=0)
    moved = sum(before[group] != after[group] for group in groups)
    assert moved <= 2


def test_content_group_ignores_transposition_tempo_and_velocity_only():
    score = make_score(TUNES["two"])
    assert content_group(score) == content_group(transpose(score, 5))
    louder = make_score([(pitch, 30, start, end) for pitch, _, start, end in TUNES["two"]])
    assert content_group(score) == content_group(louder)
    assert content_group(score) == content_group(
        make_score([(p, v, s * 2, e * 2) for p, v, s, e in TUNES["two"]], qpm=60)
    )
    assert content_group(score) != content_group(make_score(TUNES["one"]))


def test_transposed_copies_never_straddle_splits(tmp_path):
    write_tunes(tmp_path, TUNES)
    for shift in (-3, 2, 7):
        for name in TUNES:
            write_midi(transpose(make_score(TUNES[name]), shift), tmp_path / f"{name}_up{shift}.mid")
    for seed in range(4):
        dataset = load_dataset(str(tmp_path), PianoRoll(), seed=seed)
        where = collections.defaultdict(set)
        for split in ("train", "valid", "test"):
            for metadata in dataset.split(split).metadata:
                where[metadata["name"].split("_")[0].removesuffix(".mid")].add(split)
        assert sorted(where) == sorted(TUNES)
        assert all(len(splits) == 1 for splits in where.values()), where
        assert sum(len(dataset.split(split)) for split in ("train", "valid", "test")) == 16
