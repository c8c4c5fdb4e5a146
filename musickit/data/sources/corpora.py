"""The corpora that ship with music21: ``bach``, ``essen``, ``ryans`` and ``palestrina``.

Each item is one *piece*: a file, or for an ABC anthology (the Essen folk
songs, Ryan's Mammoth Collection) one tune of it. Essen files hold hundreds of
tunes; each tune is addressed by its ``X:`` reference number and read on its
own with ``music21.corpus.parse(path, number=X)``, so ``max_files`` bounds the
number of tunes, not of anthologies. A ``max_files`` smaller than such a corpus
takes its tunes in turn from every anthology (the first tune of each, then the
second, ...), not the first anthology's first tunes: the Essen collection's
first anthology, ``altdeu10``, holds old German songs written in half notes
(2.3 quarters a note against the collection's 0.9), so its first 40 tunes
taught a model slow music. Every score carries ``metadata["style"]``: the
corpus name.

Example:

>>> source = Music21CorpusSource("bach", max_files=2)
>>> [entry.name for entry in source.entries()]  # doctest: +SKIP
['bwv1.6', 'bwv10.7']
"""

import re

from musickit.data.sources.base import Entry, Source, first_error_line
from musickit.errors import DataSourceError, MidiReadError

__all__ = ["Music21CorpusSource", "abc_tune_numbers", "take_in_turn"]


def abc_tune_numbers(path):
    """The distinct ``X:`` reference numbers of an ABC file, in file order.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "two.abc"
    >>> _ = path.write_text("X: 3\\nK:C\\nC\\n\\nX:1\\nK:G\\nG\\n")
    >>> abc_tune_numbers(path)
    [3, 1]
    """
    with open(path, encoding="utf-8", errors="replace") as handle:
        numbers = [int(match) for match in re.findall(r"^X:\s*(\d+)", handle.read(), flags=re.MULTILINE)]
    return list(dict.fromkeys(numbers))


def take_in_turn(groups, count):
    """The first ``count`` items taking one from each group in turn: a sample that spans every group.

    >>> take_in_turn([["a1", "a2", "a3"], ["b1"], ["c1", "c2"]], 5)
    ['a1', 'b1', 'c1', 'a2', 'c2']
    """
    taken, depth = [], 0
    while len(taken) < count and any(depth < len(group) for group in groups):
        taken.extend(group[depth] for group in groups if depth < len(group))
        depth += 1
    return taken[:count]


class Music21CorpusSource(Source):
    """One of the corpora that ship with music21, read with ``music21.corpus``."""

    # corpus source name -> (music21 composer/collection, file suffixes kept, style label)
    CORPORA = {
        # MusicXML chorales only: the Humdrum copies duplicate three of them, the
        # .rntxt files are harmonic analyses and bwv846 is a keyboard prelude.
        "bach": ("bach", (".mxl", ".xml"), "bach"),
        "essen": ("essenFolksong", (".abc",), "essen"),
        "ryans": ("ryansMammoth", (".abc",), "ryans"),
        "palestrina": ("palestrina", (".krn",), "palestrina"),
    }
    EXCLUDED_FILES = {"bwv846.mxl"}
    # music21's own test anthologies inside the Essen folder are not folk songs.
    EXCLUDED_PREFIXES = ("test",)

    def __init__(self, name, max_files=None):
        super().__init__(name, max_files)
        self.collection, self.suffixes, self.style = self.CORPORA[name]

    def all_entries(self):
        from music21 import corpus

        paths = sorted(
            path
            for path in corpus.getComposer(self.collection)
            if path.suffix in self.suffixes
            and path.name not in self.EXCLUDED_FILES
            and not path.name.startswith(self.EXCLUDED_PREFIXES)
        )
        if not paths:
            raise DataSourceError(
                f"music21 ships no {self.collection} corpus here; reinstall music21 (pip install music21) "
                f"or pass a folder of MIDI files"
            )
        per_file = []
        for path in paths:
            numbers = abc_tune_numbers(path) if path.suffix == ".abc" else []
            if len(numbers) > 1:
                per_file.append([Entry(f"{path.stem}#{number}", str(path), number) for number in numbers])
            else:
                per_file.append([Entry(path.stem, str(path))])
        everything = [entry for entries in per_file for entry in entries]
        if self.max_files is None or self.max_files >= len(everything) or len(per_file) == len(everything):
            return everything  # file order: the whole corpus, or a corpus of one piece per file
        return take_in_turn(per_file, self.max_files)

    def fingerprint(self):
        import music21

        return {"music21": music21.VERSION_STR, "entries": [entry.name for entry in self.entries()]}

    def read(self, entry):
        from music21 import corpus

        from musickit.music.music21_io import from_music21

        try:
            # forceSource: our own cache replaces music21's pickles, and writing
            # those would double the cost of the first pass.
            stream = corpus.parse(entry.location, number=entry.number, forceSource=True)
        except Exception as error:  # noqa: BLE001 - any parser failure makes this piece unreadable
            raise MidiReadError(entry.location, f"music21 could not read it ({first_error_line(error)})") from None
        try:
            score = from_music21(stream, style=self.style)
        except Exception as error:  # noqa: BLE001 - a piece the conversion cannot handle is skipped, not fatal
            reason = f"could not convert it to a score ({first_error_line(error)})"
            raise MidiReadError(entry.location, reason) from None
        score.metadata["name"] = entry.name
        return score
