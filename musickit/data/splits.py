"""Deterministic train/valid/test splits by piece.

Two rules keep a test score honest:

* a split is decided per *group*, never per window, so no part of a piece is
  trained on and then tested;
* a group is the piece's content up to transposition
  (:func:`content_group`), so a folder holding the same song in two keys, or
  a corpus holding one chorale under two catalogue numbers, puts both copies
  in the same split. Transposition augmentation happens later, inside a
  split, so it cannot leak either.

Groups are ordered by a seeded hash of their name and cut 70/15/15. Because
each group's place depends only on its own hash, adding a piece to a folder
moves at most the pieces next to a boundary, not the whole split.

:func:`piece_splits` is the one policy every dataset uses
(:func:`musickit.data.dataset.load_dataset`,
:func:`musickit.data.pieces.load_pieces` and through it
:func:`musickit.data.form_corpus.build_form_corpus`, the reference splits of
the evaluator, the ``bach_chorales`` TFDS builder): a piece keeps the split
its source publishes (benchmark files, TFDS), and every other piece goes where
its content group goes.

Example:

>>> assignment = assign_splits(["a", "b", "c", "d"], seed=0)
>>> sorted(assignment) == ["a", "b", "c", "d"], sorted(set(assignment.values()))
(True, ['test', 'train', 'valid'])
"""

import hashlib

import numpy as np

DEFAULT_FRACTIONS = (0.70, 0.15, 0.15)
SPLIT_NAMES = ("train", "valid", "test")


def content_group(score, steps_per_quarter=4):
    """A name shared by every transposition of ``score``'s pitched notes (and only by them, in practice).

    It hashes the notes' grid onsets, lengths and pitches relative to the
    lowest pitch; tempo, velocity and instrument do not count.

    Example:

    >>> from musickit.music.score import Note, Score
    >>> tune = Score(notes=[Note(60, 90, 0.0, 0.5), Note(64, 90, 0.5, 1.0)])
    >>> up = Score(notes=[Note(62, 70, 0.0, 0.5), Note(66, 70, 0.5, 1.0)])
    >>> content_group(tune) == content_group(up)
    True
    """
    notes = score.pitched_notes
    if not notes:
        return "empty"
    table = np.array(
        [
            (
                round(score.seconds_to_quarters(note.start) * steps_per_quarter),
                round(score.seconds_to_quarters(note.end) * steps_per_quarter),
                note.pitch,
            )
            for note in notes
        ],
        dtype=np.int64,
    )
    table[:, 1] -= table[:, 0]  # onset and length, so a piece that starts later still matches
    table[:, 0] -= table[:, 0].min()
    table[:, 2] -= table[:, 2].min()
    table = table[np.lexsort((table[:, 2], table[:, 1], table[:, 0]))]
    return hashlib.sha1(table.tobytes()).hexdigest()[:16]


def split_sizes(count, fractions=DEFAULT_FRACTIONS):
    """How many of ``count`` groups go to train, valid and test.

    From three groups on, valid and test get at least one each, so a smoke
    run on a handful of files still has something to validate on.

    >>> split_sizes(100), split_sizes(3), split_sizes(2)
    ((70, 15, 15), (1, 1, 1), (2, 0, 0))
    """
    if count < 3:
        return count, 0, 0
    valid = max(1, int(round(count * fractions[1])))
    test = max(1, int(round(count * fractions[2])))
    return count - valid - test, valid, test


def assign_splits(groups, seed=0, fractions=DEFAULT_FRACTIONS):
    """Map each distinct group name in ``groups`` to ``"train"``, ``"valid"`` or ``"test"``."""
    distinct = sorted(set(groups))
    ranked = sorted(distinct, key=lambda group: hashlib.sha1(f"{seed}:{group}".encode()).hexdigest())
    train, valid, _ = split_sizes(len(ranked), fractions)
    assignment = {}
    for index, group in enumerate(ranked):
        assignment[group] = "train" if index < train else "valid" if index < train + valid else "test"
    return assignment


def piece_splits(groups, published_splits=None, seed=0, fractions=DEFAULT_FRACTIONS):
    """The split of each piece: its published split where it has one, else its content group's.

    Args:
        groups: one content group per piece (:func:`content_group`).
        published_splits: one published split per piece (``"train"``,
            ``"valid"`` or ``"validation"``, ``"test"``; ``None`` for a piece
            whose source publishes none), or ``None`` when no piece has one.
        seed: the seed of :func:`assign_splits` for the pieces without a
            published split.

    Returns:
        A list of ``"train"``, ``"valid"`` or ``"test"``, one per piece.

    Example:

    >>> places = piece_splits(["g1", "g2", "g1", "g3", "g4"], seed=0)
    >>> places[0] == places[2]  # one content group, one split
    True
    >>> piece_splits(["g1", "g2"], published_splits=["test", "validation"])
    ['test', 'valid']
    """
    groups = list(groups)
    published = [None] * len(groups) if published_splits is None else list(published_splits)
    if len(published) != len(groups):
        raise ValueError(f"piece_splits needs one published split per piece ({len(published)} for {len(groups)})")
    for split in published:
        if split is not None and {"validation": "valid"}.get(split, split) not in SPLIT_NAMES:
            raise ValueError(f"unknown published split {split!r}; use train, valid or test")
    assignment = assign_splits([group for group, split in zip(groups, published) if split is None], seed, fractions)
    return [
        assignment[group] if split is None else {"validation": "valid"}.get(split, split)
        for group, split in zip(groups, published)
    ]
