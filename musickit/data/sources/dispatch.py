"""The one way from a source string to a :class:`~musickit.data.sources.base.Source`: :func:`open_source`.

=========================  ===================================================
source string              what it opens
=========================  ===================================================
``bach`` (default)         the Bach chorales shipped with music21 (MusicXML)
``essen``                  the Essen folk songs shipped with music21 (ABC)
``ryans``                  Ryan's Mammoth Collection shipped with music21 (ABC)
``palestrina``             the Palestrina masses shipped with music21 (Humdrum)
``path/to/folder``         every ``.mid``/``.midi`` file below it (recursive)
``path/to/file.mat|.pkl``  a Boulanger-Lewandowski polyphonic benchmark file,
                           with its published train/valid/test split
``tfds:NAME``              a TFDS dataset built by :mod:`musickit.data.tfds_builders`
``bach,essen``             several of the above, comma-separated: their pieces
                           together, each keeping its own style label
=========================  ===================================================

Example:

>>> collection = read_scores("bach", max_files=2)  # doctest: +SKIP
>>> [piece.name for piece in collection.pieces]  # doctest: +SKIP
['bwv1.6', 'bwv10.7']
"""

import os

from musickit.data.sources.base import DEFAULT_SOURCE, Source
from musickit.data.sources.benchmark_files import BENCHMARK_SUFFIXES, BenchmarkFileSource
from musickit.data.sources.combined import CombinedSource
from musickit.data.sources.corpora import Music21CorpusSource
from musickit.data.sources.midi_folder import MIDI_SUFFIXES, MidiFolderSource
from musickit.data.sources.tfds_source import TfdsSource
from musickit.errors import DataSourceError

__all__ = ["open_source", "read_scores"]


def open_source(source=DEFAULT_SOURCE, max_files=None):
    """The :class:`Source` that ``source`` names; a :class:`DataSourceError` saying what to do otherwise.

    A comma-separated list (``"bach,essen"``) opens each part and reads them
    together as a :class:`CombinedSource`.

    Example:

    >>> open_source("bach").description
    'bach'
    >>> [part.description for part in open_source("bach,essen").parts]
    ['bach', 'essen']
    >>> open_source("mozart")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musickit.errors.DataSourceError: unknown data source 'mozart': use bach, essen, ryans, palestrina, a folder ...
    """
    if max_files is not None and (int(max_files) != max_files or max_files < 1):
        raise DataSourceError(f"max_files must be a positive whole number or None, got {max_files!r}")
    source = os.fspath(source if source is not None else DEFAULT_SOURCE)
    if "," in source and not os.path.exists(os.path.expanduser(source)):  # a folder may have a comma in its name
        names = [name.strip() for name in source.split(",")]
        if not all(names) or len(set(names)) != len(names):
            raise DataSourceError(f"{source!r}: list each source once, separated by commas, e.g. bach,essen")
        return CombinedSource([open_source(name, max_files) for name in names])
    if source in Music21CorpusSource.CORPORA:
        return Music21CorpusSource(source, max_files)
    if source.startswith("tfds:"):
        name = source[len("tfds:") :].strip()
        if not name:
            raise DataSourceError("tfds: needs a dataset name, e.g. tfds:bach_chorales")
        return TfdsSource(name, max_files)
    path = os.path.expanduser(source)
    if os.path.isdir(path):
        return MidiFolderSource(path, max_files)
    if os.path.isfile(path):
        if path.lower().endswith(BENCHMARK_SUFFIXES):
            return BenchmarkFileSource(path, max_files)
        raise DataSourceError(
            f"{source}: a single file is not a data source; pass its folder, or a .mat/.pkl benchmark file"
        )
    if os.sep in source or "/" in source or source.lower().endswith(MIDI_SUFFIXES + BENCHMARK_SUFFIXES):
        raise DataSourceError(f"{source}: no such file or folder; check the path")
    raise DataSourceError(
        f"unknown data source {source!r}: use bach, essen, ryans, palestrina, a folder of MIDI files, "
        f"a .mat/.pkl benchmark file or tfds:NAME"
    )


def read_scores(source=DEFAULT_SOURCE, max_files=None, show_progress=None):
    """Parse every piece of ``source`` (a string or a :class:`~musickit.data.sources.base.Source`).

    Returns a :class:`~musickit.data.sources.base.ScoreCollection`. Unreadable
    pieces are skipped with one warning line each on the ``musickit.data``
    logger, followed by one summary line.

    Example:

    >>> read_scores("no/such/folder")
    Traceback (most recent call last):
    ...
    musickit.errors.DataSourceError: no/such/folder: no such file or folder; check the path
    """
    if not isinstance(source, Source):
        source = open_source(source, max_files)
    return source.read_scores(show_progress)
