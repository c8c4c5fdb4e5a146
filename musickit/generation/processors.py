"""Logits processors: composable rules applied to next-token logits inside the decoding loop.

keras_hub's samplers pick a token from logits; they have no hook for music
rules, so musickit applies these processors in the one-token ``next``
closure of :mod:`musickit.generation.cached_decoding`, before the sampler
sees the logits. Each processor is a callable
``processor(logits, token_ids, index) -> logits`` written in ``keras.ops``
(so it compiles inside the loop on every backend), where ``token_ids`` is the
``(batch, max_length)`` buffer whose first ``index`` positions are filled.

A processor may also declare a static mask (:meth:`LogitsProcessor.allowed_tokens`);
the engine combines them before decoding and raises
:class:`~musickit.errors.UsageError` when nothing would remain.

Example:

>>> import numpy as np
>>> penalty = RepetitionPenalty(penalty=2.0)
>>> logits = np.array([[1.0, 1.0, -1.0]], "float32")
>>> history = np.array([[0, 2, 0]], "int32")  # tokens 0 and 2 already played
>>> keras.ops.convert_to_numpy(penalty(logits, history, 2)).tolist()
[[0.5, 1.0, -2.0]]
"""

import re

import keras  # noqa: F401  (the examples in the docstrings use it)
import numpy as np
from keras import ops

from musickit.errors import UsageError
from musickit.music.keys import scale_pitch_classes

#: Logit given to forbidden tokens: finite, so a softmax never sees ``-inf - -inf``.
FORBIDDEN_LOGIT = -1e9


def _previous_tokens(token_ids, index, window):
    """The last ``window`` filled tokens before ``index`` and a mask of which are real.

    The window has a static size (required inside compiled loops); while
    ``index < window`` it also covers unfilled positions, which the mask hides.
    """
    batch, max_length = ops.shape(token_ids)[0], ops.shape(token_ids)[1]
    window = min(int(window or max_length), max_length)
    index = ops.cast(index, "int32")
    start = ops.clip(index - window, 0, max_length - window)
    tokens = ops.slice(token_ids, [0, start], [batch, window])
    valid = (start + ops.arange(window, dtype="int32")) < index
    return tokens, ops.broadcast_to(valid[None, :], ops.shape(tokens))


def _tokens_present(tokens, valid, vocabulary_size):
    """``(batch, vocabulary)`` booleans: which ids occur among the valid ``tokens``."""
    hits = ops.one_hot(ops.cast(tokens, "int32"), vocabulary_size, dtype="float32")
    hits = hits * ops.cast(valid, "float32")[..., None]
    return ops.max(hits, axis=1) > 0


class LogitsProcessor:
    """Base class. Subclasses implement ``__call__`` and ``get_config``."""

    def __call__(self, logits, token_ids, index):
        raise NotImplementedError

    def allowed_tokens(self, vocabulary_size):
        """A static boolean mask of tokens this processor can ever allow, or ``None`` if it has none."""
        return None

    def check_allowed(self, allowed):
        """Raise if the combined static mask ``allowed`` makes this processor's rule impossible."""

    def get_config(self):
        raise NotImplementedError

    def __repr__(self):
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.get_config().items() if not isinstance(value, list))
        return f"{type(self).__name__}({arguments})"


class RepetitionPenalty(LogitsProcessor):
    """Discourage tokens played in the last ``window`` steps (CTRL-style penalty).

    A positive logit is divided by ``penalty``, a negative one multiplied, so
    the token always becomes less likely. In music only some tokens should be
    penalised: repeating ``Bar`` or ``Position`` tokens is grammar, not
    monotony, so pass ``penalized_tokens`` (e.g. the pitch tokens).

    Args:
        penalty: float >= 1; 1 disables the penalty.
        window: int, how many previous tokens count.
        penalized_tokens: optional list of ids the penalty applies to
            (default: every id).

    References:
        - [Keskar et al., 2019, CTRL](https://arxiv.org/abs/1909.05858)
    """

    def __init__(self, penalty=1.2, window=64, penalized_tokens=None):
        if not penalty >= 1.0:
            raise UsageError(f"repetition penalty must be >= 1 (1 disables it), got {penalty}")
        self.penalty = float(penalty)
        self.window = int(window)
        self.penalized_tokens = None if penalized_tokens is None else sorted(int(t) for t in penalized_tokens)

    def __call__(self, logits, token_ids, index):
        vocabulary_size = ops.shape(logits)[-1]
        tokens, valid = _previous_tokens(token_ids, index, self.window)
        seen = _tokens_present(tokens, valid, vocabulary_size)
        if self.penalized_tokens is not None:
            eligible = np.zeros(vocabulary_size, bool)
            eligible[[t for t in self.penalized_tokens if t < vocabulary_size]] = True
            seen = ops.logical_and(seen, ops.convert_to_tensor(eligible)[None, :])
        penalized = ops.where(logits > 0, logits / self.penalty, logits * self.penalty)
        return ops.where(seen, penalized, logits)

    def get_config(self):
        return {"penalty": self.penalty, "window": self.window, "penalized_tokens": self.penalized_tokens}


