"""Small synthetic pieces for the evaluator's tests: four-voice chorale-like phrases built from tuples."""

import numpy as np

from musickit.music.score import Note, Score, TempoChange, TimeSignature

# Four-voice chords (bass, tenor, alto, soprano) in semitones above the tonic, one per beat.
PROGRESSIONS = (
    ((0, 4, 7, 12), (5, 9, 12, 17), (7, 11, 14, 19), (0, 4, 7, 12)),
    ((0, 7, 12, 16), (-3, 4, 9, 12), (2, 9, 14, 17), (7, 11, 14, 19)),
    ((0, 4, 7, 16), (-1, 7, 14, 17), (0, 7, 12, 16), (5, 12, 17, 21)),
)
TONICS = (55, 57, 58, 60, 62, 63, 64, 65, 67)


def chorale(tonic, bars=8, seed=0):
    """Four voices in quarter notes at 120 qpm; the soprano sometimes moves in two eighths (a passing note)."""
    rng = np.random.default_rng(seed)
    notes = []
    for bar in range(bars):
        progression = PROGRESSIONS[(bar + seed) % len(PROGRESSIONS)]
        for beat, chord in enumerate(progression):
            start = (bar * 4 + beat) * 0.5  # seconds
            for voice, offset in enumerate(chord):
                pitch = tonic + offset - (12 if voice == 0 else 0)
                if voice == 3 and rng.random() < 0.3:
                    notes += [Note(pitch, 80, start, start + 0.25), Note(pitch + 2, 80, start + 0.25, start + 0.5)]
                else:
                    notes.append(Note(pitch, 80, start, start + 0.5))
    return Score(notes=notes, tempos=[TempoChange(0.0, 120.0)], time_signatures=[TimeSignature(0.0, 4, 4)])


def chorales(count, first_seed=0, bars=8):
    return [chorale(TONICS[index % len(TONICS)], bars, first_seed + index) for index in range(count)]
