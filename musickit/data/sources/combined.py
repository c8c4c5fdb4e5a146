"""Several sources read as one: ``"bach,essen"`` is a corpus of two styles.

Example:

>>> from musickit.data.sources.midi_folder import MidiFolderSource
>>> combined = CombinedSource([MidiFolderSource("jazz"), MidiFolderSource("folk")])  # doctest: +SKIP
>>> [entry.name for entry in combined.entries()]  # doctest: +SKIP
['/abs/jazz/take5.mid', '/abs/folk/reel.mid']
"""

import dataclasses

from musickit.data.sources.base import Source
from musickit.errors import MidiReadError

__all__ = ["CombinedSource"]


class CombinedSource(Source):
    """Several sources read as one (``"bach,essen"``): a corpus of several styles.

    Entry names are prefixed with their part's name (``bach/bwv1.6``,
    ``essen/deutschl#12``) so they stay unique, and ``max_files`` bounds each
    part, not the total, so every style is represented. A part with published
    splits keeps them; the pieces of the other parts are split by content
    group (:func:`musickit.data.splits.piece_splits`).
    """

    def __init__(self, parts):
        super().__init__(",".join(part.description for part in parts), None)
        self.parts = list(parts)
        self.has_published_splits = any(part.has_published_splits for part in self.parts)

    @staticmethod
    def renamed(part, entry):
        """``entry`` of ``part`` under its combined name ``part/entry``."""
        return dataclasses.replace(entry, name=f"{part.description}/{entry.name}")

    def entries(self):
        return [self.renamed(part, entry) for part in self.parts for entry in part.entries()]

    def fingerprint(self):
        return {part.description: part.fingerprint() for part in self.parts}

    def read_all(self):
        for part in self.parts:
            for entry, result in part.read_all():
                entry = self.renamed(part, entry)
                if not isinstance(result, MidiReadError):
                    result.metadata["name"] = entry.name
                yield entry, result
