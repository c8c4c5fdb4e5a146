"""What every data source shares: entries, parsed pieces, and reading a whole source with a summary.

A :class:`Source` lists its :class:`Entry` s cheaply (names, no parsing) and
reads one at a time; :meth:`Source.read_scores` parses them all into a
:class:`ScoreCollection`, skipping unreadable pieces with one warning line
each. Subclasses live next to this module (music21 corpora, MIDI folders,
benchmark files, TFDS, several sources combined).

Example:

>>> from musickit.data.sources.midi_folder import MidiFolderSource
>>> collection = MidiFolderSource("my_midi_folder").read_scores()  # doctest: +SKIP
>>> [piece.name for piece in collection.pieces]  # doctest: +SKIP
['one.mid', 'two.mid']
"""

import dataclasses
import logging

from musickit.data.splits import SPLIT_NAMES
from musickit.errors import DataSourceError, MidiReadError
from musickit.music.score import Score
from musickit.utils.progress import progress

logger = logging.getLogger("musickit.data")

DEFAULT_SOURCE = "bach"

__all__ = ["DEFAULT_SOURCE", "Entry", "Piece", "SPLIT_NAMES", "ScoreCollection", "Source", "first_error_line"]


def first_error_line(error):
    """The first line of an exception's message (its class name when it has none), for one-line errors.

    >>> first_error_line(ValueError("bad header\\nat byte 12"))
    'bad header'
    >>> first_error_line(KeyError())
    'KeyError'
    """
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


@dataclasses.dataclass(frozen=True)
class Entry:
    """One piece a source can read, known before it is parsed.

    ``name`` is unique within the source and stable across runs (a relative
    path, ``file#tune`` for an ABC anthology, ``split/index`` for a benchmark
    file). ``split`` is the published split where the source has one.

    >>> Entry("valid/0003", "JSB_Chorales.mat", 3, "valid").split
    'valid'
    """

    name: str
    location: str = ""
    number: int | None = None
    split: str | None = None


@dataclasses.dataclass
class Piece:
    """A parsed piece: its :class:`Entry` and its :class:`~musickit.music.score.Score`.

    >>> Piece(Entry("one.mid"), Score()).name
    'one.mid'
    """

    entry: Entry
    score: Score

    @property
    def name(self):
        return self.entry.name


@dataclasses.dataclass
class ScoreCollection:
    """What :meth:`Source.read_scores` returns: the readable pieces and what was skipped.

    ``skipped`` holds ``(name, reason)`` for every piece that could not be read.
    """

    source: str
    pieces: list[Piece]
    skipped: list[tuple]
    has_published_splits: bool = False


class Source:
    """Base class. Subclasses list their entries cheaply and read one at a time.

    A subclass implements ``all_entries()`` (every entry, sorted) and
    ``read(entry)``; it may override ``entries()`` when ``max_files`` means
    something else than "the first ``max_files`` entries".
    """

    has_published_splits = False
    progress_verb = "parsing"  # what the progress bar says while reading

    def __init__(self, description, max_files=None):
        self.description = description
        self.max_files = max_files

    def all_entries(self):
        """Every readable-looking entry, sorted (``max_files`` not applied)."""
        raise NotImplementedError

    def entries(self):
        """Every readable-looking entry, sorted, cut to ``max_files``."""
        entries = self.all_entries()
        return entries if self.max_files is None else entries[: self.max_files]

    def fingerprint(self):
        """A JSON-able value that changes whenever the source's content may have changed."""
        return [entry.name for entry in self.entries()]

    def read(self, entry):
        """The :class:`Score` of ``entry``; raises :class:`MidiReadError` when it cannot be read."""
        raise NotImplementedError

    def read_all(self):
        """Yield ``(entry, score)`` for every entry, or ``(entry, error)`` with a :class:`MidiReadError`."""
        for entry in self.entries():
            try:
                yield entry, self.read(entry)
            except MidiReadError as error:
                yield entry, error

    def read_scores(self, show_progress=None):
        """Parse every piece into a :class:`ScoreCollection`.

        Unreadable pieces are skipped with one warning line each on the
        ``musickit.data`` logger, followed by one summary line; a source with
        nothing readable is a :class:`DataSourceError`.
        """
        pieces, skipped = [], []
        total = len(self.entries())
        label = f"{self.progress_verb} {self.description}"
        for entry, result in progress(self.read_all(), label, total, show_progress):
            if isinstance(result, MidiReadError):
                logger.warning("skipped %s", result)
                skipped.append((entry.name, result.reason))
            else:
                pieces.append(Piece(entry, result))
        if skipped:  # the summary line; silent when nothing was lost
            read, total = len(pieces), len(pieces) + len(skipped)
            logger.warning(
                "%s: read %d of %d pieces, skipped %d unreadable", self.description, read, total, len(skipped)
            )
        if not pieces:
            raise DataSourceError(f"{self.description}: none of its {len(skipped)} pieces could be read")
        return ScoreCollection(self.description, pieces, skipped, self.has_published_splits)
