"""Repetition metrics: a generator stuck in a loop repeats bars and frames.

Some repetition is music (a chorale repeats its first phrase); a model that
has collapsed repeats far more than its training data does, so compare these
with the reference set's values rather than reading them alone.
"""

import numpy as np

from musickit.metrics.undefined import undefined
from musickit.music.quantization import quantize
from musickit.representations.piano_roll import PianoRoll


def repeated_bar_ratio(score, steps_per_quarter=4):
    """Share of bars with notes whose content exactly repeats an earlier bar.

    A bar's content is the set of notes starting in it, as (pitch, drum,
    onset step within the bar, length cut at the bar line) on the grid.
    Bars without onsets are not counted either way.

    >>> from musickit.music.score import Note, Score
    >>> bar = [(60, 0.0), (64, 0.5), (67, 1.0)]  # 4/4 at 120 qpm: a bar is 2 s
    >>> notes = [Note(p, 90, b * 2.0 + t, b * 2.0 + t + 0.5) for b in range(4) for p, t in bar]
    >>> repeated_bar_ratio(Score(notes=notes))  # bars 2, 3 and 4 repeat bar 1
    0.75
    """
    quantized = quantize(score, steps_per_quarter)
    if not quantized.notes:
        return undefined("empty piece (no notes)")
    starts = quantized.bar_starts()
    ends = starts[1:] + [max(quantized.total_steps, starts[-1] + 1)]
    contents = [set() for _ in starts]
    bar_of = np.searchsorted(np.array(starts), [note.start_step for note in quantized.notes], side="right") - 1
    for note, bar in zip(quantized.notes, bar_of):
        length = min(note.end_step, ends[bar]) - note.start_step
        contents[bar].add((note.pitch, note.is_drum, note.start_step - starts[bar], length))
    seen, repeated, counted = set(), 0, 0
    for content in contents:
        if not content:
            continue
        key = frozenset(content)
        counted += 1
        repeated += key in seen
        seen.add(key)
    return float(repeated / counted)


def repeated_frame_ratio(roll, lag=None, steps_per_quarter=4):
    """Share of non-empty piano-roll frames identical to the frame ``lag`` steps earlier.

    ``roll`` is a ``(steps, keys)`` array (any values; non-zero means on) or
    a :class:`~musickit.music.Score`, which is rolled on a
    ``steps_per_quarter`` grid over all 128 pitches. ``lag`` defaults to one
    bar: the bar of the score's first time signature, or a 4/4 bar for an
    array. ``lag=1`` instead measures frozen frames (a chord held or
    re-struck without change), which a roll cannot tell apart.

    >>> import numpy as np
    >>> roll = np.zeros((8, 88)); roll[:, 39] = 1; roll[4:, 43] = 1  # C held, G joins at step 4
    >>> round(repeated_frame_ratio(roll, lag=1), 3)  # 6 of the 7 frames after the first repeat
    0.857
    """
    if not isinstance(roll, np.ndarray):
        score = roll
        if lag is None:
            lag = quantize(score, steps_per_quarter).steps_per_bar_at(0)
        roll = PianoRoll(steps_per_quarter, lowest_pitch=0, num_pitches=128, include_drums=True).encode(score)
    roll = np.asarray(roll) != 0
    if not len(roll):
        return undefined("empty piano roll")
    roll = roll.reshape(len(roll), -1)
    lag = int(lag if lag is not None else 4 * steps_per_quarter)
    if lag < 1:
        raise ValueError(f"lag must be a positive number of steps, got {lag}")
    current, earlier = roll[lag:], roll[:-lag]
    active = current.any(axis=1)
    if not active.any():
        return undefined("no sounding frames after the first lag")
    same = (current == earlier).all(axis=1)
    return float(same[active].mean())
