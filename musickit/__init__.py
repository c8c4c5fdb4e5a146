"""musickit: a Keras 3 toolkit for music generation on TensorFlow, JAX and PyTorch.

Example:

>>> import musickit
>>> score = musickit.read_midi("song.mid")  # doctest: +SKIP
>>> musickit.write_midi(score, "copy.mid")  # doctest: +SKIP
"""

from musickit.errors import DataSourceError, MidiReadError, MusickitError, UsageError
from musickit.music import Note, Score, read_midi, write_midi

__version__ = "0.1.0"

__all__ = [
    "DataSourceError", "MidiReadError", "MusickitError", "Note", "Score", "UsageError", "read_midi", "write_midi",
    "__version__",
]  # fmt: skip
