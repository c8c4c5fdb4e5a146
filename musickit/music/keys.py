"""Keys and scales: parsing key names, scale masks, Krumhansl-Schmuckler estimation."""

import numpy as np

PITCH_CLASS_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
_NAME_TO_PITCH_CLASS = {
    "C": 0,
    "B#": 0,
    "C#": 1,
    "DB": 1,
    "D": 2,
    "D#": 3,
    "EB": 3,
    "E": 4,
    "FB": 4,
    "E#": 5,
    "F": 5,
    "F#": 6,
    "GB": 6,
    "G": 7,
    "G#": 8,
    "AB": 8,
    "A": 9,
    "A#": 10,
    "BB": 10,
    "B": 11,
    "CB": 11,
}

# Scale degrees in semitones above the tonic.
SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "chromatic": tuple(range(12)),
}

# Krumhansl & Kessler (1982) probe-tone profiles, indexed by pitch class above the tonic;
# public because the key metrics (musickit.metrics.pitch) correlate against them too.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def parse_key(name):
    """Parse ``"C"``, ``"c minor"``, ``"F# major"``, ``"Bb"``, ``"Am"`` into ``(pitch_class, mode)``.

    Raises ``ValueError`` with the accepted forms when the name is not a key.

    >>> parse_key("f# minor")
    (6, 'minor')
    >>> parse_key("Am")
    (9, 'minor')
    """
    text = str(name).strip().replace("-", " ").replace("_", " ")
    parts = text.split()
    mode = "major"
    if len(parts) == 2:
        tonic, mode = parts[0], parts[1].lower()
    elif len(parts) == 1 and len(text) > 1 and text.endswith("m") and text[:-1].upper() in _NAME_TO_PITCH_CLASS:
        tonic, mode = text[:-1], "minor"
    elif len(parts) == 1:
        tonic = parts[0]
    else:
        tonic = ""
    pitch_class = _NAME_TO_PITCH_CLASS.get(tonic.upper().replace("♯", "#").replace("♭", "B"))
    if pitch_class is None or mode not in ("major", "minor"):
        raise ValueError(f"{name!r} is not a key; use a tonic and mode such as 'C major', 'F# minor' or 'Bb'")
    return pitch_class, mode


def scale_pitch_classes(key="C", scale=None):
    """The set of pitch classes of ``scale`` on the tonic of ``key``.

    ``scale`` defaults to the key's own mode.

    >>> sorted(scale_pitch_classes("A minor"))
    [0, 2, 4, 5, 7, 9, 11]
    >>> sorted(scale_pitch_classes("D", "pentatonic"))
    [1, 2, 4, 6, 9]
    """
    tonic, mode = parse_key(key)
    scale = scale or mode
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    return {(tonic + degree) % 12 for degree in SCALES[scale]}


def pitch_class_histogram(notes, weighted_by_duration=True):
    """12-bin histogram of pitch classes (drums ignored), normalised to sum 1 (zeros when empty)."""
    histogram = np.zeros(12)
    for note in notes:
        if not getattr(note, "is_drum", False):
            weight = max(note.end - note.start, 0.0) if weighted_by_duration else 1.0
            histogram[note.pitch % 12] += weight or 1e-6
    total = histogram.sum()
    return histogram / total if total > 0 else histogram


def estimate_key(score):
    """Krumhansl-Schmuckler key estimate of a score, e.g. ``"G major"``.

    Correlates the duration-weighted pitch-class histogram with the 24 rotated
    major/minor profiles and returns the best. A score without pitched notes
    gives ``"C major"``.

    >>> from musickit.music.score import Note, Score
    >>> scale = [62, 64, 66, 67, 69, 71, 73, 74]  # D major scale, tonic stressed
    >>> notes = [Note(p, 80, i, i + (2 if p in (62, 74) else 1)) for i, p in enumerate(scale)]
    >>> estimate_key(Score(notes=notes))
    'D major'
    """
    histogram = pitch_class_histogram(score.notes)
    if not histogram.any():
        return "C major"
    best, best_name = -np.inf, "C major"
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            correlation = np.corrcoef(histogram, np.roll(profile, tonic))[0, 1]
            if correlation > best:
                best, best_name = correlation, f"{PITCH_CLASS_NAMES[tonic]} {mode}"
    return best_name