class NoRepeatNGram(LogitsProcessor):
    """Forbid any token that would complete an n-gram already present in the last ``window`` tokens.

    Args:
        ngram_size: int >= 1, the ``n`` of the n-grams that may not repeat.
        window: int, how far back to look (bounded, since each step compares
            the window with the current ``n - 1`` tokens).

    Example:

    >>> import numpy as np
    >>> processor = NoRepeatNGram(ngram_size=2)
    >>> history = np.array([[3, 4, 3, 0]], "int32")  # "3 4" was played; the last token is 3
    >>> logits = keras.ops.convert_to_numpy(processor(np.zeros((1, 6), "float32"), history, 3))
    >>> int(logits.argmin())  # 4 would repeat "3 4"
    4
    """

    def __init__(self, ngram_size=4, window=256):
        if int(ngram_size) < 1:
            raise UsageError(f"ngram_size must be >= 1, got {ngram_size}")
        self.ngram_size = int(ngram_size)
        self.window = int(window)

    def __call__(self, logits, token_ids, index):
        vocabulary_size = ops.shape(logits)[-1]
        n = self.ngram_size
        tokens, valid = _previous_tokens(token_ids, index, self.window)
        width = ops.shape(tokens)[1]
        if width < n:
            return logits
        context, _ = _previous_tokens(token_ids, index, n - 1) if n > 1 else (None, None)
        # match[:, w] is True where tokens[w : w + n - 1] equals the last n - 1 tokens.
        match = valid[:, n - 1 :]
        for offset in range(n - 1):
            candidate = tokens[:, offset : width - (n - 1) + offset]
            match = ops.logical_and(match, candidate == context[:, offset : offset + 1])
        # Until n - 1 tokens exist there is no context to match.
        match = ops.logical_and(match, ops.cast(index, "int32") >= n - 1)
        banned = _tokens_present(tokens[:, n - 1 :], match, vocabulary_size)
        return ops.where(banned, FORBIDDEN_LOGIT, logits)

    def get_config(self):
        return {"ngram_size": self.ngram_size, "window": self.window}


# ---------------------------------------------------------------------------------------------
# Vocabulary structure, read from a tokenizer's token names.

_NAME_PATTERN = re.compile(r"^(?P<kind>[A-Za-z_]+?)_?(?P<value>-?\d+)?$")
KIND_ALIASES = {
    "bar": "bar",
    "position": "position",
    "timesignature": "time_signature",
    "tempo": "tempo",
    "program": "program",
    "pitch": "pitch",
    "note_on": "pitch",
    "velocity": "velocity",
    "duration": "duration",
}


