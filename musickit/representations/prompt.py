"""A text prompt read into conditions by a small, fixed vocabulary: what ``musickit song --prompt`` understands.

The reader knows these words (case does not matter unless said):

- **styles**: the style labels themselves (``bach``, ``essen``, ``folk``, ``ryans``, ``palestrina``) and
  ``chorale``/``chorales``/``baroque`` (bach), ``fiddle``/``jig``/``reel``/``irish`` (ryans),
  ``renaissance``/``motet``/``mass`` (palestrina), ``folksong`` (folk);
- **emotions** (:data:`~musickit.representations.conditions.EMOTION_CLASSES`): ``happy``, ``tense``,
  ``sad``, ``calm``, EMOPIA's ``Q1``..``Q4``, and a few synonyms each (:data:`EMOTION_WORDS`);
- **tempo**: the classes ``slow``, ``moderate``, ``fast``, Italian markings (``largo``, ``adagio`` -> slow;
  ``andante``, ``moderato`` -> moderate; ``allegro``, ``vivace``, ``presto`` -> fast) and numbers in
  quarter notes per minute: ``90``, ``90 bpm``, ``90bpm`` (from :data:`MIN_QPM` to :data:`MAX_QPM`);
- **keys**: a tonic and a mode, ``G major``, ``F# minor``, ``Bb major``, ``a minor``, ``g-major``;
- **forms**: section letters written in capitals, ``ABA``, ``AABA`` (two letters or more, so that the
  article "A" is not a form), and ``binary`` (AB), ``ternary`` (ABA), ``rondo`` (ABACA), ``strophic`` (AAA);
- **instruments**: General MIDI programs that REMI+ ``Program`` tokens name (:data:`INSTRUMENT_PROGRAMS`:
  ``piano``, ``organ``, ``strings``, ``choir``, ``flute`` ...);
- **filler** words that carry no condition (:data:`FILLER_WORDS`: ``a``, ``in``, ``with``, ``piece`` ...).

Every other word is *unknown* and listed in :attr:`PromptReading.unknown` (the command prints them; they are
never dropped silently). A condition named twice keeps its first word; the later ones are listed in
:attr:`PromptReading.conflicts`. The reader is pure text: which styles a run has, and which of flag,
prompt or default wins, is decided by the command.

Example:

>>> reading = read_prompt("calm chorale in G major, 90 bpm, ABA for organ with sparkles")
>>> reading.values
{'emotion': 'calm', 'style': 'bach', 'key': 'G major', 'qpm': 90.0, 'form': 'ABA', 'instrument': 'organ'}
>>> reading.words["style"], reading.unknown
('chorale', ('sparkles',))
>>> read_prompt("fast and slow").conflicts
(('slow', 'tempo', 'fast'),)
"""

import dataclasses
import re

from musickit.errors import UsageError
from musickit.representations.conditions import EMOTION_CLASSES, TEMPO_CLASSES

#: prompt word -> style label
STYLE_WORDS = {
    "bach": "bach",
    "chorale": "bach",
    "chorales": "bach",
    "baroque": "bach",
    "essen": "essen",
    "folk": "folk",
    "folksong": "folk",
    "ryans": "ryans",
    "fiddle": "ryans",
    "jig": "ryans",
    "reel": "ryans",
    "irish": "ryans",
    "palestrina": "palestrina",
    "renaissance": "palestrina",
    "motet": "palestrina",
    "mass": "palestrina",
}
#: prompt word -> emotion class (EMOPIA's quadrants: happy Q1, tense Q2, sad Q3, calm Q4)
EMOTION_WORDS = {
    **{name: name for name in EMOTION_CLASSES},
    **{f"q{number + 1}": name for number, name in enumerate(EMOTION_CLASSES)},
    "joyful": "happy",
    "cheerful": "happy",
    "bright": "happy",
    "angry": "tense",
    "agitated": "tense",
    "dark": "tense",
    "melancholy": "sad",
    "melancholic": "sad",
    "mournful": "sad",
    "peaceful": "calm",
    "serene": "calm",
    "gentle": "calm",
    "relaxed": "calm",
}
#: prompt word -> tempo class
TEMPO_WORDS = {
    **{name: name for name in TEMPO_CLASSES},
    "largo": "slow",
    "lento": "slow",
    "adagio": "slow",
    "andante": "moderate",
    "moderato": "moderate",
    "allegro": "fast",
    "vivace": "fast",
    "presto": "fast",
    "quick": "fast",
}
#: prompt word -> form (section letters)
FORM_WORDS = {"binary": "AB", "ternary": "ABA", "rondo": "ABACA", "strophic": "AAA"}
#: prompt word -> General MIDI program (0-based), every one a REMI+ ``Program`` token
INSTRUMENT_PROGRAMS = {
    "piano": 0,
    "harpsichord": 6,
    "organ": 19,
    "guitar": 24,
    "violin": 40,
    "viola": 41,
    "cello": 42,
    "strings": 48,
    "choir": 52,
    "voices": 52,
    "trumpet": 56,
    "horn": 60,
    "oboe": 68,
    "clarinet": 71,
    "flute": 73,
    "recorder": 74,
}
#: words that name no condition; they are neither used nor reported
FILLER_WORDS = frozenset(
    "a an the in on of for with and at to by style tempo key form piece song music tune played bpm qpm".split()
)
#: the tempo numbers read, in quarter notes per minute
MIN_QPM, MAX_QPM = 20.0, 400.0
#: the fields of :attr:`PromptReading.values`, in the order they are documented
FIELDS = ("style", "emotion", "tempo", "qpm", "key", "form", "instrument")

