"""Quantization of a score to a beat grid, and bar/beat positions.

The grid is defined in beats, not seconds: times go through the score's tempo
map first, so a tempo change moves the grid with the music. Bars follow the
time signatures (a 3/4 bar at 4 steps per quarter is 12 steps).

Rules (applied here, counted in :class:`QuantizedScore.counts`):

* a note that rounds to zero length is kept one step long (its onset is music);
* times snap to the nearest step.
"""

import dataclasses

from musickit.music.score import DEFAULT_QPM, KeySignature, Marker, Note, Score, TempoChange, TimeSignature


@dataclasses.dataclass
class QuantizedNote:
    pitch: int
    velocity: int
    start_step: int
    end_step: int
    program: int = 0
    is_drum: bool = False
    instrument: int = 0


@dataclasses.dataclass
class QuantizedScore:
    """A score on a grid of ``steps_per_quarter`` steps per quarter note.

    Every list holds ``(step, ...)`` items instead of seconds.
    """

    notes: list[QuantizedNote]
    steps_per_quarter: int
    total_steps: int
    tempos: list = dataclasses.field(default_factory=list)  # (step, qpm)
    time_signatures: list = dataclasses.field(default_factory=list)  # (step, numerator, denominator)
    key_signatures: list = dataclasses.field(default_factory=list)  # (step, key name)
    markers: list = dataclasses.field(default_factory=list)  # (step, text)
    metadata: dict = dataclasses.field(default_factory=dict)
    counts: dict = dataclasses.field(default_factory=dict)

    def steps_per_bar_at(self, step):
        numerator, denominator = 4, 4
        for change_step, change_numerator, change_denominator in sorted(self.time_signatures):
            if change_step <= step:
                numerator, denominator = change_numerator, change_denominator
        return max(1, round(numerator * 4 / denominator * self.steps_per_quarter))

    def bar_starts(self):
        """Steps at which bars begin, from 0 to the end of the piece.

        A pickup (``metadata["pickup_quarters"]``, set for anacruses in the
        music21 corpora) makes the first bar that short.
        """
        starts, step = [], 0
        pickup_steps = round(self.metadata.get("pickup_quarters", 0) * self.steps_per_quarter)
        if 0 < pickup_steps < self.total_steps:
            starts, step = [0], pickup_steps
        while step < max(self.total_steps, 1):
            starts.append(step)
            next_step = step + self.steps_per_bar_at(step)
            # A time signature change inside a bar starts a new bar there.
            changes = [change[0] for change in self.time_signatures if step < change[0] < next_step]
            step = min(changes) if changes else next_step
        return starts

    def position(self, step):
        """``(bar_index, step_in_bar)`` of a step.

        >>> quantized = QuantizedScore([], 4, 32, time_signatures=[(0, 3, 4)])
        >>> quantized.position(13)
        (1, 1)
        """
        starts = self.bar_starts()
        bar_index = max(index for index, start in enumerate(starts) if start <= step) if step >= 0 else 0
        if step >= starts[-1] + self.steps_per_bar_at(starts[-1]):
            # Past the last note: keep counting bars of the final length.
            length = self.steps_per_bar_at(starts[-1])
            extra = (step - starts[-1]) // length
            return bar_index + extra, (step - starts[-1]) % length
        return bar_index, step - starts[bar_index]


def quantize(score, steps_per_quarter=4):
    """Snap ``score`` to a grid of ``steps_per_quarter`` steps per quarter note.

    Example:

    >>> from musickit.music.score import Note, Score
    >>> quantized = quantize(Score(notes=[Note(60, 80, 0.0, 0.24), Note(62, 80, 0.5, 0.5)]))
    >>> [(note.start_step, note.end_step) for note in quantized.notes]  # 120 qpm: 0.125 s per step
    [(0, 2), (4, 5)]
    """

    to_quarters = score.seconds_to_quarters_function()  # built once: quantize is on the hot path of every encoder

    def to_step(time):
        return int(round(to_quarters(time) * steps_per_quarter))

    notes, lengthened = [], 0
    for note in score.notes:
        start, end = to_step(note.start), to_step(note.end)
        if end <= start:
            end, lengthened = start + 1, lengthened + 1
        notes.append(QuantizedNote(note.pitch, note.velocity, start, end, note.program, note.is_drum, note.instrument))
    notes.sort(key=lambda note: (note.start_step, note.pitch, note.end_step))
    total_steps = max((note.end_step for note in notes), default=0)
    return QuantizedScore(
        notes=notes,
        steps_per_quarter=steps_per_quarter,
        total_steps=total_steps,
        tempos=[(to_step(tempo.time), tempo.qpm) for tempo in sorted(score.tempos, key=lambda t: t.time)],
        time_signatures=[(to_step(s.time), s.numerator, s.denominator) for s in score.time_signatures],
        key_signatures=[(to_step(k.time), k.key) for k in score.key_signatures],
        markers=[(to_step(m.time), m.text) for m in score.markers],
        metadata=dict(score.metadata),
        counts={"lengthened_zero_length_notes": lengthened},
    )


def unquantize(quantized, qpm=None):
    """Turn a :class:`QuantizedScore` back into a :class:`Score` in seconds.

    With ``qpm`` the whole piece gets that tempo; otherwise the quantized
    tempo map is used (``DEFAULT_QPM``, 120, when it has none).
    """
    tempo_steps = [(0, qpm)] if qpm else (sorted(quantized.tempos) or [(0, DEFAULT_QPM)])
    if tempo_steps[0][0] > 0:  # the first tempo also holds before it, so nothing lands before time 0
        tempo_steps = [(0, tempo_steps[0][1])] + tempo_steps
    # Cumulative seconds at each tempo change: (step, seconds, qpm).
    segments = []
    elapsed = 0.0
    for index, (step, value) in enumerate(tempo_steps):
        if index:
            previous_step, previous_qpm = tempo_steps[index - 1]
            elapsed += (step - previous_step) / quantized.steps_per_quarter * 60.0 / previous_qpm
        segments.append((step, elapsed, value))

    def to_seconds(step):
        segment = segments[0]
        for candidate in segments:
            if candidate[0] <= step:
                segment = candidate
        segment_step, segment_seconds, segment_qpm = segment
        return segment_seconds + (step - segment_step) / quantized.steps_per_quarter * 60.0 / segment_qpm

    return Score(
        notes=[
            Note(
                n.pitch,
                n.velocity,
                to_seconds(n.start_step),
                to_seconds(n.end_step),
                n.program,
                n.is_drum,
                n.instrument,
            )
            for n in quantized.notes
        ],
        tempos=[TempoChange(seconds, value) for _, seconds, value in segments],
        time_signatures=[TimeSignature(to_seconds(s), n, d) for s, n, d in quantized.time_signatures],
        key_signatures=[KeySignature(to_seconds(s), k) for s, k in quantized.key_signatures],
        markers=[Marker(to_seconds(s), t) for s, t in quantized.markers],
        metadata=dict(quantized.metadata),
    )
