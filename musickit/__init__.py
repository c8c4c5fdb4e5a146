"""musickit: a Keras 3 toolkit for music generation on TensorFlow, JAX and PyTorch.

Example:

>>> import musickit
>>> score = musickit.read_midi("song.mid")  # doctest: +SKIP
>>> musickit.write_midi(score, "copy.mid")  # doctest: +SKIP

Importing musickit quiets TensorFlow's C++ start-up logs (``MUSICKIT_VERBOSE=1`` keeps them).
"""

from musickit.utils.quiet import quiet_tensorflow

quiet_tensorflow()  # before anything below or the caller imports TensorFlow (through keras or tf.data)

from musickit.errors import DataSourceError, MidiReadError, MusickitError, UsageError  # noqa: E402
from musickit.music import Note, Score, read_midi, write_midi  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "DataSourceError",
    "MidiReadError",
    "MusickitError",
    "Note",
    "Score",
    "UsageError",
    "read_midi",
    "write_midi",
    "__version__",
]
