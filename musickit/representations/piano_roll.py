"""Piano roll: one row per grid step, one column per key.

The score is first snapped to a grid of ``steps_per_quarter`` steps per
quarter note (:func:`musickit.music.quantize`, which follows tempo changes).
A key is "on" at every step a note sounds. These rules decide the cases a
grid cannot hold, and :meth:`PianoRoll.encode_with_counts` reports how often
each one fired:

* notes outside ``[lowest_pitch, lowest_pitch + num_pitches)`` are dropped;
* drum notes are left out unless ``include_drums`` (a drum "pitch" is a
  sound, not a key);
* a note that rounds to zero length keeps one step (its onset is music);
* of notes of one pitch starting on the same step only the longest is kept
  (the loudest among equally long ones);
* when a note of one pitch starts while an earlier note of that pitch still
  sounds, the earlier note is cut where the later one starts.

Without an onset channel a roll cannot tell two back-to-back notes of one
pitch from one long note, so decoding joins them. With ``onset_channel=True``
the roll has a second channel that marks the step each note starts, and
repeated or overlapping notes survive the round trip.

The roll has no vocabulary: ``vocabulary_size`` is ``None``.
"""

import numpy as np

from musickit.errors import UsageError
from musickit.music.quantization import QuantizedScore, quantize
from musickit.music.score import DEFAULT_QPM, Note, Score, TempoChange
from musickit.representations.base import Representation

SUSTAIN, ONSET = 0, 1