def vocabulary_structure(tokenizer, vocabulary_size=None):
    """``(kinds, values)``: each id's kind (``"bar"``, ``"position"``, ``"pitch"``, ``"velocity"``,
    ``"duration"`` or ``"other"``) and its integer value (or -1), from the tokenizer's token names.

    Ids past the tokenizer's vocabulary (condition prefix tokens) are ``"other"``.

    Example:

    >>> class Names:
    ...     vocabulary_size = 4
    ...     def id_to_token(self, index):
    ...         return ["BAR", "POSITION_0", "PITCH_60", "EOS"][index]
    >>> vocabulary_structure(Names())
    (['bar', 'position', 'pitch', 'other'], [-1, 0, 60, -1])
    """
    size = int(vocabulary_size or tokenizer.vocabulary_size)
    kinds, values = [], []
    for index in range(size):
        kind, value = "other", -1
        if index < tokenizer.vocabulary_size:
            name = str(tokenizer.id_to_token(index))
            match = _NAME_PATTERN.match(name)
            if match:
                kind = KIND_ALIASES.get(match.group("kind").lower().rstrip("_"), "other")
                value = int(match.group("value")) if match.group("value") is not None else -1
            if hasattr(tokenizer, "token_type"):
                # REMITokenizer names each id's family; trust it over the name.
                kind = KIND_ALIASES.get(str(tokenizer.token_type(index)).lower(), "other")
        kinds.append(kind)
        values.append(value)
    return kinds, values


class KeyScaleMask(LogitsProcessor):
    """Allow only pitch tokens whose pitch class is in a key's scale (and, optionally, a pitch range).

    Args:
        token_pitches: list, one entry per token id: its MIDI pitch for pitch
            tokens, -1 for every other token (left untouched).
        key: a key name such as ``"C"``, ``"A minor"`` or ``"F#"``.
        scale: optional scale name (``"major"``, ``"minor"``, ``"pentatonic"``...);
            defaults to the key's mode.
        pitch_range: optional ``(lowest, highest)`` MIDI pitches, inclusive.

    Example:

    >>> mask = KeyScaleMask([-1, 60, 61, 62], key="C", scale="major")
    >>> mask.allowed_tokens(4).tolist()
    [True, True, False, True]
    """

    def __init__(self, token_pitches, key="C", scale=None, pitch_range=None):
        try:
            self.pitch_classes = scale_pitch_classes(key, scale)
        except ValueError as error:
            raise UsageError(f"--key/--scale: {error}") from None
        self.token_pitches = [int(pitch) for pitch in token_pitches]
        self.key = key
        self.scale = scale
        self.pitch_range = None if pitch_range is None else tuple(int(p) for p in pitch_range)

    @classmethod
    def from_tokenizer(cls, tokenizer, key="C", scale=None, pitch_range=None, vocabulary_size=None):
        kinds, values = vocabulary_structure(tokenizer, vocabulary_size)
        pitches = [value if kind == "pitch" else -1 for kind, value in zip(kinds, values)]
        return cls(pitches, key=key, scale=scale, pitch_range=pitch_range)

    def allowed_tokens(self, vocabulary_size):
        allowed = np.ones(vocabulary_size, bool)
        for token, pitch in enumerate(self.token_pitches[:vocabulary_size]):
            if pitch < 0:
                continue
            in_range = self.pitch_range is None or self.pitch_range[0] <= pitch <= self.pitch_range[1]
            allowed[token] = pitch % 12 in self.pitch_classes and in_range
        return allowed

    def check_allowed(self, allowed):
        pitch_tokens = np.array([pitch >= 0 for pitch in self.token_pitches[: len(allowed)]])
        if pitch_tokens.any() and not (allowed[: len(pitch_tokens)] & pitch_tokens).any():
            raise UsageError(
                f"no pitch token is left by key {self.key!r}, scale {self.scale!r} and pitch range {self.pitch_range}; "
                "widen the range or choose another scale"
            )

    def __call__(self, logits, token_ids, index):
        allowed = ops.convert_to_tensor(self.allowed_tokens(ops.shape(logits)[-1]))
        return ops.where(allowed[None, :], logits, FORBIDDEN_LOGIT)

    def get_config(self):
        return {"token_pitches": self.token_pitches, "key": self.key, "scale": self.scale, "pitch_range": self.pitch_range}


# Token kinds as small integers for the grammar's transition table; note kinds follow from 6 on.
_OTHER, _BAR, _TIME_SIGNATURE, _POSITION, _TEMPO, _PROGRAM, _FIRST_NOTE = range(7)
_CODES = {"other": _OTHER, "bar": _BAR, "time_signature": _TIME_SIGNATURE, "position": _POSITION, "tempo": _TEMPO,
          "program": _PROGRAM}  # fmt: skip


