"""Data sources: one string names where the music comes from.

=========================  ===================================================
source string              module that reads it
=========================  ===================================================
``bach`` (default),        :mod:`~musickit.data.sources.corpora` (the corpora
``essen``, ``ryans``,      shipped with music21)
``palestrina``
``path/to/folder``         :mod:`~musickit.data.sources.midi_folder`
``path/to/file.mat|.pkl``  :mod:`~musickit.data.sources.benchmark_files`
                           (with the published train/valid/test split)
``tfds:NAME``              :mod:`~musickit.data.sources.tfds_source`
``bach,essen``             :mod:`~musickit.data.sources.combined`: several of
                           the above, each keeping its own style label
=========================  ===================================================

:func:`~musickit.data.sources.dispatch.open_source` turns the string into a
:class:`~musickit.data.sources.base.Source`;
:func:`~musickit.data.sources.dispatch.read_scores` parses it. Every score
carries ``metadata["style"]``: the corpus name for the music21 corpora, the
first sub-folder for a MIDI folder (``jazz/take5.mid`` is ``"jazz"``), the
benchmark's name for ``.mat``/``.pkl`` files and the dataset's own style
feature for TFDS. A piece that cannot be read never stops a source: it is
logged in one warning line, counted and skipped.

Example:

>>> collection = read_scores("bach", max_files=2)  # doctest: +SKIP
>>> [piece.name for piece in collection.pieces]  # doctest: +SKIP
['bwv1.6', 'bwv10.7']
"""

from musickit.data.sources.base import (
    DEFAULT_SOURCE,
    SPLIT_NAMES,
    Entry,
    Piece,
    ScoreCollection,
    Source,
    first_error_line,
)
from musickit.data.sources.benchmark_files import (
    BENCHMARK_LOWEST_PITCH,
    BENCHMARK_QPM,
    BENCHMARK_SUFFIXES,
    SAFE_PICKLE_GLOBALS,
    BenchmarkFileSource,
    SafeUnpickler,
    load_benchmark_rolls,
    roll_to_score,
)
from musickit.data.sources.combined import CombinedSource
from musickit.data.sources.corpora import Music21CorpusSource, abc_tune_numbers
from musickit.data.sources.dispatch import open_source, read_scores
from musickit.data.sources.midi_folder import MIDI_SUFFIXES, MidiFolderSource
from musickit.data.sources.tfds_source import TfdsSource

__all__ = [
    "BENCHMARK_LOWEST_PITCH",
    "BENCHMARK_QPM",
    "BENCHMARK_SUFFIXES",
    "BenchmarkFileSource",
    "CombinedSource",
    "DEFAULT_SOURCE",
    "Entry",
    "MIDI_SUFFIXES",
    "Music21CorpusSource",
    "MidiFolderSource",
    "Piece",
    "SAFE_PICKLE_GLOBALS",
    "SPLIT_NAMES",
    "SafeUnpickler",
    "ScoreCollection",
    "Source",
    "TfdsSource",
    "abc_tune_numbers",
    "first_error_line",
    "load_benchmark_rolls",
    "open_source",
    "read_scores",
    "roll_to_score",
]
