"""The one split policy (by content group, published splits kept) in every loader, the form corpus included."""

import collections

import numpy as np
import pytest
from conftest import make_score
from data_helpers import benchmark_rolls, write_pickle, write_tunes

from musickit.data.dataset import load_dataset
from musickit.data.form_corpus import build_form_corpus
from musickit.data.pieces import load_pieces
from musickit.data.splits import content_group, piece_splits
from musickit.music.midi_io import write_midi
from musickit.music.transposition import transpose
from musickit.representations.piano_roll import PianoRoll
from musickit.representations.remi import REMITokenizer


def eight_bar_tune(seed):
    """Thirty-two quarter notes (eight 4/4 bars at 120 qpm) of a seeded random melody."""
    pitches = np.random.default_rng(seed).integers(55, 80, 32)
    return make_score([(int(pitch), 90, 0.5 * step, 0.5 * step + 0.5) for step, pitch in enumerate(pitches)])


def write_tunes_with_transposed_copies(folder, count):
    """``tuneK.mid`` and ``tuneK_copy.mid`` (the same tune a fourth up) for K < count."""
    for index in range(count):
        tune = eight_bar_tune(index)
        write_midi(tune, folder / f"tune{index}.mid")
        write_midi(transpose(tune, 5), folder / f"tune{index}_copy.mid")


def tune_of(name):
    return name.split("/")[-1].removesuffix(".mid").removesuffix("_copy")


def test_piece_splits_keep_published_splits_and_group_the_rest():
    groups = [f"group{index % 10}" for index in range(20)]  # every group twice
    places = piece_splits(groups, seed=3)
    for group in set(groups):
        assert len({place for place, other in zip(places, groups) if other == group}) == 1
    assert collections.Counter(places) == {"train": 12, "valid": 4, "test": 4}  # 6, 2 and 2 groups of two
    published = ["test", "validation", None, None, "train"]
    mixed = piece_splits(["a", "b", "c", "c", "d"], published, seed=0)
    assert mixed[:2] == ["test", "valid"] and mixed[4] == "train" and mixed[2] == mixed[3]
    with pytest.raises(ValueError, match="one published split per piece"):
        piece_splits(["a", "b"], ["train"])
    with pytest.raises(ValueError, match="unknown published split 'dev'"):
        piece_splits(["a"], ["dev"])


def test_load_pieces_splits_as_load_dataset_does(tmp_path):
    write_tunes_with_transposed_copies(tmp_path, 6)
    for seed in range(3):
        pieces = load_pieces(str(tmp_path), seed=seed)
        dataset = load_dataset(str(tmp_path), PianoRoll(), seed=seed)
        for split in ("train", "valid", "test"):
            assert [piece.name for piece in pieces.split(split)] == [m["name"] for m in dataset.split(split).metadata]
        where = collections.defaultdict(set)
        for split in ("train", "valid", "test"):
            for piece in pieces.split(split):
                where[tune_of(piece.name)].add(split)
        assert len(where) == 6 and all(len(splits) == 1 for splits in where.values()), where


def test_the_form_corpus_never_puts_one_content_group_on_both_sides(tmp_path, monkeypatch):
    import musickit.data.form_corpus as form_corpus

    write_tunes_with_transposed_copies(tmp_path, 8)
    given = collections.defaultdict(list)  # "train"/"held out" -> the real scores synthesis drew from

    def recording_synthesize_corpus(scores, *args, **kwargs):
        side = "held out" if kwargs["seed"] % 2 else "train"  # build_form_corpus seeds held-out odd
        given[side].extend(scores)
        return synthesize_corpus(scores, *args, **kwargs)

    synthesize_corpus = form_corpus.synthesize_corpus
    monkeypatch.setattr(form_corpus, "synthesize_corpus", recording_synthesize_corpus)
    for seed in (0, 2):
        given.clear()
        corpus = build_form_corpus(
            str(tmp_path), REMITokenizer(), forms=("AB",), pieces_per_form=1, valid_pieces_per_form=1, seed=seed
        )
        assert len(corpus.train) == 1 and len(corpus.valid) == 1
        train = {content_group(score) for score in given["train"]}
        held_out = {content_group(score) for score in given["held out"]}
        assert train and held_out and not train & held_out
        assert len(given["train"]) + len(given["held out"]) == 16  # both copies of every tune, on one side
        expected = load_pieces(str(tmp_path), seed=seed)
        assert sorted(score.metadata["name"] for score in given["train"]) == sorted(p.name for p in expected.train)


def test_a_source_mixing_published_and_unpublished_splits_keeps_both_policies(tmp_path):
    folder = tmp_path / "folder"
    write_tunes(folder)
    rolls = benchmark_rolls()
    path = write_pickle(str(tmp_path / "chorales.pkl"), rolls)
    dataset = load_dataset(f"{folder},{path}", PianoRoll(steps_per_quarter=1), seed=0)
    for split in ("train", "valid", "test"):
        names = [metadata["name"] for metadata in dataset.split(split).metadata]
        assert sorted(name for name in names if name.startswith(path)) == [
            f"{path}/{split}/{index:04d}" for index in range(len(rolls[split]))
        ]
    folder_pieces = load_pieces(str(folder), seed=0)
    for split in ("train", "valid", "test"):
        names = [m["name"] for m in dataset.split(split).metadata if m["name"].startswith(str(folder))]
        assert [name.split("/")[-1] for name in names] == [piece.name for piece in folder_pieces.split(split)]
