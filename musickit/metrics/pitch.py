"""Pitch metrics: MusPy's pitch statistics, in-scale ratio, histogram distance.

The first six functions keep MusPy's names and definitions (Dong et al.,
"MusPy: A toolkit for symbolic music generation", ISMIR 2020) so numbers can
be compared across papers: drum notes are ignored, histograms count notes
(not durations), entropies are in bits. One deliberate difference:

* ``pitch_range`` of a piece without pitched notes is 0. MusPy documents 0
  for "no note" but returns -127 for a drums-only piece, because its
  running minimum/maximum start at 127/0 and the drum notes it skips leave
  them there.
"""

import math

import numpy as np

from musickit.metrics.undefined import undefined
from musickit.music.keys import (
    MAJOR_PROFILE,
    MINOR_PROFILE,
    PITCH_CLASS_NAMES,
    SCALES,
    pitch_class_histogram,
    scale_pitch_classes,
)

NO_PITCHED_NOTES = "no pitched notes"


def _pitches(score):
    return np.array([note.pitch for note in score.notes if not note.is_drum], dtype=int)


def pitch_range(score):
    """Highest minus lowest pitched note, in semitones; 0 without pitched notes.

    >>> from musickit.music.score import Note, Score
    >>> pitch_range(Score(notes=[Note(60, 90, 0, 1), Note(67, 90, 1, 2)]))
    7
    """
    pitches = _pitches(score)
    return int(pitches.max() - pitches.min()) if len(pitches) else 0


def n_pitches_used(score):
    """Number of distinct MIDI pitches among pitched notes."""
    return int(len(np.unique(_pitches(score))))


def n_pitch_classes_used(score):
    """Number of distinct pitch classes (0-11) among pitched notes."""
    return int(len(np.unique(_pitches(score) % 12)))


