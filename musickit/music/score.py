"""The score: musickit's in-memory piece of music.

A :class:`Score` holds notes in seconds (like pretty_midi and note-seq), the
tempo map that converts seconds to beats, time and key signatures, section
markers and free metadata (style, title, sections). It is deliberately plain
data: I/O lives in :mod:`musickit.music.midi_io` and
:mod:`musickit.music.music21_io`, grid work in
:mod:`musickit.music.quantization`.
"""

import bisect
import dataclasses

#: The tempo of a piece that states none, in quarter notes per minute (the MIDI default): the one default
#: tempo of musickit, used when reading, tokenizing and writing pieces without a tempo.
DEFAULT_QPM = 120.0
#: The section letters a piece's form is written in, in order (markers "A" .. "D"); a section's id is its
#: index. musickit.representations.conditions re-exports them with the other condition classes.
SECTION_LETTERS = ("A", "B", "C", "D")


@dataclasses.dataclass
class Note:
    """One note. Times are in seconds; ``program`` is the General MIDI program.

    ``instrument`` is the index of the track/part the note came from, so two
    parts playing the same program stay apart.
    """

    pitch: int
    velocity: int
    start: float
    end: float
    program: int = 0
    is_drum: bool = False
    instrument: int = 0

    @property
    def duration(self):
        return self.end - self.start


@dataclasses.dataclass
class TempoChange:
    time: float
    qpm: float


@dataclasses.dataclass
class TimeSignature:
    time: float
    numerator: int
    denominator: int


@dataclasses.dataclass
class KeySignature:
    """A key from ``time`` on, named like ``"C major"`` or ``"F# minor"``."""

    time: float
    key: str


@dataclasses.dataclass
class Marker:
    """A text marker, e.g. a section label ``"A"`` (one of :data:`SECTION_LETTERS`) written as a MIDI marker event."""

    time: float
    text: str


@dataclasses.dataclass
class Score:
    """A piece of music.

    Example:

    >>> score = Score(notes=[Note(60, 100, 0.0, 0.5), Note(64, 100, 0.5, 1.0)])
    >>> score.end_time
    1.0
    >>> score.seconds_to_quarters(1.0)  # 120 qpm by default
    2.0
    """

    notes: list[Note] = dataclasses.field(default_factory=list)
    tempos: list[TempoChange] = dataclasses.field(default_factory=list)
    time_signatures: list[TimeSignature] = dataclasses.field(default_factory=list)
    key_signatures: list[KeySignature] = dataclasses.field(default_factory=list)
    markers: list[Marker] = dataclasses.field(default_factory=list)
    metadata: dict = dataclasses.field(default_factory=dict)

    @property
    def end_time(self):
        return max((note.end for note in self.notes), default=0.0)

    @property
    def pitched_notes(self):
        return [note for note in self.notes if not note.is_drum]

    def copy(self):
        return dataclasses.replace(
            self,
            notes=[dataclasses.replace(note) for note in self.notes],
            tempos=list(self.tempos),
            time_signatures=list(self.time_signatures),
            key_signatures=list(self.key_signatures),
            markers=list(self.markers),
            metadata=dict(self.metadata),
        )

    # The tempo map. Tempo is piecewise constant, so seconds and quarters are
    # related by a piecewise linear function with one segment per tempo change.
    def _tempo_segments(self):
        tempos = sorted(self.tempos, key=lambda tempo: tempo.time) or [TempoChange(0.0, DEFAULT_QPM)]
        if tempos[0].time > 0:
            tempos = [TempoChange(0.0, tempos[0].qpm)] + tempos
        seconds, quarters, rates = [], [], []
        elapsed_quarters = 0.0
        for index, tempo in enumerate(tempos):
            if index:
                previous = tempos[index - 1]
                elapsed_quarters += (tempo.time - previous.time) * previous.qpm / 60.0
            seconds.append(tempo.time)
            quarters.append(elapsed_quarters)
            rates.append(tempo.qpm / 60.0)
        return seconds, quarters, rates

    def seconds_to_quarters(self, time):
        """Position in quarter notes of ``time`` seconds, following tempo changes."""
        return self.seconds_to_quarters_function()(time)

    def seconds_to_quarters_function(self):
        """A fast ``seconds -> quarters`` function for many calls (the tempo map is built once).

        >>> Score().seconds_to_quarters_function()(1.5)
        3.0
        """
        seconds, quarters, rates = self._tempo_segments()

        def to_quarters(time):
            index = max(bisect.bisect_right(seconds, time) - 1, 0)
            return quarters[index] + (time - seconds[index]) * rates[index]

        return to_quarters

    def quarters_to_seconds(self, position):
        """Inverse of :meth:`seconds_to_quarters`."""
        seconds, quarters, rates = self._tempo_segments()
        index = max(bisect.bisect_right(quarters, position) - 1, 0)
        return seconds[index] + (position - quarters[index]) / rates[index]

    @property
    def initial_qpm(self):
        tempos = sorted(self.tempos, key=lambda tempo: tempo.time)
        return tempos[0].qpm if tempos else DEFAULT_QPM
