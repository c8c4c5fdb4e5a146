"""Per-piece features that tell noise from music (issue 17).

Each is a pure function of a :class:`~musickit.music.Score`; where a value
does not exist (no pitched notes, no bar) it returns NaN through
:func:`~musickit.metrics.undefined.undefined`, with the reason. Time is in
quarter notes through the score's tempo map (:mod:`musickit.metrics.timeline`),
so the beat grid follows the score's tempo. Drums are left out everywhere.

Definitions:

* **sounding time**: the part of the piece in which at least one pitched
  key sounds. A key is *sounding* in ``[start, end)`` of any of its notes;
  two notes on one key count once.
* **voices** at an instant: the number of distinct keys sounding.
* **semitone clash**: an instant at which two sounding keys are 1 semitone
  (a minor second) or 13 semitones (a minor ninth) apart. The clash
  fraction is clash time over sounding time. Wider dissonances (major
  sevenths, tritones) are common in real counterpoint and left out.
* **metrical level** of an onset, from its position ``q`` in quarters:
  ``beat`` when ``q`` is a whole quarter, ``eighth`` when a half,
  ``sixteenth`` when a quarter of a quarter, ``finer`` otherwise; each
  within :data:`GRID_TOLERANCE` quarters, so a note a tick off the grid
  keeps its level. Positions count from 0 in quarters, so in 6/8 the
  "beat" is the quarter note, not the dotted quarter.
* **duplicate note**: a note with the same key and onset (within the grid
  tolerance) as an earlier note.
* **empty bar**: a bar (from the first time signature, 4/4 by default)
  in which no pitched note starts.

Example:

>>> from musickit.music.score import Note, Score
>>> clash = Score(notes=[Note(60, 90, 0.0, 1.0), Note(61, 90, 0.5, 1.0)])  # 120 qpm: 2 quarters
>>> semitone_clash_fraction(clash)
0.5
>>> max_polyphony(clash)
2
"""

import math

import numpy as np

from musickit.metrics.pitch import estimate_key_fast, in_scale_ratio
from musickit.metrics.timeline import note_times
from musickit.metrics.undefined import undefined
from musickit.music.intervals import CLASH_INTERVALS
from musickit.music.keys import parse_key

NO_PITCHED_NOTES = "no pitched notes"
GRID_TOLERANCE = 1.0 / 48.0  # quarters: a 192nd note; a tick or two off the grid keeps its level
METRICAL_LEVELS = ("beat", "eighth", "sixteenth", "finer")
MAX_VOICES = 8  # the voice-count distribution's last bin holds 8 or more
# Bin edges in quarters for inter-onset intervals and note lengths: a 16th,
# an 8th, a dotted 8th, a quarter, a dotted quarter, a half, a dotted half,
# a whole and longer. A value falls in the first bin whose upper edge it
# does not pass (edges sit between the named lengths).
DURATION_BINS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
_DURATION_EDGES = np.array([0.375, 0.625, 0.875, 1.25, 1.75, 2.5, 3.5])


def _pitched(score):
    return note_times(score).pitched


def sounding_segments(score):
    """``(lengths, key_sets)``: the piece cut where any pitched note starts or ends.

    ``lengths`` are the segments' lengths in quarters from 0 to the last note
    end; ``key_sets`` is a boolean ``(segments, 128)`` matrix of the keys
    sounding in each.

    >>> from musickit.music.score import Note, Score
    >>> lengths, keys = sounding_segments(Score(notes=[Note(60, 90, 0.5, 1.0)]))
    >>> lengths.tolist(), keys.sum(axis=1).tolist()
    ([1.0, 1.0], [0, 1])
    """
    notes = _pitched(score)
    if not len(notes):
        return np.zeros(0), np.zeros((0, 128), dtype=bool)
    bounds = np.unique(np.concatenate([[0.0], notes.start, notes.end]))
    lengths = np.diff(bounds)
    keys = np.zeros((len(lengths), 128), dtype=bool)
    first = np.searchsorted(bounds, notes.start)
    last = np.searchsorted(bounds, notes.end)
    for pitch, begin, end in zip(notes.pitch, first, last):
        keys[begin:end, pitch] = True
    return lengths, keys


def _sounding(score):
    lengths, keys = sounding_segments(score)
    voices = keys.sum(axis=1)
    return lengths, keys, voices, float(lengths[voices > 0].sum())


