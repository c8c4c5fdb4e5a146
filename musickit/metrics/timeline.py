"""Notes as arrays of positions in quarter notes, the time axis of the metrics.

Metrics measure musical time, not clock time: a piece played faster has the
same polyphony and the same empty beats. MIDI tools (MusPy, pypianoroll)
get that for free by counting ticks; a :class:`~musickit.music.Score` holds
seconds, so this module maps every note through the score's tempo map once,
vectorised, and hands the metrics plain NumPy arrays.
"""

import dataclasses

import numpy as np

# Positions come from ticks -> seconds -> quarters in floating point; snapping
# to this tolerance before floor/modulo keeps a note that starts on beat 3
# from landing at 2.9999999999 and counting in beat 2.
POSITION_TOLERANCE = 1e-6


@dataclasses.dataclass
class NoteTimes:
    """Parallel arrays, one entry per note; ``start``/``end`` in quarter notes."""

    pitch: np.ndarray
    start: np.ndarray
    end: np.ndarray
    is_drum: np.ndarray

    def __len__(self):
        return len(self.pitch)

    def select(self, mask):
        return NoteTimes(self.pitch[mask], self.start[mask], self.end[mask], self.is_drum[mask])

    @property
    def pitched(self):
        return self.select(~self.is_drum)

    @property
    def drums(self):
        return self.select(self.is_drum)

    @property
    def length(self):
        """End of the last note in quarters (0 for an empty piece); a piece starts at 0."""
        return float(self.end.max()) if len(self) else 0.0


def seconds_to_quarters(score, seconds):
    """Vectorised :meth:`Score.seconds_to_quarters` for an array of times."""
    seconds = np.asarray(seconds, dtype=float)
    tempos = sorted(score.tempos, key=lambda tempo: tempo.time)
    if not tempos:
        return seconds * score.initial_qpm / 60.0
    knots = np.array([0.0] + [tempo.time for tempo in tempos if tempo.time > 0])
    knot_quarters = np.array([score.seconds_to_quarters(time) for time in knots])
    rates = np.array([_qpm_at(tempos, time) / 60.0 for time in knots])
    index = np.clip(np.searchsorted(knots, seconds, side="right") - 1, 0, len(knots) - 1)
    return knot_quarters[index] + (seconds - knots[index]) * rates[index]


def _qpm_at(tempos, time):
    qpm = tempos[0].qpm
    for tempo in tempos:
        if tempo.time <= time:
            qpm = tempo.qpm
    return qpm


def note_times(score):
    """The notes of ``score`` as :class:`NoteTimes` in quarter notes.

    Example:

    >>> from musickit.music.score import Note, Score, TempoChange
    >>> score = Score(notes=[Note(60, 90, 0.0, 0.5)], tempos=[TempoChange(0.0, 60.0)])
    >>> note_times(score).end.tolist()  # half a second at 60 qpm is half a quarter
    [0.5]
    """
    notes = score.notes
    starts = seconds_to_quarters(score, [note.start for note in notes])
    ends = seconds_to_quarters(score, [note.end for note in notes])
    return NoteTimes(
        pitch=np.array([note.pitch for note in notes], dtype=int),
        start=_snap(starts),
        end=np.maximum(_snap(ends), _snap(starts)),
        is_drum=np.array([note.is_drum for note in notes], dtype=bool),
    )


def _snap(positions):
    """Round positions that are within POSITION_TOLERANCE of a whole multiple of 1/960 quarter."""
    positions = np.asarray(positions, dtype=float)
    grid = np.round(positions * 960.0) / 960.0
    return np.where(np.abs(positions - grid) < POSITION_TOLERANCE, grid, positions)


def merged_intervals(starts, ends):
    """The union of ``[start, end)`` intervals as a sorted list of disjoint ``(start, end)`` pairs."""
    merged = []
    for start, end in sorted(zip(starts, ends)):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def union_length(starts, ends):
    """Total length covered by the union of half-open intervals ``[start, end)``."""
    return float(sum(end - start for start, end in merged_intervals(starts, ends)))
