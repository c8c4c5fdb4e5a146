"""The one vocabulary of conditions and sections: style, emotion and tempo classes, section letters, "unknown".

Every part that names a condition class or a section reads it from here: the
labels derived from a score (:mod:`musickit.data.labels`), the tokenizers'
``SECTION_`` / ``STYLE_`` / ``EMOTION_`` tokens
(:class:`~musickit.representations.remi.REMITokenizer`), the models'
condition inputs and the prompts (:mod:`musickit.generation.prompts`).

Conventions:

- **Classes.** A condition reaches a model as a class id: the index of its
  name in :data:`EMOTION_CLASSES`, :data:`TEMPO_CLASSES` or a run's style
  list (:data:`DEFAULT_STYLES` unless the corpus says otherwise).
- **Unknown** is the id :data:`UNKNOWN_ID` (``-1``), never an extra class:
  a row whose label is missing or not in the list gets no conditioning
  from that condition (its embedding contributes nothing), and a model is
  built with ``condition_sizes`` equal to the number of real classes.
  :func:`class_id` and :func:`class_ids` apply this rule.
- **Sections** are the letters :data:`SECTION_LETTERS` (``A`` .. ``D``, defined
  in :mod:`musickit.music.score` beside the markers that carry them); a
  section's id is its index there (:func:`section_id`).
- **Emotions** are EMOPIA's four valence/arousal quadrants Q1..Q4 in order.
  Q2 is called ``"tense"``; tokenizers saved when it was called ``"angry"``
  still load (:func:`emotion_name` maps the old name, and the token keeps
  its id).

Example:

>>> class_id("sad", EMOTION_CLASSES), class_id(None, EMOTION_CLASSES), class_id("jazz", DEFAULT_STYLES)
(2, -1, -1)
>>> section_id("C"), emotion_name("angry"), emotion_name("Q4")
(2, 'tense', 'calm')
"""

import numpy as np

from musickit.errors import UsageError
from musickit.music.score import SECTION_LETTERS

# SECTION_LETTERS ("A" .. "D"; a section's id is its index) live with the score's markers in the music layer,
# so that section slicing there can use them; they are re-exported here with the condition classes.
__all__ = [
    "DEFAULT_STYLES",
    "EMOTION_CLASSES",
    "LEGACY_EMOTION_NAMES",
    "SECTION_LETTERS",
    "TEMPO_CLASSES",
    "UNKNOWN_ID",
    "class_id",
    "class_ids",
    "emotion_name",
    "section_id",
]
#: The styles a tokenizer has STYLE_ tokens for by default: the offline music21 corpora and "folk".
DEFAULT_STYLES = ("bach", "essen", "folk", "ryans", "palestrina")
#: EMOPIA's quadrants Q1..Q4: valence (positive/negative) x arousal (high/low).
EMOTION_CLASSES = ("happy", "tense", "sad", "calm")
#: Tempo classes from the opening tempo (see :func:`musickit.data.labels.tempo_class`).
TEMPO_CLASSES = ("slow", "moderate", "fast")
#: The class id of a missing or unknown label: no conditioning for that row.
UNKNOWN_ID = -1
#: Old names of emotion classes, kept so that saved tokenizers and labels still read.
LEGACY_EMOTION_NAMES = {"angry": "tense"}


def class_id(name, classes):
    """The index of ``name`` in ``classes``, or :data:`UNKNOWN_ID` when it is ``None`` or not there."""
    classes = tuple(classes)
    return classes.index(name) if name in classes else UNKNOWN_ID


def class_ids(names, classes):
    """``(len(names),)`` int32 class ids (:func:`class_id` of each name).

    >>> class_ids(["slow", "fast", None], TEMPO_CLASSES).tolist()
    [0, 2, -1]
    """
    position = {label: index for index, label in enumerate(classes)}
    return np.array([position.get(name, UNKNOWN_ID) for name in names], dtype=np.int32)


def emotion_name(name):
    """The current class name for an emotion label: old names (``"angry"``) and EMOPIA's ``"Q1"``..``"Q4"``
    become class names; anything else is returned lower-cased and stripped, unchecked."""
    text = str(name).strip().lower()
    if text in ("q1", "q2", "q3", "q4"):
        return EMOTION_CLASSES[int(text[1]) - 1]
    return LEGACY_EMOTION_NAMES.get(text, text)


def section_id(letter):
    """The index of a section letter (``"A"`` -> 0); a one-line :class:`UsageError` for anything else."""
    if letter not in SECTION_LETTERS:
        raise UsageError(f"section {letter!r} is not one of {', '.join(SECTION_LETTERS)}")
    return SECTION_LETTERS.index(letter)