class PianoRoll(Representation):
    """A score as a ``(steps, num_pitches)`` float32 array (``(steps, num_pitches, 2)`` with onsets).

    Args:
        steps_per_quarter: grid resolution; 4 is a sixteenth-note grid.
        lowest_pitch: MIDI pitch of column 0 (21 is the piano's A0).
        num_pitches: number of columns (88 piano keys).
        onset_channel: add a second channel (index 1) that is on only at the
            step a note starts; channel 0 holds the sustained note.
        velocity: store ``velocity / 127`` instead of 1 for sounding keys.
        include_drums: keep drum notes (by their General MIDI drum number).

    Example:

    >>> from musickit.music.score import Note, Score
    >>> roll = PianoRoll().encode(Score(notes=[Note(60, 90, 0.0, 0.5)]))  # 120 qpm: 4 steps
    >>> roll.shape, roll[:, 60 - 21].tolist()
    ((4, 88), [1.0, 1.0, 1.0, 1.0])
    >>> [(note.pitch, note.start, note.end) for note in PianoRoll().decode(roll).notes]
    [(60, 0.0, 0.5)]
    """

    def __init__(
        self,
        steps_per_quarter=4,
        lowest_pitch=21,
        num_pitches=88,
        onset_channel=False,
        velocity=False,
        include_drums=False,
    ):
        if int(steps_per_quarter) != steps_per_quarter or steps_per_quarter < 1:
            raise UsageError(f"steps_per_quarter must be a positive whole number, got {steps_per_quarter!r}")
        if not 0 <= lowest_pitch <= 127 or num_pitches < 1 or lowest_pitch + num_pitches > 128:
            raise UsageError(
                f"pitches {lowest_pitch}..{lowest_pitch + num_pitches - 1} leave the MIDI range 0..127; "
                f"choose lowest_pitch >= 0 and lowest_pitch + num_pitches <= 128"
            )
        self.steps_per_quarter = int(steps_per_quarter)
        self.lowest_pitch = int(lowest_pitch)
        self.num_pitches = int(num_pitches)
        self.onset_channel = bool(onset_channel)
        self.velocity = bool(velocity)
        self.include_drums = bool(include_drums)

    def get_config(self):
        return {
            "steps_per_quarter": self.steps_per_quarter,
            "lowest_pitch": self.lowest_pitch,
            "num_pitches": self.num_pitches,
            "onset_channel": self.onset_channel,
            "velocity": self.velocity,
            "include_drums": self.include_drums,
        }

    @property
    def highest_pitch(self):
        return self.lowest_pitch + self.num_pitches - 1

    @property
    def frame_shape(self):
        """Shape of one step of the roll: ``(num_pitches,)`` or ``(num_pitches, 2)``."""
        return (self.num_pitches, 2) if self.onset_channel else (self.num_pitches,)

    def encode(self, score):
        """The roll of ``score`` (a :class:`Score`, or a :class:`QuantizedScore` on this grid)."""
        return self.encode_with_counts(score)[0]

    def encode_with_counts(self, score):
        """``(roll, counts)``; ``counts`` says how many notes each rule in the module docstring touched.

        Example:

        >>> from musickit.music.score import Note, Score
        >>> notes = [Note(60, 90, 0.0, 1.0), Note(60, 90, 0.5, 1.0), Note(10, 90, 0.0, 1.0)]
        >>> _, counts = PianoRoll().encode_with_counts(Score(notes=notes))
        >>> counts["overlapping_notes_cut"], counts["out_of_range_notes_dropped"]
        (1, 1)
        """
        quantized = self._quantize(score)
        notes = quantized.notes
        counts = {
            "notes": len(notes),
            "drum_notes_excluded": 0,
            "out_of_range_notes_dropped": 0,
            "lengthened_zero_length_notes": int(quantized.counts.get("lengthened_zero_length_notes", 0)),
            "duplicate_onsets_merged": 0,
            "overlapping_notes_cut": 0,
        }
        if not self.include_drums:
            counts["drum_notes_excluded"] = sum(note.is_drum for note in notes)
            notes = [note for note in notes if not note.is_drum]
        kept = [note for note in notes if self.lowest_pitch <= note.pitch <= self.highest_pitch]
        counts["out_of_range_notes_dropped"] = len(notes) - len(kept)

        table = np.array(
            [(note.pitch - self.lowest_pitch, note.start_step, note.end_step, note.velocity) for note in kept],
            dtype=np.int64,
        ).reshape(-1, 4)
        columns, starts, ends, velocities, duplicates, cuts = _resolve_same_pitch(table)
        counts["duplicate_onsets_merged"], counts["overlapping_notes_cut"] = duplicates, cuts
        counts["notes_encoded"] = len(columns)

        total_steps = int(ends.max()) if len(ends) else 0
        roll = np.zeros((total_steps,) + self.frame_shape, dtype=np.float32)
        values = velocities / 127.0 if self.velocity else np.ones(len(columns))
        sustain = roll[..., SUSTAIN] if self.onset_channel else roll
        for column, start, end, value in zip(columns.tolist(), starts.tolist(), ends.tolist(), values.tolist()):
            sustain[start:end, column] = value
        if self.onset_channel:
            roll[starts, columns, ONSET] = values
        return roll, counts

    def decode(self, roll, qpm=DEFAULT_QPM, velocity=90, program=0):
        """Notes from a roll, played at ``qpm`` with one ``program``.

        A key counts as on where its (sustain) value is above zero. A note
        starts where a key turns on, and also, with an onset channel, at every
        marked onset while the key stays on. With ``velocity=True`` rolls the
        note's velocity is read from the roll at its first step; otherwise
        every note gets ``velocity``.

        Example:

        >>> import numpy as np
        >>> roll = np.zeros((8, 88, 2), dtype="float32")
        >>> roll[0:8, 60 - 21, 0] = 1  # one key held for 8 steps ...
        >>> roll[[0, 4], 60 - 21, 1] = 1  # ... struck twice
        >>> [(n.start, n.end) for n in PianoRoll(onset_channel=True).decode(roll).notes]
        [(0.0, 0.5), (0.5, 1.0)]
        """
        roll = np.asarray(roll)
        if roll.ndim != len(self.frame_shape) + 1 or roll.shape[1:] != self.frame_shape:
            raise UsageError(
                f"expected a roll of shape (steps, {', '.join(map(str, self.frame_shape))}) for {self!r}, "
                f"got {roll.shape}"
            )
        if qpm <= 0:
            raise UsageError(f"qpm must be positive, got {qpm}")
        sustain = roll[..., SUSTAIN] if self.onset_channel else roll
        active = sustain > 0
        was_active = np.zeros_like(active)
        was_active[1:] = active[:-1]
        starts = active & ~was_active
        if self.onset_channel:
            starts |= active & (roll[..., ONSET] > 0)
        # A note ends after step t when the key is off at t + 1 or a new note starts there.
        continues = np.zeros_like(active)
        continues[:-1] = active[1:] & ~starts[1:]
        ends = active & ~continues
        # Transposed, nonzero() walks key by key in time order, so the k-th
        # start and the k-th end of the whole array belong to the same note.
        start_columns, start_steps = np.nonzero(starts.T)
        _, end_steps = np.nonzero(ends.T)
        if self.velocity:
            raw = np.rint(sustain[start_steps, start_columns] * 127.0)
            velocities = np.clip(raw, 1, 127).astype(int).tolist()
        else:
            velocities = [int(velocity)] * len(start_steps)
        seconds_per_step = 60.0 / (qpm * self.steps_per_quarter)
        order = np.lexsort((start_columns, start_steps))
        notes = [
            Note(
                pitch=int(start_columns[index]) + self.lowest_pitch,
                velocity=velocities[index],
                start=float(start_steps[index]) * seconds_per_step,
                end=float(end_steps[index] + 1) * seconds_per_step,
                program=int(program),
            )
            for index in order.tolist()
        ]
        return Score(notes=notes, tempos=[TempoChange(0.0, float(qpm))])

    def _quantize(self, score):
        if isinstance(score, QuantizedScore):
            if score.steps_per_quarter != self.steps_per_quarter:
                raise UsageError(
                    f"score is quantized to {score.steps_per_quarter} steps per quarter but this piano roll "
                    f"uses {self.steps_per_quarter}; quantize the Score again or pass the Score itself"
                )
            return score
        if not isinstance(score, Score):
            raise UsageError(f"PianoRoll.encode expects a musickit Score, got {type(score).__name__}")
        return quantize(score, self.steps_per_quarter)


def _resolve_same_pitch(table):
    """Apply the same-pitch rules to rows ``(column, start, end, velocity)``.

    Returns the surviving columns, starts, ends and velocities, sorted by
    column then start, plus the number of merged duplicate onsets and of cut
    notes.
    """
    if not len(table):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, 0, 0
    # Sort by column, start, then longest and loudest first, so that of notes
    # sharing a column and a start the first row is the one to keep.
    order = np.lexsort((-table[:, 3], -table[:, 2], table[:, 1], table[:, 0]))
    table = table[order]
    columns, starts, ends, velocities = table.T
    duplicate = np.zeros(len(table), dtype=bool)
    duplicate[1:] = (columns[1:] == columns[:-1]) & (starts[1:] == starts[:-1])
    keep = ~duplicate
    columns, starts, ends, velocities = columns[keep], starts[keep], ends[keep], velocities[keep]
    # Starts are now strictly increasing within a column: cut each note at the next onset of its key.
    next_start = np.full(len(columns), np.iinfo(np.int64).max)
    same_key = columns[1:] == columns[:-1]
    next_start[:-1][same_key] = starts[1:][same_key]
    cut = next_start < ends
    ends = np.where(cut, next_start, ends)
    return columns, starts, ends, velocities, int(duplicate.sum()), int(cut.sum())