def _entropy_bits(counts):
    probabilities = counts[counts > 0] / counts.sum()
    return float(-(probabilities * np.log2(probabilities)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def pitch_entropy(score):
    """Shannon entropy (bits) of the note-count histogram over the 128 pitches."""
    pitches = _pitches(score)
    if not len(pitches):
        return undefined(NO_PITCHED_NOTES)
    return _entropy_bits(np.bincount(pitches, minlength=128).astype(float))


def pitch_class_entropy(score):
    """Shannon entropy (bits) of the note-count histogram over the 12 pitch classes; at most log2(12)."""
    pitches = _pitches(score)
    if not len(pitches):
        return undefined(NO_PITCHED_NOTES)
    return _entropy_bits(np.bincount(pitches % 12, minlength=12).astype(float))


def scale_consistency(score):
    """Largest share of pitched notes inside one major or natural minor scale, over all 24.

    >>> from musickit.music.score import Note, Score
    >>> notes = [Note(p, 90, i, i + 1) for i, p in enumerate([60, 62, 64, 66])]  # F# leaves C major
    >>> scale_consistency(Score(notes=notes))  # G major (or E minor) holds all four
    1.0
    """
    pitch_classes = _pitches(score) % 12
    if not len(pitch_classes):
        return undefined(NO_PITCHED_NOTES)
    counts = np.bincount(pitch_classes, minlength=12)
    best = 0
    for mode in ("major", "minor"):
        mask = np.zeros(12, dtype=bool)
        mask[list(SCALES[mode])] = True
        for tonic in range(12):
            best = max(best, int(counts[np.roll(mask, tonic)].sum()))
    return best / len(pitch_classes)


def in_scale_ratio(score, key=None, scale=None):
    """Share of pitched notes whose pitch class lies in ``scale`` on ``key``.

    ``key`` defaults to the Krumhansl-Schmuckler estimate
    (:func:`musickit.music.estimate_key`) rather than the file's key
    signature, which generated MIDI often lacks or gets wrong; ``scale``
    defaults to the key's mode (see :data:`musickit.music.keys.SCALES`).
    Unlike :func:`scale_consistency` this asks about one named key.

    >>> from musickit.music.score import Note, Score
    >>> notes = [Note(p, 90, i, i + 1) for i, p in enumerate([60, 62, 64, 66])]
    >>> in_scale_ratio(Score(notes=notes), key="C major")
    0.75
    """
    pitch_classes = _pitches(score) % 12
    if not len(pitch_classes):
        return undefined(NO_PITCHED_NOTES)
    allowed = scale_pitch_classes(key or estimate_key_silently(score), scale)
    return float(np.isin(pitch_classes, sorted(allowed)).mean())


def estimate_key_silently(score):
    """:func:`musickit.music.estimate_key` without NumPy's warning for a perfectly flat histogram.

    A flat histogram correlates with no profile (estimate_key then falls back
    to C major); the divide-by-zero warning on the way is noise in a metric.
    The 24 correlations are one matrix product here (:func:`estimate_key_fast`),
    with the same answer.
    """
    return estimate_key_fast(score)


def _standardised_profiles():
    rows = np.array([np.roll(profile, tonic) for profile in (MAJOR_PROFILE, MINOR_PROFILE) for tonic in range(12)])
    return (rows - rows.mean(axis=1, keepdims=True)) / rows.std(axis=1, keepdims=True)


_PROFILES = _standardised_profiles()


def estimate_key_fast(score):
    """:func:`musickit.music.keys.estimate_key` with the 24 correlations in one matrix product (same answer).

    >>> from musickit.music.score import Note, Score
    >>> estimate_key_fast(Score(notes=[Note(p, 90, i, i + 1) for i, p in enumerate([67, 71, 74, 67, 62, 66])]))
    'G major'
    """
    histogram = pitch_class_histogram(score.notes)
    if not histogram.any() or histogram.std() == 0:
        return "C major"
    centred = (histogram - histogram.mean()) / histogram.std()
    best = int(np.argmax((_PROFILES * centred).mean(axis=1)))
    return f"{PITCH_CLASS_NAMES[best % 12]} {'major' if best < 12 else 'minor'}"


def histogram_distance(first, second, distance="total_variation"):
    """Distance between two histograms normalised to sum 1.

    ``total_variation`` (half the L1 distance, in [0, 1]), ``jensen_shannon``
    (base-2 Jensen-Shannon divergence, in [0, 1]) or ``euclidean``.
    """
    first = np.asarray(first, dtype=float)
    second = np.asarray(second, dtype=float)
    first = first / first.sum() if first.sum() > 0 else first
    second = second / second.sum() if second.sum() > 0 else second
    if distance == "total_variation":
        return float(0.5 * np.abs(first - second).sum())
    if distance == "euclidean":
        return float(np.linalg.norm(first - second))
    if distance == "jensen_shannon":
        middle = 0.5 * (first + second)

        def divergence(p):
            support = p > 0
            return float((p[support] * np.log2(p[support] / middle[support])).sum())

        return 0.5 * divergence(first) + 0.5 * divergence(second)
    raise ValueError(f"unknown distance {distance!r}; use total_variation, jensen_shannon or euclidean")


def mean_pitch_class_histogram(scores):
    """Average of the duration-weighted pitch-class histograms of the scores that have pitched notes.

    Each piece counts once, however long it is; the result sums to 1 (all
    zeros when no score has a pitched note).
    """
    histograms = [pitch_class_histogram(score.notes) for score in scores]
    histograms = [histogram for histogram in histograms if histogram.any()]
    return np.mean(histograms, axis=0) if histograms else np.zeros(12)


def pitch_class_histogram_distance(score, reference_histogram, distance="total_variation"):
    """Distance from the score's duration-weighted pitch-class histogram to ``reference_histogram``.

    ``reference_histogram`` is usually :func:`mean_pitch_class_histogram` of
    the training data. 0 means the same pitch-class profile.

    >>> from musickit.music.score import Note, Score
    >>> c_only = Score(notes=[Note(60, 90, 0, 1)])
    >>> pitch_class_histogram_distance(c_only, [0.5, 0, 0, 0, 0, 0, 0, 0.5, 0, 0, 0, 0])
    0.5
    """
    histogram = pitch_class_histogram(score.notes)
    if not histogram.any():
        return undefined(NO_PITCHED_NOTES)
    return histogram_distance(histogram, reference_histogram, distance)


def pitch_class_profile(score):
    """The duration-weighted pitch-class histogram (12 values summing to 1), NaNs without pitched notes."""
    histogram = pitch_class_histogram(score.notes)
    return histogram if histogram.any() else np.full(12, math.nan)
