"""Transposition of scores, keeping drums and key signatures consistent."""

import dataclasses

from musickit.music.keys import PITCH_CLASS_NAMES, parse_key
from musickit.music.score import KeySignature

PIANO_LOWEST, PIANO_HIGHEST = 21, 108


def transpose(score, semitones):
    """Return a copy of ``score`` shifted by ``semitones``; drums stay put.

    Example:

    >>> from musickit.music.score import Note, Score
    >>> [note.pitch for note in transpose(Score(notes=[Note(60, 80, 0, 1)]), -2).notes]
    [58]
    """
    shifted = score.copy()
    shifted.notes = [
        note if note.is_drum else dataclasses.replace(note, pitch=note.pitch + semitones) for note in score.notes
    ]
    shifted.key_signatures = [
        KeySignature(signature.time, _transpose_key_name(signature.key, semitones))
        for signature in score.key_signatures
    ]
    return shifted


def _transpose_key_name(name, semitones):
    tonic, mode = parse_key(name)
    return f"{PITCH_CLASS_NAMES[(tonic + semitones) % 12]} {mode}"


def transposition_range(pitches, lowest=PIANO_LOWEST, highest=PIANO_HIGHEST):
    """The ``(down, up)`` semitone limits that keep every pitch within ``[lowest, highest]``.

    >>> transposition_range([30, 100])
    (-9, 8)
    """
    pitches = list(pitches)
    if not pitches:
        return 0, 0
    return lowest - min(pitches), highest - max(pitches)
