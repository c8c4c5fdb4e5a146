"""Exceptions that musickit raises on purpose.

Every error a user can cause has a class here, so callers can catch the
exact kind they expect and command-line entry points can turn them into one
readable line instead of a traceback.
"""


class MusickitError(Exception):
    """Base class for errors that musickit raises deliberately."""


class MidiReadError(MusickitError, ValueError):
    """A MIDI (or score) file could not be read.

    The message always names the file and the reason, for example
    ``MidiReadError: song.mid: not a MIDI file (no MThd header)``.

    Example:

    >>> import musickit
    >>> try:
    ...     musickit.read_midi("missing.mid")
    ... except musickit.MidiReadError as error:
    ...     print(error.path, error.reason)
    missing.mid file does not exist
    """

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = str(reason)
        super().__init__(f"{self.path}: {self.reason}")


class DataSourceError(MusickitError, ValueError):
    """A data-source string names nothing usable (missing path, empty folder, unknown name)."""


class UsageError(MusickitError, ValueError):
    """An impossible flag or setting; the message says what to do instead."""