def semitone_clash_fraction(score):
    """Share of sounding time with two keys a minor second or a minor ninth apart (see the module docstring).

    >>> from musickit.music.score import Note, Score
    >>> triad = Score(notes=[Note(p, 90, 0.0, 1.0) for p in (60, 64, 67)])
    >>> semitone_clash_fraction(triad)
    0.0
    """
    lengths, keys, voices, sounding = _sounding(score)
    if sounding <= 0:
        return undefined(NO_PITCHED_NOTES)
    clashing = np.zeros(len(lengths), dtype=bool)
    for interval in CLASH_INTERVALS:
        clashing |= (keys[:, interval:] & keys[:, :-interval]).any(axis=1)
    return float(lengths[clashing].sum() / sounding)


def voice_count_distribution(score, max_voices=MAX_VOICES):
    """Share of sounding time with exactly 1, 2, ..., ``max_voices`` (or more) keys sounding.

    Returns an array of ``max_voices`` fractions summing to 1, or NaNs without pitched notes.

    >>> from musickit.music.score import Note, Score
    >>> notes = [Note(60, 90, 0.0, 1.0), Note(64, 90, 0.5, 1.0)]  # one key, then two
    >>> voice_count_distribution(Score(notes=notes), max_voices=3).tolist()
    [0.5, 0.5, 0.0]
    """
    lengths, _, voices, sounding = _sounding(score)
    if sounding <= 0:
        undefined(NO_PITCHED_NOTES)
        return np.full(max_voices, math.nan)
    bins = np.clip(voices[voices > 0], 1, max_voices) - 1
    return np.bincount(bins, weights=lengths[voices > 0], minlength=max_voices) / sounding


def voice_count_fraction(score, voices):
    """Share of sounding time with exactly ``voices`` keys sounding (say 4 for a Bach chorale)."""
    lengths, _, counts, sounding = _sounding(score)
    if sounding <= 0:
        return undefined(NO_PITCHED_NOTES)
    return float(lengths[counts == voices].sum() / sounding)


#: The voice floor a corpus gets: the most voices that sound in at least this share of its sounding time.
VOICE_FLOOR_SHARE = 0.85
#: The polyphony cap a corpus gets: the fewest voices that cover at least this share of its sounding time.
#: Not 0.90: the Bach chorales decoded from REMI sound 3, 4, 5 and 6+ voices 8%, 75%, 9% and 7% of the time
#: (a note held into the next chord counts as a fifth voice), so 0.90 gave a cap of 5, and a Music
#: Transformer sampled under it held exactly 4 voices 31% of the time against the held-out pieces' 87%.
VOICE_CAP_SHARE = 0.80


def voice_range(scores):
    """``(floor, cap)``: the voice counts a sampler should keep between to sound like ``scores``.

    From the share of sounding time with 1, 2, ... voices over all
    ``scores``: ``floor`` is the largest count that at least
    :data:`VOICE_FLOOR_SHARE` of that time reaches, ``cap`` the smallest
    count that covers :data:`VOICE_CAP_SHARE` of it. The Bach chorales give
    ``(4, 4)``, monophonic folk tunes ``(1, 1)``; ``(1, 8)`` without pitched notes.

    >>> from musickit.music.score import Note, Score
    >>> chorale = Score(notes=[Note(p, 80, 0.0, 4.0) for p in (48, 55, 64, 72)])
    >>> tune = Score(notes=[Note(60 + i, 80, float(i), 1.0) for i in range(4)])
    >>> voice_range([chorale]), voice_range([tune]), voice_range([chorale, tune])
    ((4, 4), (1, 1), (1, 4))
    """
    total = np.zeros(MAX_VOICES)
    for score in scores:
        lengths, _, counts, sounding = _sounding(score)
        if sounding > 0:
            bins = np.clip(counts[counts > 0], 1, MAX_VOICES) - 1
            total += np.bincount(bins, weights=lengths[counts > 0], minlength=MAX_VOICES)
    if not total.sum():
        return 1, MAX_VOICES
    share = total / total.sum()
    reaching = np.cumsum(share[::-1])[::-1]  # reaching[v - 1]: share of time with at least v voices
    floor = int(np.flatnonzero(reaching >= VOICE_FLOOR_SHARE - 1e-9).max()) + 1
    cap = int(np.flatnonzero(np.cumsum(share) >= VOICE_CAP_SHARE - 1e-9).min()) + 1
    return floor, max(cap, floor)


def max_polyphony(score):
    """The most keys ever sounding at once (0 without pitched notes)."""
    _, _, voices, _ = _sounding(score)
    return int(voices.max()) if len(voices) else 0


