"""What a token vocabulary means, id by id: the description a logits processor reads instead of token names.

A tokenizer's :attr:`grammar` (a :class:`TokenGrammar`) states, for every
id, its *kind* and its integer *value*, the id range of each token family,
and, for grammars with an order (REMI), which kinds may follow which. Masks
and rules over logits (:mod:`musickit.generation.processors`) are built from
it with array operations and never parse a token's name.

Kinds and values:

===================  ===================================================
kind                 value
===================  ===================================================
``"bar"``            -1
``"time_signature"`` the bar's length in grid steps
``"position"``       the step inside the bar
``"tempo"``          the tempo bin (``tokenizer.tempo_values[bin]`` qpm)
``"program"``        the General MIDI program, 128 for drums
``"pitch"``          the MIDI pitch (REMI ``Pitch``, performance ``NOTE_ON``)
``"velocity"``       the velocity bin
``"duration"``       the length in grid steps
``"note_off"``       the MIDI pitch (performance ``NOTE_OFF``)
``"time_shift"``     the shift in time-shift steps
``"other"``          -1 (special, section, style and emotion tokens)
===================  ===================================================

Example:

>>> from musickit.representations.remi import REMITokenizer
>>> grammar = REMITokenizer(num_velocity_bins=0, use_programs=False).grammar
>>> pitch = grammar.ranges["pitch"][0]
>>> grammar.kinds[pitch], int(grammar.values[pitch]), grammar.note_order
('pitch', 21, ('pitch', 'duration'))
>>> grammar.follows["pitch"], grammar.default_bar_steps
(('duration',), 16)
"""

import numpy as np

from musickit.errors import UsageError

#: The kind of every id outside a grammar's families, and of ids past its vocabulary.
OTHER = "other"


def remi_follows(note_order):
    """``{kind: kinds that may come next}`` for a REMI+ stream whose notes are written in ``note_order``.

    ``"other"`` stands for every token outside the bar grammar (specials,
    sections, styles, emotions)::

        [other]* Bar [TimeSignature] Position [Tempo] [Program] Pitch [Velocity] Duration [Program] Pitch ... Bar

    >>> remi_follows(("pitch", "duration"))["position"]
    ('tempo', 'program', 'pitch')
    """
    first, last = note_order[0], note_order[-1]
    follows = {
        OTHER: (OTHER, "bar", "position"),
        "bar": (OTHER, "bar", "time_signature", "position"),
        "time_signature": (OTHER, "bar", "position"),
        "position": ("tempo", "program", first),
        "tempo": (OTHER, "bar", "position", "program", first),
        "program": (first,),
    }
    for kind, following in zip(note_order[:-1], note_order[1:]):
        follows[kind] = (following,)
    follows[last] = (OTHER, "bar", "position", "program", first)
    return follows


class TokenGrammar:
    """The kind and value of every id of a vocabulary, its family ranges and, optionally, its order.

    Args:
        kinds: one kind name per id (see the module docstring).
        values: one integer per id (see the module docstring); -1 where
            the kind has no value.
        ranges: ``{kind: (first id, last id + 1)}`` for each family.
        follows: optional ``{kind: kinds that may come next}``
            (:func:`remi_follows`), ``None`` for a vocabulary with no order.
        note_order: the kinds of one note's tokens, in the order written.
        default_bar_steps: bar length in steps before any time signature,
            ``None`` for a vocabulary without bars.

    Example:

    >>> grammar = TokenGrammar(["other", "pitch", "pitch"], [-1, 60, 61], {"pitch": (1, 3)})
    >>> grammar.pitches().tolist(), grammar.resized(4).kinds
    ([-1, 60, 61], ('other', 'pitch', 'pitch', 'other'))
    """

    def __init__(self, kinds, values, ranges, follows=None, note_order=(), default_bar_steps=None):
        self.kinds = tuple(str(kind) for kind in kinds)
        self.values = np.asarray(values, dtype=np.int32).reshape(-1)
        if len(self.values) != len(self.kinds):
            raise UsageError(f"a grammar needs one value per kind, got {len(self.values)} for {len(self.kinds)}")
        self.ranges = {str(kind): (int(start), int(stop)) for kind, (start, stop) in ranges.items()}
        self.follows = None if follows is None else {kind: tuple(after) for kind, after in follows.items()}
        self.note_order = tuple(note_order)
        self.default_bar_steps = None if default_bar_steps is None else int(default_bar_steps)

    @property
    def vocabulary_size(self):
        return len(self.kinds)

    def ids(self, kind):
        """The ids of one kind, as an int32 array."""
        return np.flatnonzero(np.asarray(self.kinds) == kind).astype(np.int32)

    def pitches(self):
        """An int32 array over the vocabulary: the MIDI pitch of ``"pitch"`` ids, -1 elsewhere."""
        return np.where(np.asarray(self.kinds) == "pitch", self.values, -1).astype(np.int32)

    def resized(self, vocabulary_size):
        """This grammar over ``vocabulary_size`` ids: ids past the tokenizer's (a model's extra condition
        tokens) are ``"other"`` with value -1; a smaller size cuts the tables."""
        size = int(vocabulary_size)
        extra = max(0, size - self.vocabulary_size)
        return TokenGrammar(
            self.kinds[:size] + (OTHER,) * extra,
            np.concatenate([self.values[:size], np.full(extra, -1, np.int32)]),
            {kind: (start, min(stop, size)) for kind, (start, stop) in self.ranges.items() if start < size},
            self.follows,
            self.note_order,
            self.default_bar_steps,
        )

    def __repr__(self):
        families = ", ".join(f"{kind}={start}..{stop - 1}" for kind, (start, stop) in self.ranges.items())
        return f"TokenGrammar({self.vocabulary_size} ids: {families})"
