"""The floors of :func:`~musickit.metrics.corpus.compare_to_corpus`, and the one time axis pieces are cut to.

A floor is what noise from the same corpus scores, drawn in the same run:

* :class:`RandomNotes`: pitches from the corpus' pitch distribution, the
  corpus' note density and note lengths, onsets anywhere on the sixteenth grid;
* :class:`MarkovNotes`: a per-key Markov chain
  (:class:`~musickit.models.markov_baseline.PerKeyMarkovBaseline`) sampled
  frame by frame on a sixteenth-note piano roll (:func:`score_to_roll`,
  :func:`roll_to_score`).

Every piece, floor or real, is rebuilt at :data:`QPM` by :func:`rebuilt_score`,
so that every feature is measured in quarters; :func:`cut_quarters` cuts a
real piece to a window of quarters on that axis, and
:func:`through_representation` puts it through a model's grid.

Example:

>>> from musickit.music.score import Note, Score
>>> piece = Score(notes=[Note(60, 90, 0.0, 0.5), Note(64, 90, 0.5, 1.0)])  # quarters 0-1, 1-2
>>> score_to_roll(piece)[:, [60 - LOWEST_KEY, 64 - LOWEST_KEY]].T.tolist()
[[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]]
"""

import math

import numpy as np

from musickit.metrics.timeline import note_times
from musickit.music.score import Marker, Note, Score, TempoChange, TimeSignature

STEPS_PER_QUARTER = 4
LOWEST_KEY, KEYS = 21, 88  # the piano: what the Markov floor plays
QPM = 120.0  # pieces are rebuilt on one tempo: every feature is measured in quarters
MARKOV_SMOOTHING = 0.01


# ---------------------------------------------------------------- pieces on one time axis


def rebuilt_score(notes, length, time_signature=(4, 4), markers=()):
    """A Score at :data:`QPM` from ``(pitch, velocity, start_q, end_q[, is_drum])`` rows."""
    seconds = 60.0 / QPM
    return Score(
        notes=[
            Note(
                int(row[0]),
                int(row[1]),
                float(row[2]) * seconds,
                float(row[3]) * seconds,
                is_drum=bool(row[4]) if len(row) > 4 else False,
            )
            for row in notes
            if row[3] > row[2]
        ],
        tempos=[TempoChange(0.0, QPM)],
        time_signatures=[TimeSignature(0.0, *time_signature)],
        markers=[Marker(float(q) * seconds, text) for q, text in markers if 0 <= q < max(length, 1e-9)],
    )


def _time_signature(score):
    if not score.time_signatures:
        return (4, 4)
    first = min(score.time_signatures, key=lambda signature: signature.time)
    return (first.numerator, first.denominator)


def cut_quarters(score, start, end=None):
    """The notes of ``score`` that start in ``[start, end)`` quarters, moved to 0 and ended by ``end``.

    The result is rebuilt at 120 qpm with the score's first time signature
    and its markers inside the window.

    >>> from musickit.music.score import Note, Score
    >>> piece = Score(notes=[Note(60, 90, 0.0, 1.0), Note(62, 90, 1.0, 3.0)])  # quarters 0-2, 2-6
    >>> [(n.pitch, n.start, n.end) for n in cut_quarters(piece, 2, 4).notes]
    [(62, 0.0, 1.0)]
    """
    times = note_times(score)
    end = math.inf if end is None else end
    velocities = np.array([note.velocity for note in score.notes], dtype=int)
    keep = (times.start >= start - 1e-9) & (times.start < end - 1e-9)
    columns = (times.pitch[keep], velocities[keep], times.start[keep], times.end[keep], times.is_drum[keep])
    rows = [(p, v, s - start, max(min(e, end) - start, s - start + 1e-6), drum) for p, v, s, e, drum in zip(*columns)]
    to_quarters = score.seconds_to_quarters_function()
    markers = [(to_quarters(marker.time) - start, marker.text) for marker in score.markers]
    markers = [(q, text) for q, text in markers if q >= -1e-9 and q < end - start]
    length = (end if math.isfinite(end) else max(times.length, start)) - start
    return rebuilt_score(rows, length, _time_signature(score), markers)


def length_quarters(score):
    """End of the last pitched note, in quarters."""
    return note_times(score).pitched.length


def through_representation(score, representation):
    """``representation.decode(representation.encode(score))``, or ``score`` when that fails; and a note."""
    if representation is None:
        return score, None
    try:
        decoded = representation.decode(representation.encode(score))
    except Exception as error:  # noqa: BLE001 - a representation that cannot round-trip leaves the piece as it is
        return score, f"{type(representation).__name__} could not encode/decode a reference piece ({error})"
    return cut_quarters(decoded, 0.0), None


# ---------------------------------------------------------------- floors


