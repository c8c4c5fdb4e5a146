"""A folder of MIDI files as a data source: every ``.mid``/``.midi`` file below it.

The first sub-folder names the style (``jazz/take5.mid`` is ``"jazz"``); a
file that cannot be read is skipped with one warning line by
:meth:`~musickit.data.sources.base.Source.read_scores`.

Example:

>>> source = MidiFolderSource("my_midi_folder")  # doctest: +SKIP
>>> [entry.name for entry in source.entries()]  # doctest: +SKIP
['jazz/take5.mid', 'one.mid']
"""

import os

from musickit.data.sources.base import Entry, Source
from musickit.errors import DataSourceError
from musickit.music.midi_io import read_midi
from musickit.utils.atomic import is_partial_file

MIDI_SUFFIXES = (".mid", ".midi")

__all__ = ["MIDI_SUFFIXES", "MidiFolderSource"]


class MidiFolderSource(Source):
    """Every ``.mid``/``.midi`` file below a folder, in sorted relative-path order."""

    def __init__(self, folder, max_files=None):
        super().__init__(os.path.abspath(folder), max_files)
        self.folder = os.path.abspath(folder)

    def all_entries(self):
        entries = []
        for directory, subdirectories, files in os.walk(self.folder):
            subdirectories.sort()
            for file_name in files:
                # A ".x.partial.mid" is a file a killed writer left unfinished: never data.
                if file_name.lower().endswith(MIDI_SUFFIXES) and not is_partial_file(file_name):
                    path = os.path.join(directory, file_name)
                    entries.append(Entry(os.path.relpath(path, self.folder).replace(os.sep, "/"), path))
        if not entries:
            raise DataSourceError(
                f"{self.folder}: no .mid or .midi files in this folder or below it; "
                f"point the source at a folder that holds MIDI files"
            )
        return sorted(entries, key=lambda entry: entry.name)

    def fingerprint(self):
        # Size and modification time catch edits without reading every file.
        fingerprint = []
        for entry in self.entries():
            status = os.stat(entry.location)
            fingerprint.append([entry.name, status.st_size, status.st_mtime_ns])
        return {"folder": self.folder, "files": fingerprint}

    def read(self, entry):
        score = read_midi(entry.location)
        score.metadata["name"] = entry.name
        style = entry.name.split("/")[0] if "/" in entry.name else None
        if style:
            score.metadata.setdefault("style", style)
        return score
