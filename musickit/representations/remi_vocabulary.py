"""The REMI+ vocabulary: every token name in id order, with its family, kind and value.

:class:`~musickit.representations.remi.REMITokenizer` builds its vocabulary
with :func:`build_vocabulary` from its settings (all public attributes), and
its :class:`~musickit.representations.grammar.TokenGrammar` from the kinds,
values and ranges. Special tokens come first, then the leading families
(``SECTION_``, ``STYLE_``, ``EMOTION_``), then :data:`FAMILIES` in order.

Example:

>>> from musickit.representations.remi import REMITokenizer
>>> vocabulary = build_vocabulary(REMITokenizer(use_programs=False))
>>> vocabulary.tokens[:3], vocabulary.types[6], vocabulary.kinds[6], "Program" in vocabulary.families
(['PAD', 'BOS', 'EOS'], 'SECTION', 'section', False)
"""

from typing import NamedTuple

from musickit.representations.conditions import SECTION_LETTERS

SPECIAL_TOKENS = ("PAD", "BOS", "EOS", "MASK", "PROMPT_START", "PROMPT_END")
DRUMS = "drums"
# Token families, in vocabulary order after the special tokens, and their kinds in the grammar.
FAMILIES = ("Bar", "Position", "Pitch", "Velocity", "Duration", "Tempo", "TimeSignature", "Program")
FAMILY_KINDS = dict(
    zip(FAMILIES, ("bar", "position", "pitch", "velocity", "duration", "tempo", "time_signature", "program"))
)
# The leading tokens: the family of each (token_type()) and its kind in the grammar.
LEADING_FAMILIES = (("SPECIAL", "special"), ("SECTION", "section"), ("STYLE", "style"), ("EMOTION", "emotion"))


class Vocabulary(NamedTuple):
    """Parallel lists over the ids (``tokens``, ``types``, ``kinds``, ``values``) and the id ranges.

    ``families`` maps each of :data:`FAMILIES` that is used to ``(first id, last id + 1)``;
    ``ranges`` does the same for every grammar kind (the leading ones too).
    """

    tokens: list
    types: list
    kinds: list
    values: list
    families: dict
    ranges: dict


def build_vocabulary(tokenizer):
    """The :class:`Vocabulary` of a :class:`~musickit.representations.remi.REMITokenizer`'s settings."""
    leading = (
        SPECIAL_TOKENS,
        [f"SECTION_{name}" for name in SECTION_LETTERS],
        [f"STYLE_{name}" for name in tokenizer.styles],
        [f"EMOTION_{name}" for name in tokenizer.emotions],
    )
    values = {
        "Bar": [-1],
        "Position": range(tokenizer.num_positions),
        "Pitch": range(tokenizer.lowest_pitch, tokenizer.highest_pitch + 1),
        "Velocity": range(tokenizer.num_velocity_bins),
        "Duration": range(1, tokenizer.max_duration_steps + 1),
        "Tempo": range(tokenizer.num_tempo_bins),
        "TimeSignature": [tokenizer.bar_steps(*signature) for signature in tokenizer.time_signatures],
        "Program": range(129) if tokenizer.use_programs else [],
    }
    names = {family: [f"{family}_{value}" for value in values[family]] for family in FAMILIES}
    names.update(
        Bar=["Bar"],
        Tempo=[f"Tempo_{value:g}" for value in tokenizer.tempo_values],
        TimeSignature=[f"TimeSignature_{n}/{d}" for n, d in tokenizer.time_signatures],
        Program=[f"Program_{program}" for program in range(128)] + [f"Program_{DRUMS}"],
    )
    tokens, types, kinds, token_values, families, ranges = [], [], [], [], {}, {}
    for (family, kind), names_of_family in zip(LEADING_FAMILIES, leading):
        ranges[kind] = (len(tokens), len(tokens) + len(names_of_family))
        tokens += names_of_family
        types += list(SPECIAL_TOKENS) if family == "SPECIAL" else [family] * len(names_of_family)
        kinds += [kind] * len(names_of_family)
        token_values += range(len(names_of_family))
    for family in FAMILIES:
        if family == "Program" and not tokenizer.use_programs:
            continue
        families[family] = ranges[FAMILY_KINDS[family]] = (len(tokens), len(tokens) + len(names[family]))
        tokens += names[family]
        types += [family] * len(names[family])
        kinds += [FAMILY_KINDS[family]] * len(names[family])
        token_values += values[family]
    return Vocabulary(tokens, types, kinds, token_values, families, ranges)
