"""Uploaded MIDI files: saved to the session's folder and checked before any model sees them.

Example:

>>> import tempfile
>>> save_midi_upload(tempfile.mkdtemp(), "broken.mid", b"not midi", "Primer")
Traceback (most recent call last):
...
musickit.errors.UsageError: Primer 'broken.mid' is not a usable MIDI file: not a MIDI file (no MThd header)
"""

import os
import re

from musickit.errors import MidiReadError, UsageError
from musickit.music.midi_io import read_midi


def save_midi_upload(folder, filename, data, label):
    """Write ``data`` as ``folder/uploads/FILENAME`` and return its path; a file without notes is a UsageError."""
    uploads = os.path.join(folder, "uploads")
    os.makedirs(uploads, exist_ok=True)
    safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(filename)) or "upload.mid"
    path = os.path.join(uploads, safe_name)
    with open(path, "wb") as handle:
        handle.write(data)
    try:
        score = read_midi(path)
    except MidiReadError as error:
        raise UsageError(f"{label} {filename!r} is not a usable MIDI file: {error.reason}") from None
    if not score.notes:
        raise UsageError(f"{label} {filename!r} has no notes")
    return path