class RemiGrammarMask(LogitsProcessor):
    """Keep a REMI+ token stream decodable: the order of events within bars, and positions that move forward.

    The rule is a small automaton over token kinds, following how
    :class:`~musickit.representations.remi.REMITokenizer` writes a piece::

        [other]* Bar [TimeSignature] Position [Tempo] [Program] Pitch Velocity Duration  [Program] Pitch ...  Position ...  Bar ...

    - ``Bar`` may be followed by a ``TimeSignature``, a ``Position``, another
      ``Bar`` (an empty bar) or another token (a section, the end);
    - a ``Position`` needs a ``Bar`` before it, must be later than the
      current bar's last position and earlier than the bar's length (from its
      last ``TimeSignature``, 4/4 by default), and is followed by a ``Tempo``,
      a ``Program`` or the first note token;
    - note tokens follow each other in ``note_order``; after the last one
      comes another note, a ``Program``, a later ``Position``, a ``Bar`` or
      another token;
    - ``Program`` is followed by a note; ``Tempo`` by a ``Program``, a note,
      a later ``Position``, a ``Bar`` or another token.

    Args:
        token_kinds: list, one kind per id: ``"bar"``, ``"time_signature"``,
            ``"position"``, ``"tempo"``, ``"program"``, a note kind from
            ``note_order``, or ``"other"``.
        token_values: list, one integer per id: the step of position tokens
            and the bar length in steps of time-signature tokens.
        note_order: the note tokens in the order the tokenizer writes them.
        default_bar_steps: bar length before any time signature (16: 4/4 in sixteenths).

    Example:

    >>> import numpy as np
    >>> kinds = ["other", "bar", "position", "position", "pitch", "velocity", "duration"]
    >>> grammar = RemiGrammarMask(kinds, [-1, -1, 0, 1, 60, 0, 0])
    >>> history = np.array([[1, 3, 4, 5, 6, 0]], "int32")  # Bar Position_1 Pitch Velocity Duration
    >>> logits = keras.ops.convert_to_numpy(grammar(np.zeros((1, 7), "float32"), history, 5))
    >>> (logits > -1).astype(int).tolist()  # not Position_0 (backwards), nor Velocity or Duration
    [[1, 1, 0, 0, 1, 0, 0]]
    """

    def __init__(self, token_kinds, token_values, note_order=("pitch", "velocity", "duration"), default_bar_steps=16):
        self.token_kinds = [str(kind) for kind in token_kinds]
        self.token_values = [int(value) for value in token_values]
        self.note_order = tuple(note_order)
        self.default_bar_steps = int(default_bar_steps)
        codes = _CODES | {kind: _FIRST_NOTE + i for i, kind in enumerate(self.note_order)}
        self._codes = np.array([codes.get(kind, _OTHER) for kind in self.token_kinds], "int32")
        if not (self._codes == _POSITION).any() or not (self._codes == _FIRST_NOTE).any():
            raise UsageError("the grammar mask needs a vocabulary with Position and Pitch tokens (a REMI tokenizer)")
        self._transitions = self._transition_table()

    @classmethod
    def from_tokenizer(cls, tokenizer, vocabulary_size=None, note_order=None):
        """The grammar of a REMI tokenizer (its families, and bar lengths from its time signatures)."""
        kinds, values = vocabulary_structure(tokenizer, vocabulary_size)
        steps_per_quarter = int(getattr(tokenizer, "steps_per_quarter", 4))
        for index, kind in enumerate(kinds):
            if kind == "time_signature":
                numerator, denominator = str(tokenizer.id_to_token(index)).rsplit("_", 1)[1].split("/")
                values[index] = max(1, round(int(numerator) * 4 / int(denominator) * steps_per_quarter))
        if note_order is None:
            note_order = getattr(tokenizer, "note_order", ("pitch", "velocity", "duration"))
        return cls(kinds, values, note_order=note_order, default_bar_steps=4 * steps_per_quarter)

    def _transition_table(self):
        first_note, last_note = _FIRST_NOTE, _FIRST_NOTE + len(self.note_order) - 1
        table = np.zeros((last_note + 1, last_note + 1), bool)
        table[_OTHER, [_OTHER, _BAR, _POSITION]] = True
        table[_BAR, [_OTHER, _BAR, _TIME_SIGNATURE, _POSITION]] = True
        table[_TIME_SIGNATURE, [_OTHER, _BAR, _POSITION]] = True
        table[_POSITION, [_TEMPO, _PROGRAM, first_note]] = True
        table[_TEMPO, [_OTHER, _BAR, _POSITION, _PROGRAM, first_note]] = True
        table[_PROGRAM, first_note] = True
        for note_kind in range(first_note, last_note):
            table[note_kind, note_kind + 1] = True
        table[last_note, [_OTHER, _BAR, _POSITION, _PROGRAM, first_note]] = True
        return table

    def check_allowed(self, allowed):
        needed = [(_POSITION, "position")] + [(_FIRST_NOTE + i, kind) for i, kind in enumerate(self.note_order)]
        for code, kind in needed:
            if not allowed[: len(self._codes)][self._codes[: len(allowed)] == code].any():
                raise UsageError(f"the other processors leave no {kind} token, so the grammar mask cannot complete a note")

    def __call__(self, logits, token_ids, index):
        vocabulary_size = ops.shape(logits)[-1]
        codes = np.zeros(vocabulary_size, "int32")  # ids past the known vocabulary count as "other"
        codes[: len(self._codes)] = self._codes[:vocabulary_size]
        values = np.full(vocabulary_size, -1, "int32")
        values[: len(self._codes)] = np.array(self.token_values, "int32")[:vocabulary_size]
        codes_tensor, values_tensor = ops.convert_to_tensor(codes), ops.convert_to_tensor(values)

        index = ops.cast(index, "int32")
        token_ids = ops.cast(token_ids, "int32")
        steps = ops.arange(ops.shape(token_ids)[1], dtype="int32")[None, :]
        filled = steps < index
        token_codes = ops.take(codes_tensor, token_ids)
        # The kind of the previous token decides which kinds may follow.
        previous, _ = _previous_tokens(token_ids, index, 1)
        previous_code = ops.where(index > 0, ops.take(codes_tensor, previous[:, 0]), _OTHER)
        allowed_kinds = ops.take(ops.convert_to_tensor(self._transitions), previous_code, axis=0)
        allowed = ops.take_along_axis(allowed_kinds, ops.broadcast_to(codes_tensor[None, :], ops.shape(logits)), axis=1)

        def last(code):
            """Per row: where the last token of ``code`` before ``index`` is (-1 if none)."""
            return ops.max(ops.where(ops.logical_and(token_codes == code, filled), steps, -1), axis=1)

        def value_at(where):
            token = ops.take_along_axis(token_ids, ops.maximum(where, 0)[:, None], axis=1)[:, 0]
            return ops.take(values_tensor, token)

        last_bar, last_position, last_signature = last(_BAR), last(_POSITION), last(_TIME_SIGNATURE)
        current = ops.where(last_position > last_bar, value_at(last_position), -1)
        bar_steps = ops.where(last_signature >= 0, value_at(last_signature), self.default_bar_steps)
        position_fits = ops.logical_and(values_tensor[None, :] > current[:, None], values_tensor[None, :] < bar_steps[:, None])
        position_fits = ops.logical_and(position_fits, (last_bar >= 0)[:, None])
        allowed = ops.where((codes_tensor == _POSITION)[None, :], ops.logical_and(allowed, position_fits), allowed)
        return ops.where(allowed, logits, FORBIDDEN_LOGIT)

    def get_config(self):
        return {"token_kinds": self.token_kinds, "token_values": self.token_values, "note_order": list(self.note_order),
                "default_bar_steps": self.default_bar_steps}  # fmt: skip


def combined_allowed_tokens(processors, vocabulary_size):
    """The static mask all ``processors`` agree on; raises :class:`UsageError` if it is empty or breaks a rule.

    Example:

    >>> combined_allowed_tokens([KeyScaleMask([-1, 60, 61], key="C")], 3).tolist()
    [True, True, False]
    """
    allowed = np.ones(vocabulary_size, bool)
    for processor in processors:
        mask = processor.allowed_tokens(vocabulary_size)
        if mask is not None:
            allowed &= np.asarray(mask, bool)
    if not allowed.any():
        raise UsageError(f"the logits processors {list(processors)} together allow no token at all; relax one of them")
    for processor in processors:
        processor.check_allowed(allowed)
    return allowed
