"""Tonal metrics: does the piece stay in its key, and do the notes of a beat form a chord?

``tonal_stability`` uses the package's Krumhansl-Schmuckler estimate
(:func:`musickit.music.estimate_key`, Krumhansl-Kessler profiles) over
sliding windows rather than music21's windowed key analysis: it measures the
same thing with the same family of profiles, and works on any Score (no
music21 stream to build), which matters when a callback scores generated
samples every few epochs.
"""

import numpy as np

from musickit.metrics.pitch import estimate_key_silently
from musickit.metrics.timeline import note_times
from musickit.metrics.undefined import undefined
from musickit.music.keys import parse_key
from musickit.music.quantization import quantize
from musickit.music.score import Note, Score

NO_PITCHED_NOTES = "no pitched notes"

# Triad qualities as semitones above the root. Sevenths and passing notes are
# deliberately non-chord tones, so a plain triadic texture scores highest.
TRIADS = {"major": (0, 4, 7), "minor": (0, 3, 7), "diminished": (0, 3, 6), "augmented": (0, 4, 8)}


def _clipped(notes, start, end):
    """Pitched notes as :class:`Note` objects in quarters, cut to ``[start, end)``."""
    begin = np.maximum(notes.start, start)
    finish = np.minimum(notes.end, end)
    keep = finish > begin
    return [Note(int(p), 90, float(b), float(f)) for p, b, f in zip(notes.pitch[keep], begin[keep], finish[keep])]


def tonal_stability(score, window_bars=2, steps_per_quarter=4):
    """Share of sounding time whose local key equals the key of the whole piece.

    The piece's key is estimated once; then windows of ``window_bars`` bars,
    one bar apart, each get their own estimate, weighted by how much note
    time they hold. A piece that never leaves its key scores 1; one that
    modulates for half its length about 0.5.

    >>> from musickit.music.score import Note, Score
    >>> c_major = [Note(p, 90, i * 0.5, i * 0.5 + 0.5) for i, p in enumerate([60, 64, 67, 72] * 4)]
    >>> tonal_stability(Score(notes=c_major))
    1.0
    """
    notes = note_times(score).pitched
    if not len(notes):
        return undefined(NO_PITCHED_NOTES)
    global_key = parse_key(estimate_key_silently(score))
    quantized = quantize(score, steps_per_quarter)
    bar_starts = [step / steps_per_quarter for step in quantized.bar_starts()] + [notes.length]
    windows = max(len(bar_starts) - 1 - window_bars, 0) + 1
    matching = total = 0.0
    for index in range(windows):
        start, end = bar_starts[index], bar_starts[min(index + window_bars, len(bar_starts) - 1)]
        window_notes = _clipped(notes, start, end)
        weight = sum(note.end - note.start for note in window_notes)
        if weight <= 0:
            continue
        total += weight
        if parse_key(estimate_key_silently(Score(notes=window_notes))) == global_key:
            matching += weight
    return float(matching / total) if total > 0 else undefined(NO_PITCHED_NOTES)


def _triad_templates():
    templates = []
    for intervals in TRIADS.values():
        for root in range(12):
            template = np.zeros(12)
            template[[(root + interval) % 12 for interval in intervals]] = 1.0
            templates.append(template)
    return np.array(templates)


def beat_pitch_class_durations(notes, beats):
    """``(beats, 12)`` matrix: how long each pitch class sounds within each quarter-note beat."""
    durations = np.zeros((beats, 12))
    for pitch, start, end in zip(notes.pitch, notes.start, notes.end):
        for beat in range(int(np.floor(start)), min(int(np.ceil(end)), beats)):
            overlap = min(end, beat + 1) - max(start, beat)
            if overlap > 0:
                durations[beat, pitch % 12] += overlap
    return durations


def harmonic_coherence(score):
    """Mean, over beats with pitched notes, of the share of sounding time that fits the beat's best triad.

    For each quarter-note beat, the pitch classes sounding in it (weighted by
    how long they sound) are matched against all 48 major, minor, diminished
    and augmented triads; the best triad's share is the beat's chord-tone
    ratio. 1 means every beat is a plain triad (or part of one).

    >>> from musickit.music.score import Note, Score
    >>> chord = [Note(p, 90, 0.0, 0.5) for p in (60, 64, 67)]  # one beat of C major at 120 qpm
    >>> harmonic_coherence(Score(notes=chord + [Note(61, 90, 0.5, 1.0)]))  # then a lone C#
    1.0
    """
    notes = note_times(score).pitched
    if not len(notes) or notes.length <= 0:
        return undefined(NO_PITCHED_NOTES)
    durations = beat_pitch_class_durations(notes, int(np.ceil(notes.length)))
    totals = durations.sum(axis=1)
    sounding = totals > 0
    chord_tones = (durations[sounding] @ _triad_templates().T).max(axis=1)
    return float((chord_tones / totals[sounding]).mean())