def silence_fraction(score):
    """Share of the piece, from 0 to the last note end, in which no pitched key sounds."""
    lengths, _, voices, sounding = _sounding(score)
    if sounding <= 0:
        return undefined(NO_PITCHED_NOTES)
    return float(lengths[voices == 0].sum() / lengths.sum())


def metrical_levels(positions, tolerance=GRID_TOLERANCE):
    """Level index (0 beat, 1 eighth, 2 sixteenth, 3 finer) of each position in quarters.

    >>> metrical_levels([0.0, 1.5, 2.25, 2.1, 3.001]).tolist()
    [0, 1, 2, 3, 0]
    """
    positions = np.asarray(positions, dtype=float)
    levels = np.full(len(positions), 3)
    for level, division in ((2, 4), (1, 2), (0, 1)):  # coarsest last, so it wins
        scaled = positions * division
        levels[np.abs(scaled - np.round(scaled)) <= tolerance * division] = level
    return levels


def onset_metrical_levels(score):
    """Share of pitched note onsets on the beat, the off-beat 8th, the off-beat 16ths, and finer.

    Every note counts (a four-note chord is four onsets). Returns four
    fractions in :data:`METRICAL_LEVELS` order, or NaNs without pitched notes.

    >>> from musickit.music.score import Note, Score
    >>> notes = [Note(60, 90, q / 2, q / 2 + 0.1) for q in (0.0, 1.0, 1.5, 2.0)]  # 120 qpm: seconds = quarters / 2
    >>> onset_metrical_levels(Score(notes=notes)).tolist()
    [0.75, 0.25, 0.0, 0.0]
    """
    notes = _pitched(score)
    if not len(notes):
        undefined(NO_PITCHED_NOTES)
        return np.full(len(METRICAL_LEVELS), math.nan)
    return np.bincount(metrical_levels(notes.start), minlength=len(METRICAL_LEVELS)) / len(notes)


def offbeat_sixteenth_fraction(score):
    """Share of pitched onsets on an off-beat sixteenth (the second or fourth sixteenth of a beat)."""
    levels = onset_metrical_levels(score)
    return float(levels[2]) if not np.isnan(levels[2]) else undefined(NO_PITCHED_NOTES)


def duplicate_note_fraction(score):
    """Share of pitched notes that repeat an earlier note's key and onset (stacked duplicates).

    >>> from musickit.music.score import Note, Score
    >>> duplicate_note_fraction(Score(notes=[Note(60, 90, 0.0, 1.0), Note(60, 80, 0.0, 0.5)]))
    0.5
    """
    notes = _pitched(score)
    if not len(notes):
        return undefined(NO_PITCHED_NOTES)
    onsets = np.round(notes.start / GRID_TOLERANCE).astype(np.int64)
    distinct = len(set(zip(notes.pitch.tolist(), onsets.tolist())))
    return float(1.0 - distinct / len(notes))


def bar_length_quarters(score):
    """Quarters per bar from the first time signature (4 for 4/4, 3 for 3/4, 3 for 6/8); 4 without one."""
    if not score.time_signatures:
        return 4.0
    first = min(score.time_signatures, key=lambda signature: signature.time)
    return max(first.numerator * 4.0 / first.denominator, 0.25)


def empty_bar_fraction(score):
    """Share of bars, from 0 to the last note end, in which no pitched note starts."""
    notes = _pitched(score)
    if not len(notes):
        return undefined(NO_PITCHED_NOTES)
    bar = bar_length_quarters(score)
    bars = max(int(math.ceil(notes.length / bar - 1e-9)), 1)
    started = np.zeros(bars, dtype=bool)
    started[np.clip((notes.start / bar + 1e-9).astype(int), 0, bars - 1)] = True
    return float(1.0 - started.mean())


def duration_histogram(values):
    """Normalised histogram of lengths in quarters over :data:`DURATION_BINS` (NaNs when empty)."""
    values = np.asarray(values, dtype=float)
    if not len(values):
        return np.full(len(DURATION_BINS), math.nan)
    return np.bincount(np.searchsorted(_DURATION_EDGES, values), minlength=len(DURATION_BINS)) / len(values)


def inter_onset_intervals(score):
    """Quarters between consecutive distinct pitched onsets (a chord is one onset)."""
    notes = _pitched(score)
    onsets = np.unique(np.round(notes.start / GRID_TOLERANCE)) * GRID_TOLERANCE
    return np.diff(onsets)