def score_to_roll(score, steps_per_quarter=STEPS_PER_QUARTER, steps=None):
    """A ``(steps, 88)`` 0/1 piano roll: a key is on in every step its notes cover (onsets rounded)."""
    times = note_times(score).pitched
    total = steps if steps is not None else int(math.ceil(times.length * steps_per_quarter - 1e-9))
    roll = np.zeros((max(total, 0), KEYS), dtype=np.uint8)
    for pitch, start, end in zip(times.pitch, times.start, times.end):
        if LOWEST_KEY <= pitch < LOWEST_KEY + KEYS:
            first = int(round(start * steps_per_quarter))
            last = max(int(round(end * steps_per_quarter)), first + 1)
            roll[first:last, pitch - LOWEST_KEY] = 1
    return roll


def roll_to_score(roll, steps_per_quarter=STEPS_PER_QUARTER, time_signature=(4, 4)):
    """Inverse of :func:`score_to_roll`: each run of on-steps of a key becomes one note."""
    roll = np.asarray(roll) > 0
    rows = []
    padded = np.vstack([np.zeros((1, roll.shape[1]), bool), roll, np.zeros((1, roll.shape[1]), bool)])
    changes = np.diff(padded.astype(np.int8), axis=0)
    for key in range(roll.shape[1]):
        starts, ends = np.flatnonzero(changes[:, key] == 1), np.flatnonzero(changes[:, key] == -1)
        rows += [(key + LOWEST_KEY, 80, s / steps_per_quarter, e / steps_per_quarter) for s, e in zip(starts, ends)]
    return rebuilt_score(rows, len(roll) / steps_per_quarter, time_signature)


class RandomNotes:
    """Random notes with a corpus' pitch distribution, note density and note lengths (a floor).

    Example:

    >>> from musickit.music.score import Note, Score
    >>> corpus = [Score(notes=[Note(60 + i % 5, 90, i * 0.5, i * 0.5 + 0.5) for i in range(16)])]
    >>> piece = RandomNotes(corpus).sample(8.0, np.random.default_rng(0))
    >>> len(piece.notes), {n.pitch for n in piece.notes} <= {60, 61, 62, 63, 64}
    (8, True)
    """

    def __init__(self, scores):
        pitches, lengths, densities = [], [], []
        for score in scores:
            times = note_times(score).pitched
            if len(times) and times.length > 0:
                pitches.append(times.pitch)
                lengths.append(times.end - times.start)
                densities.append(len(times) / times.length)
        if not densities:
            raise ValueError("random-notes floor: the reference has no pitched notes")
        self.pitches = np.concatenate(pitches)
        self.lengths = np.concatenate(lengths)
        self.densities = np.array(densities)

    def sample(self, length, rng):
        """One piece ``length`` quarters long: density from a random corpus piece, onsets on the 16th grid."""
        count = max(int(round(rng.choice(self.densities) * length)), 1)
        grid = max(int(length * STEPS_PER_QUARTER), 1)
        starts = rng.integers(0, grid, count) / STEPS_PER_QUARTER
        ends = np.minimum(starts + rng.choice(self.lengths, count), length)
        pitches = rng.choice(self.pitches, count)
        return rebuilt_score(zip(pitches, [80] * count, starts, ends), length)


class MarkovNotes:
    """A per-key first-order Markov chain over sixteenth-note piano-roll frames of a corpus (a floor)."""

    def __init__(self, scores):
        rolls = [roll for roll in (score_to_roll(score) for score in scores) if len(roll) > 1]
        if not rolls:
            raise ValueError("Markov floor: the reference has no pitched notes")
        # Nearly the maximum-likelihood chain: add-one smoothing (right for scoring
        # likelihoods) would make every key the corpus never plays sound now and then.
        self.baseline = _markov_baseline_class()(smoothing=MARKOV_SMOOTHING).fit(rolls)

    def sample(self, length, rng, start_frame=None):
        """``length`` quarters of frames; the chain starts from ``start_frame`` (say a primer's last) if given."""
        steps = max(int(round(length * STEPS_PER_QUARTER)), 1)
        roll = np.zeros((steps, KEYS), dtype=np.uint8)
        if start_frame is None:
            previous = (rng.random(KEYS) < self.baseline.initial).astype(int)
            roll[0] = previous
            first = 1
        else:
            previous = (np.asarray(start_frame) > 0).astype(int)
            first = 0
        keys = np.arange(KEYS)
        for step in range(first, steps):
            previous = (rng.random(KEYS) < self.baseline.transition[keys, previous]).astype(int)
            roll[step] = previous
        return roll_to_score(roll)


def _markov_baseline_class():
    """:class:`musickit.models.markov_baseline.PerKeyMarkovBaseline` without importing Keras.

    The baseline is plain NumPy, but ``musickit.models`` imports every model
    family (and so Keras and a backend: seconds). When that package is not
    loaded yet, the one module is loaded from its file on its own.
    """
    import importlib.util
    import os
    import sys

    if "musickit.models" in sys.modules:
        from musickit.models.markov_baseline import PerKeyMarkovBaseline

        return PerKeyMarkovBaseline
    name = "musickit_markov_baseline_standalone"
    if name not in sys.modules:
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "markov_baseline.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name].PerKeyMarkovBaseline
