"""Texture metrics: how many notes sound at once, how dense, how much silence.

``polyphony``, ``polyphony_rate`` and ``empty_beat_rate`` keep MusPy's names.
Time is measured in quarter notes (MusPy counts ticks, which is the same
axis), so tempo changes do not weigh in. Differences from MusPy 0.5:

* ``empty_beat_rate`` treats a beat as the half-open span ``[b, b + 1)``.
  MusPy marks every beat from ``start // resolution`` to
  ``end // resolution`` *inclusive*, so a note that ends exactly on a beat
  also fills the next one, and it counts one extra beat when the piece ends
  on a beat. A crotchet, a crotchet rest and a crotchet have one empty beat
  in three here (1/3) and none in MusPy (0.0).
* ``polyphony_rate`` keeps MusPy's (and MuseGAN's, and pypianoroll's) rule
  that a step counts when *more than* ``threshold`` pitches sound, so the
  default ``threshold=2`` counts three or more pitches.
"""

import math

import numpy as np

from musickit.metrics.timeline import merged_intervals, note_times, union_length
from musickit.metrics.undefined import undefined

EMPTY_PIECE = "empty piece (no notes)"


def _pitch_intervals(notes):
    """One sorted list of disjoint sounding intervals per pitch (two tracks on one key sound once)."""
    intervals = {}
    for pitch in np.unique(notes.pitch):
        mask = notes.pitch == pitch
        intervals[int(pitch)] = merged_intervals(notes.start[mask], notes.end[mask])
    return intervals


def polyphony(score):
    """Average number of distinct pitched keys sounding, over the time at least one sounds.

    >>> from musickit.music.score import Note, Score
    >>> notes = [Note(60, 90, 0.0, 1.0), Note(64, 90, 0.0, 0.5)]  # two keys for half the time
    >>> polyphony(Score(notes=notes))
    1.5
    """
    notes = note_times(score).pitched
    sounding = union_length(notes.start, notes.end)
    if sounding <= 0:
        return undefined("no pitched notes")
    covered = sum(end - start for spans in _pitch_intervals(notes).values() for start, end in spans)
    return float(covered / sounding)


def polyphony_rate(score, threshold=2):
    """Share of the piece (from 0 to the last note end, drums included) with more than ``threshold`` pitched keys on."""
    all_notes = note_times(score)
    length = all_notes.length
    if length <= 0:
        return undefined(EMPTY_PIECE)
    events = []
    for spans in _pitch_intervals(all_notes.pitched).values():
        for start, end in spans:
            events += [(start, 1), (end, -1)]
    events.sort()
    above, active, previous = 0.0, 0, 0.0
    for time, change in events:
        if active > threshold:
            above += time - previous
        active += change
        previous = time
    return float(above / length)


def note_density(score, steps_per_quarter=4):
    """Pitched notes per grid step (a sixteenth by default) over the whole piece.

    >>> from musickit.music.score import Note, Score
    >>> note_density(Score(notes=[Note(60, 90, 0.0, 0.5), Note(64, 90, 0.0, 0.5)]))  # 2 notes, 4 steps
    0.5
    """
    notes = note_times(score)
    if notes.length <= 0:
        return undefined(EMPTY_PIECE)
    return float(len(notes.pitched) / (notes.length * steps_per_quarter))


def empty_beat_rate(score):
    """Share of beats (quarter notes from 0 to the end) in which no note, drum or pitched, sounds.

    >>> from musickit.music.score import Note, Score
    >>> round(empty_beat_rate(Score(notes=[Note(60, 90, 0.0, 0.5), Note(60, 90, 1.0, 1.5)])), 3)  # 120 qpm
    0.333
    """
    notes = note_times(score)
    if notes.length <= 0:
        return undefined(EMPTY_PIECE)
    beats = max(int(math.ceil(notes.length)), 1)
    filled = np.zeros(beats, dtype=bool)
    for start, end in zip(notes.start, notes.end):
        first = int(math.floor(start))
        last = max(int(math.ceil(end)) - 1, first)  # [start, end) touches beats first..last
        filled[first : last + 1] = True
    return float(1.0 - filled.mean())
