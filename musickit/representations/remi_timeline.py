"""The timed events of a quantized piece as REMI+ writes them: notes, tempos, metre, markers and bars.

Pure functions over a :class:`~musickit.music.quantization.QuantizedScore`
(no tokens): :class:`~musickit.representations.remi.REMITokenizer` turns
their output into ids. Every step is in grid steps, already shifted by the
pickup offset where the function takes one.

Example:

>>> last_per_step([(4, "a"), (0, "b"), (4, "c")])
[(0, 'b'), (4, 'c')]
>>> parse_time_signature("6/8")
(6, 8)
"""

import numpy as np

from musickit.errors import UsageError
from musickit.music.quantization import QuantizedScore, quantize
from musickit.music.score import Score

#: Columns of :func:`note_table`.
START, PROGRAM, PITCH, LENGTH, VELOCITY = range(5)
#: The program key that sorts drums after every pitched program.
DRUM_PROGRAM = 128


def quantized_on_grid(score, steps_per_quarter):
    """``score`` quantized to ``steps_per_quarter`` (a :class:`QuantizedScore` on that grid is kept as it is)."""
    if isinstance(score, QuantizedScore):
        if score.steps_per_quarter != steps_per_quarter:
            raise UsageError(
                f"score is quantized to {score.steps_per_quarter} steps per quarter but this tokenizer uses "
                f"{steps_per_quarter}; quantize the Score again or pass the Score itself"
            )
        return score
    if not isinstance(score, Score):
        raise UsageError(f"REMITokenizer.encode expects a musickit Score, got {type(score).__name__}")
    return quantize(score, steps_per_quarter)


def parse_time_signature(text):
    """``(numerator, denominator)`` from ``"3/4"``; a one-line :class:`UsageError` for anything else."""
    try:
        numerator, denominator = (int(part) for part in str(text).split("/"))
    except ValueError:
        raise UsageError(f"time signature {text!r} should look like '3/4'") from None
    if numerator < 1 or denominator < 1:
        raise UsageError(f"time signature {text!r} needs positive numbers")
    return numerator, denominator


def pickup_offset(quantized):
    """Steps to delay a piece so that its pickup ends a full first bar (0 without a pickup)."""
    pickup_steps = round(quantized.metadata.get("pickup_quarters", 0) * quantized.steps_per_quarter)
    first_bar = quantized.steps_per_bar_at(0)
    return first_bar - pickup_steps if 0 < pickup_steps < first_bar else 0


def last_per_step(items):
    """Sorted ``(step, value)`` pairs with one entry per step (the last one given wins)."""
    merged = {}
    for step, value in items:
        merged[step] = value
    return sorted(merged.items())


def shifted(step, offset):
    """``step`` delayed by the pickup ``offset``; tempo, metre and sections given at step 0 stay at step 0,
    so they hold from the start, before the pickup."""
    return step + offset if step > 0 else step


def note_table(notes, offset):
    """An int64 ``(notes, 5)`` table in writing order: start (shifted), program (drums last), pitch,
    length in steps and velocity, sorted by start, then program, pitch, length and velocity.

    >>> from musickit.music.quantization import QuantizedNote
    >>> note_table([QuantizedNote(64, 90, 2, 4), QuantizedNote(60, 80, 2, 3, is_drum=True)], offset=1).tolist()
    [[3, 0, 64, 2, 90], [3, 128, 60, 1, 80]]
    """
    rows = [
        (
            note.start_step,
            DRUM_PROGRAM if note.is_drum else note.program,
            note.pitch,
            note.end_step - note.start_step,
            note.velocity,
        )
        for note in notes
    ]
    table = np.array(rows, dtype=np.int64).reshape(-1, 5)
    table = table[np.lexsort(table.T[::-1])]
    table[:, START] += offset
    return table


def tempo_changes(quantized, offset, default_qpm):
    """``[(step, qpm)]`` with one entry per step and a tempo at step 0 (the first one, or ``default_qpm``)."""
    tempos = last_per_step((shifted(step, offset), value) for step, value in quantized.tempos) or [(0, default_qpm)]
    if tempos[0][0] > 0:
        tempos.insert(0, (0, tempos[0][1]))
    return tempos


def signature_changes(quantized, offset):
    """``[(step, (numerator, denominator))]``, one per step, leaving out repeats of the signature in force:
    a repeated signature (common in files with one per part) must not start a bar where it falls."""
    changes = []
    for step, signature in last_per_step((shifted(step, offset), (n, d)) for step, n, d in quantized.time_signatures):
        if not changes or changes[-1][1] != signature:
            changes.append((step, signature))
    return changes


def bar_starts(steps_per_quarter, horizon, signatures):
    """The first step of every bar up to ``horizon``, laid out as :meth:`QuantizedScore.bar_starts` does
    (a signature change inside a bar starts a new bar there)."""
    layout = QuantizedScore(
        [], steps_per_quarter, horizon, metadata={}, time_signatures=[(step, n, d) for step, (n, d) in signatures]
    )
    return layout.bar_starts()