_TONICS = {f"{letter}{accidental}" for letter in "abcdefg" for accidental in ("", "#", "b", "♯", "♭")}
_WORD = re.compile(r"[A-Za-z0-9#♯♭]+")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)(bpm|qpm)?$")


@dataclasses.dataclass(frozen=True)
class PromptReading:
    """What :func:`read_prompt` found.

    Attributes:
        values: ``{field: value}`` for the fields the prompt named (see :data:`FIELDS`; ``tempo`` is a class,
            ``qpm`` a number, ``key`` a name such as ``"G major"``, ``instrument`` a word of
            :data:`INSTRUMENT_PROGRAMS`).
        words: ``{field: the prompt's word(s) that gave it}``.
        unknown: the words of no vocabulary, in order.
        conflicts: ``(word, field, kept value)`` for a later word naming a field again.
    """

    values: dict
    words: dict
    unknown: tuple = ()
    conflicts: tuple = ()


def read_prompt(text):
    """Read ``text`` into a :class:`PromptReading`; an empty prompt is a one-line :class:`UsageError`.

    >>> read_prompt("   ")
    Traceback (most recent call last):
    ...
    musickit.errors.UsageError: --prompt is empty; describe the song, e.g. "calm chorale in G major"
    """
    words = _WORD.findall(str(text or ""))
    if not words:
        raise UsageError('--prompt is empty; describe the song, e.g. "calm chorale in G major"')
    values, sources, unknown, conflicts = {}, {}, [], []

    def found(field, value, word):
        if field not in values:
            values[field], sources[field] = value, word
        elif values[field] != value:
            conflicts.append((word, field, values[field]))

    index = 0
    while index < len(words):
        word, lower = words[index], words[index].lower()
        following = words[index + 1].lower() if index + 1 < len(words) else ""
        number = _NUMBER.match(lower)
        if lower in _TONICS and following in ("major", "minor"):
            tonic = word[0].upper() + word[1:].replace("♯", "#").replace("♭", "b")
            found("key", f"{tonic} {following}", f"{word} {words[index + 1]}")
            index += 2
            continue
        if number:
            qpm = float(number.group(1))
            if not MIN_QPM <= qpm <= MAX_QPM:
                unknown.append(word)  # "3" or "1000" is no tempo
            else:
                spelled = word
                if following in ("bpm", "qpm") and not number.group(2):
                    spelled, index = f"{word} {words[index + 1]}", index + 1
                found("qpm", qpm, spelled)
        elif lower in STYLE_WORDS:
            found("style", STYLE_WORDS[lower], word)
        elif lower in EMOTION_WORDS:
            found("emotion", EMOTION_WORDS[lower], word)
        elif lower in TEMPO_WORDS:
            found("tempo", TEMPO_WORDS[lower], word)
        elif lower in FORM_WORDS:
            found("form", FORM_WORDS[lower], word)
        elif len(word) >= 2 and set(word) <= set("ABCD"):
            found("form", word, word)
        elif lower in INSTRUMENT_PROGRAMS:
            found("instrument", lower, word)
        elif lower not in FILLER_WORDS:
            unknown.append(word)
        index += 1
    return PromptReading(values=values, words=sources, unknown=tuple(unknown), conflicts=tuple(conflicts))
