"""Tempo and emotion labels of a piece, for style/emotion/tempo conditioning.

The hierarchical model can be conditioned on a piece's emotion and tempo
class as well as its style (``condition_sizes={"style": ..., "emotion": 4,
"tempo": 3}``). Few corpora carry such labels, so this module derives them
from the score itself:

- **Tempo** (:func:`tempo_class`) from the opening tempo, with boundaries
  taken from the usual Italian tempo markings.
- **Emotion** (:func:`emotion_class`) in the four valence/arousal quadrants
  of EMOPIA (Hung et al. 2021), from a *heuristic proxy*: mode for valence,
  onset rate for arousal. It is not a human annotation.

An explicit ``score.metadata["emotion"]`` or ``score.metadata["tempo"]`` (a
human label, e.g. from EMOPIA) always wins over the heuristic.

Example:

>>> from musickit.music.score import Note, Score, TempoChange
>>> c_major = [Note(pitch, 90, 0.25 * i, 0.25 * i + 0.25) for i, pitch in enumerate([60, 64, 67, 72] * 4)]
>>> score = Score(notes=c_major, tempos=[TempoChange(0.0, 144.0)])
>>> tempo_class(score), emotion_class(score)  # fast, major, four onsets a second
('fast', 'happy')
"""

from musickit.errors import UsageError
from musickit.music.keys import estimate_key, parse_key
from musickit.representations.conditions import EMOTION_CLASSES, TEMPO_CLASSES, emotion_name

# TEMPO_CLASSES and EMOTION_CLASSES are defined once, in musickit.representations.conditions.

# Quarter notes per minute. Below Andante (76) is slow (Adagio, Largo); above
# Moderato's upper bound (120) is fast (Allegro and up). The MIDI default of
# 120 is therefore "moderate".
SLOW_BELOW_QPM = 76.0
FAST_ABOVE_QPM = 120.0

# EMOPIA's quadrants Q1..Q4 in order (EMOTION_CLASSES): valence (positive/negative) x arousal (high/low).
_QUADRANTS = dict(
    zip([("positive", "high"), ("negative", "high"), ("negative", "low"), ("positive", "low")], EMOTION_CLASSES)
)
# Distinct note onsets per second at or above which a piece counts as high arousal:
# steady eighth notes at 90 qpm (3 a second) or quarters at 180 qpm.
HIGH_AROUSAL_ONSETS_PER_SECOND = 3.0


def _explicit(score, key, classes):
    """``score.metadata[key]`` when it is set: one of ``classes`` (for emotion also EMOPIA's ``Q1``..``Q4``
    and the old name ``angry``)."""
    value = score.metadata.get(key)
    if value is None or value == "":
        return None
    name = emotion_name(value) if key == "emotion" else str(value).strip().lower()
    if name not in classes:
        piece = score.metadata.get("name") or "a piece"
        raise UsageError(f"{key} label {value!r} of {piece} is not one of {', '.join(classes)}; fix or drop it")
    return name


def tempo_class(score):
    """``"slow"``, ``"moderate"`` or ``"fast"`` from the opening tempo in quarter notes per minute.

    Slow is below ``SLOW_BELOW_QPM`` (76), fast above ``FAST_ABOVE_QPM``
    (120), moderate in between. A score without tempo changes counts as 120
    quarters per minute, so pieces read without a tempo (the music21 Bach
    chorales, for one) all come out ``"moderate"``. The tempo is always
    counted in quarter notes, whatever the metre. An explicit
    ``score.metadata["tempo"]`` wins.

    >>> from musickit.music.score import Score, TempoChange
    >>> [tempo_class(Score(tempos=[TempoChange(0.0, qpm)])) for qpm in (60, 100, 120, 160)]
    ['slow', 'moderate', 'moderate', 'fast']
    """
    explicit = _explicit(score, "tempo", TEMPO_CLASSES)
    if explicit is not None:
        return explicit
    qpm = score.initial_qpm  # 120 when the score has no tempo
    if qpm < SLOW_BELOW_QPM:
        return "slow"
    return "fast" if qpm > FAST_ABOVE_QPM else "moderate"


def onsets_per_second(score):
    """Distinct note onsets per second of sounding music (chords count once; drums left out).

    Counting onsets rather than notes keeps four-part harmony from looking
    four times as busy as a melody; counting seconds rather than beats lets
    the tempo raise the rate.

    >>> from musickit.music.score import Note, Score
    >>> onsets_per_second(Score(notes=[Note(60, 90, 0.0, 0.5), Note(64, 90, 0.0, 0.5), Note(62, 90, 0.5, 1.0)]))
    2.0
    """
    notes = score.pitched_notes
    if not notes:
        return 0.0
    first = min(note.start for note in notes)
    duration = max(note.end for note in notes) - first
    onsets = {round(note.start, 3) for note in notes}  # notes within a millisecond sound together
    return len(onsets) / duration if duration > 0 else 0.0


def emotion_class(score):
    """The EMOPIA quadrant of a score by a heuristic proxy, or ``None`` for a score without notes.

    This is a heuristic stand-in, not a human label: valence is positive in
    a major key and negative in a minor one (the Krumhansl-Schmuckler
    estimate of :func:`musickit.music.keys.estimate_key`); arousal is high
    when the piece has at least ``HIGH_AROUSAL_ONSETS_PER_SECOND`` distinct
    onsets per second (:func:`onsets_per_second`, so a faster tempo raises
    it too). The quadrants follow EMOPIA: ``happy`` (Q1, positive, high),
    ``tense`` (Q2, negative, high), ``sad`` (Q3, negative, low), ``calm``
    (Q4, positive, low). An explicit ``score.metadata["emotion"]`` (a class
    name or ``"Q1"``..``"Q4"``) wins.

    >>> from musickit.music.score import Note, Score
    >>> a_minor = [Note(pitch, 70, float(i), i + 1.0) for i, pitch in enumerate([57, 60, 64, 57, 60, 64, 69])]
    >>> emotion_class(Score(notes=a_minor))  # minor, one onset a second
    'sad'
    >>> emotion_class(Score(notes=a_minor, metadata={"emotion": "Q1"}))
    'happy'

    References:
        - [Hung et al., 2021, EMOPIA](https://arxiv.org/abs/2108.01374)
    """
    explicit = _explicit(score, "emotion", EMOTION_CLASSES)
    if explicit is not None:
        return explicit
    if not score.pitched_notes:
        return None
    _, mode = parse_key(estimate_key(score))
    valence = "positive" if mode == "major" else "negative"
    arousal = "high" if onsets_per_second(score) >= HIGH_AROUSAL_ONSETS_PER_SECOND else "low"
    return _QUADRANTS[valence, arousal]