def inter_onset_histogram(score):
    """:func:`duration_histogram` of :func:`inter_onset_intervals`; NaNs with fewer than two onsets.

    >>> from musickit.music.score import Note, Score
    >>> notes = [Note(60, 90, t, t + 0.25) for t in (0.0, 0.5, 1.0, 2.0)]  # quarters 0, 1, 2, 4
    >>> inter_onset_histogram(Score(notes=notes)).round(3).tolist()
    [0.0, 0.0, 0.0, 0.667, 0.0, 0.333, 0.0, 0.0]
    """
    intervals = inter_onset_intervals(score)
    if not len(intervals):
        undefined("fewer than two onsets")
    return duration_histogram(intervals)


def mean_inter_onset_interval(score):
    """Mean quarters between consecutive distinct onsets."""
    intervals = inter_onset_intervals(score)
    return float(intervals.mean()) if len(intervals) else undefined("fewer than two onsets")


def note_length_histogram(score):
    """:func:`duration_histogram` of the pitched notes' lengths in quarters."""
    notes = _pitched(score)
    if not len(notes):
        undefined(NO_PITCHED_NOTES)
    return duration_histogram(notes.end - notes.start)


def longest_pitch_stretch(score):
    """The longest time, in quarters, that one pitch keeps sounding, held or struck again without a rest.

    A drone or pedal shows here and nowhere else: an inner voice that
    repeats one note for four bars has ordinary note lengths. Bach's
    chorales, cut to 32 quarters, reach about 5 quarters (median).

    >>> from musickit.music.score import Note, Score
    >>> repeated = [Note(60, 90, 0.5 * i, 0.5 * i + 0.5) for i in range(6)] + [Note(64, 90, 0.0, 2.0)]
    >>> longest_pitch_stretch(Score(notes=repeated))  # in seconds at 120 qpm: 3 s = 6 quarters of C
    6.0
    """
    notes = _pitched(score)
    if not len(notes):
        return undefined(NO_PITCHED_NOTES)
    longest = 0.0
    for pitch in np.unique(notes.pitch):
        chosen = notes.pitch == pitch
        order = np.argsort(notes.start[chosen])
        starts, ends = notes.start[chosen][order], notes.end[chosen][order]
        reach = np.maximum.accumulate(ends)  # the stretch so far ends at the latest end seen
        breaks = np.flatnonzero(starts[1:] > reach[:-1] + 1e-6) + 1  # a rest before this note
        for first, last in zip(np.r_[0, breaks], np.r_[breaks, len(starts)]):
            longest = max(longest, float(reach[last - 1] - starts[first]))
    return longest


def in_scale_ratio_estimated(score):
    """Share of pitched notes in the scale of the piece's own estimated key (:func:`in_scale_ratio`)."""
    return in_scale_ratio(score, key=estimate_key_fast(score)) if len(_pitched(score)) else undefined(NO_PITCHED_NOTES)


def key_distance(first, second):
    """Steps between two keys on the circle of fifths, a minor key counted as its relative major (0..6).

    >>> key_distance("C major", "A minor"), key_distance("C major", "G major"), key_distance("C", "F#")
    (0, 1, 6)
    """

    def position(name):
        tonic, mode = parse_key(name)
        major_tonic = (tonic + 3) % 12 if mode == "minor" else tonic
        return (major_tonic * 7) % 12  # index on the circle of fifths

    steps = abs(position(first) - position(second)) % 12
    return int(min(steps, 12 - steps))


def key_drift(primer, continuation):
    """How far a continuation's estimated key lies from its primer's.

    Args:
        primer: the :class:`Score` that was continued.
        continuation: the generated part only (the primer left out).

    Returns:
        ``{"primer_key", "continuation_key", "fifths": steps on the circle of
        fifths (0..6, relative keys 0), "same_key": fifths == 0}``; the
        values are None (with ``"reason"``) when either side has no pitched notes.

    >>> from musickit.music.score import Note, Score
    >>> c = Score(notes=[Note(p, 90, i * 0.5, i * 0.5 + 0.5) for i, p in enumerate([60, 64, 67, 72, 67, 64, 60])])
    >>> key_drift(c, c)["fifths"]
    0
    """
    if not len(_pitched(primer)) or not len(_pitched(continuation)):
        return {
            "primer_key": None,
            "continuation_key": None,
            "fifths": None,
            "same_key": None,
            "reason": "no pitched notes in the primer or the continuation",
        }
    primer_key, continuation_key = estimate_key_fast(primer), estimate_key_fast(continuation)
    fifths = key_distance(primer_key, continuation_key)
    return {"primer_key": primer_key, "continuation_key": continuation_key, "fifths": fifths, "same_key": fifths == 0}
