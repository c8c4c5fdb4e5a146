"""``load_pieces``: a source string to parsed pieces, split by the one split policy.

:func:`musickit.data.dataset.load_dataset` gives *encoded* pieces (arrays,
cached on disk); :func:`load_pieces` gives the parsed
:class:`~musickit.data.sources.base.Piece` s themselves, for code that needs
scores (the form corpus cuts phrases out of them). Both split with
:func:`musickit.data.splits.piece_splits`, so a piece lands in the same split
either way: its source's published split where it has one, else its content
group's (70/15/15 with ``seed``), which keeps every transposition or duplicate
of a piece in one split.

Example:

>>> pieces = load_pieces("bach", seed=0, max_files=20)  # doctest: +SKIP
>>> len(pieces.train), len(pieces.valid), len(pieces.test)  # doctest: +SKIP
(14, 3, 3)
"""

import dataclasses

from musickit.data.sources import DEFAULT_SOURCE, Piece, read_scores
from musickit.data.splits import SPLIT_NAMES, content_group, piece_splits

__all__ = ["PieceSplits", "load_pieces", "split_pieces"]


@dataclasses.dataclass
class PieceSplits:
    """Parsed pieces split into ``train``, ``valid`` and ``test`` (lists of :class:`Piece`).

    ``skipped`` lists ``(name, reason)`` for every piece that could not be read.
    """

    train: list[Piece]
    valid: list[Piece]
    test: list[Piece]
    source: str
    seed: int
    skipped: list[tuple] = dataclasses.field(default_factory=list)

    def split(self, name):
        """The split called ``name`` (``"validation"`` is accepted for ``"valid"``)."""
        name = {"validation": "valid"}.get(name, name)
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}; use train, valid or test")
        return getattr(self, name)

    @property
    def held_out(self):
        """The valid and test pieces together: everything a model must not train on."""
        return self.valid + self.test


def split_pieces(pieces, has_published_splits=False, seed=0):
    """``{"train": [...], "valid": [...], "test": [...]}`` of ``pieces`` by :func:`piece_splits`.

    Example:

    >>> from musickit.data.sources import Entry
    >>> from musickit.music.score import Note, Score
    >>> tune = [Note(60, 90, 0.0, 0.5), Note(64, 90, 0.5, 1.0)]
    >>> up = [dataclasses.replace(note, pitch=note.pitch + 2) for note in tune]  # the same tune, transposed
    >>> pieces = [Piece(Entry("tune"), Score(notes=tune)), Piece(Entry("tune_up"), Score(notes=up))]
    >>> splits = split_pieces(pieces)
    >>> [name for name in splits if len(splits[name]) == 2]  # one content group: one split
    ['train']
    """
    published = [piece.entry.split for piece in pieces] if has_published_splits else None
    places = piece_splits([content_group(piece.score) for piece in pieces], published, seed=seed)
    splits = {name: [] for name in SPLIT_NAMES}
    for piece, place in zip(pieces, places):
        splits[place].append(piece)
    return splits


def load_pieces(source=DEFAULT_SOURCE, seed=0, max_files=None, show_progress=None):
    """Read ``source`` (a string or a :class:`~musickit.data.sources.base.Source`) into :class:`PieceSplits`.

    Args:
        source: a data-source string (see :mod:`musickit.data.sources`),
            comma-separated lists included.
        seed: the split seed; published splits ignore it.
        max_files: pieces read per source (per split for sources with
            published splits).

    Unreadable pieces are skipped with one warning line each.
    """
    collection = read_scores(source, max_files=max_files, show_progress=show_progress)
    splits = split_pieces(collection.pieces, collection.has_published_splits, seed)
    return PieceSplits(**splits, source=collection.source, seed=seed, skipped=list(collection.skipped))
