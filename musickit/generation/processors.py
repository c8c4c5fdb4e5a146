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
        penalty: optional float; out-of-scale pitches lose this much logit
            instead of being forbidden (a soft key: chromatic notes stay
            possible, only rarer). The pitch range stays a hard limit.

    Example:

    >>> mask = KeyScaleMask([-1, 60, 61, 62], key="C", scale="major")
    >>> mask.allowed_tokens(4).tolist()
    [True, True, False, True]
    """

    def __init__(self, token_pitches, key="C", scale=None, pitch_range=None, penalty=None):
        try:
            self.pitch_classes = scale_pitch_classes(key, scale)
        except ValueError as error:
            raise UsageError(f"--key/--scale: {error}") from None
        self.token_pitches = [int(pitch) for pitch in token_pitches]
        self.key = key
        self.scale = scale
        self.pitch_range = None if pitch_range is None else tuple(int(p) for p in pitch_range)
        if penalty is not None and not float(penalty) > 0:
            raise UsageError(f"key penalty must be > 0 (or None for a hard mask), got {penalty}")
        self.penalty = None if penalty is None else float(penalty)

    @classmethod
    def from_tokenizer(cls, tokenizer, key="C", scale=None, pitch_range=None, vocabulary_size=None, penalty=None):
        kinds, values = vocabulary_structure(tokenizer, vocabulary_size)
        pitches = [value if kind == "pitch" else -1 for kind, value in zip(kinds, values)]
        return cls(pitches, key=key, scale=scale, pitch_range=pitch_range, penalty=penalty)

    def _masks(self, vocabulary_size):
        in_range, in_scale = np.ones(vocabulary_size, bool), np.ones(vocabulary_size, bool)
        for token, pitch in enumerate(self.token_pitches[:vocabulary_size]):
            if pitch < 0:
                continue
            in_range[token] = self.pitch_range is None or self.pitch_range[0] <= pitch <= self.pitch_range[1]
            in_scale[token] = pitch % 12 in self.pitch_classes
        return in_range, in_scale

    def allowed_tokens(self, vocabulary_size):
        in_range, in_scale = self._masks(vocabulary_size)
        return in_range if self.penalty is not None else in_range & in_scale

    def check_allowed(self, allowed):
        pitch_tokens = np.array([pitch >= 0 for pitch in self.token_pitches[: len(allowed)]])
        if pitch_tokens.any() and not (allowed[: len(pitch_tokens)] & pitch_tokens).any():
            raise UsageError(
                f"no pitch token is left by key {self.key!r}, scale {self.scale!r} and pitch range {self.pitch_range}; "
                "widen the range or choose another scale"
            )

    def __call__(self, logits, token_ids, index):
        vocabulary_size = ops.shape(logits)[-1]
        if self.penalty is not None:
            _, in_scale = self._masks(vocabulary_size)
            logits = ops.subtract(logits, np.where(in_scale, 0.0, self.penalty).astype("float32")[None, :])
        allowed = ops.convert_to_tensor(self.allowed_tokens(vocabulary_size))
        return ops.where(allowed[None, :], logits, FORBIDDEN_LOGIT)

    def get_config(self):
        return {"token_pitches": self.token_pitches, "key": self.key, "scale": self.scale, "pitch_range": self.pitch_range,
                "penalty": self.penalty}  # fmt: skip


class ForbiddenTokens(LogitsProcessor):
    """Never sample the given ids (e.g. prompt brackets and padding inside a generated piece).

    Example:

    >>> ForbiddenTokens([0, 2]).allowed_tokens(4).tolist()
    [False, True, False, True]
    """

    def __init__(self, token_ids):
        self.token_ids = sorted(int(token) for token in token_ids)

    def allowed_tokens(self, vocabulary_size):
        allowed = np.ones(vocabulary_size, bool)
        allowed[[token for token in self.token_ids if token < vocabulary_size]] = False
        return allowed

    def __call__(self, logits, token_ids, index):
        allowed = ops.convert_to_tensor(self.allowed_tokens(ops.shape(logits)[-1]))
        return ops.where(allowed[None, :], logits, FORBIDDEN_LOGIT)

    def get_config(self):
        return {"token_ids": self.token_ids}


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
        reset_token_ids: ids after which a new piece starts (the prompt's
            ``PROMPT_END``): bars, positions and time signatures before them
            do not count, as :meth:`REMITokenizer.decode` of the piece alone
            would not see them.

    Example:

    >>> import numpy as np
    >>> kinds = ["other", "bar", "position", "position", "pitch", "velocity", "duration"]
    >>> grammar = RemiGrammarMask(kinds, [-1, -1, 0, 1, 60, 0, 0])
    >>> history = np.array([[1, 3, 4, 5, 6, 0]], "int32")  # Bar Position_1 Pitch Velocity Duration
    >>> logits = keras.ops.convert_to_numpy(grammar(np.zeros((1, 7), "float32"), history, 5))
    >>> (logits > -1).astype(int).tolist()  # not Position_0 (backwards), nor Velocity or Duration
    [[1, 1, 0, 0, 1, 0, 0]]
    """

    def __init__(self, token_kinds, token_values, note_order=("pitch", "velocity", "duration"), default_bar_steps=16,
                 reset_token_ids=()):  # fmt: skip
        self.reset_token_ids = [int(token) for token in reset_token_ids]
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
    def from_tokenizer(cls, tokenizer, vocabulary_size=None, note_order=None, reset_token_ids=()):
        """The grammar of a REMI tokenizer (its families, and bar lengths from its time signatures)."""
        kinds, values = vocabulary_structure(tokenizer, vocabulary_size)
        steps_per_quarter = int(getattr(tokenizer, "steps_per_quarter", 4))
        for index, kind in enumerate(kinds):
            if kind == "time_signature":
                numerator, denominator = str(tokenizer.id_to_token(index)).rsplit("_", 1)[1].split("/")
                values[index] = max(1, round(int(numerator) * 4 / int(denominator) * steps_per_quarter))
        if note_order is None:
            note_order = getattr(tokenizer, "note_order", ("pitch", "velocity", "duration"))
        return cls(kinds, values, note_order=note_order, default_bar_steps=4 * steps_per_quarter,
                   reset_token_ids=reset_token_ids)  # fmt: skip

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
        if self.reset_token_ids:
            is_reset = ops.any(token_ids[..., None] == np.array(self.reset_token_ids, "int32"), axis=-1)
            piece_start = ops.max(ops.where(ops.logical_and(is_reset, filled), steps, -1), axis=1)
            filled = ops.logical_and(filled, steps > piece_start[:, None])
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
                "default_bar_steps": self.default_bar_steps, "reset_token_ids": self.reset_token_ids}  # fmt: skip


def _last_index(condition):
    """Per row and position ``t``: the last position ``<= t`` where ``condition`` holds (-1 if none).

    A running maximum without a ``cummax`` op: the positions where the
    condition holds, sorted first, are looked up by their running count.
    """
    length = ops.shape(condition)[1]
    steps = ops.arange(length, dtype="int32")[None, :]
    count = ops.cumsum(ops.cast(condition, "int32"), axis=1)
    order = ops.cast(ops.argsort(ops.where(condition, steps, length + steps), axis=1), "int32")
    last = ops.take_along_axis(order, ops.maximum(count - 1, 0), axis=1)
    return ops.where(count > 0, last, -1)


def _shift_right(values, fill):
    """``values`` moved one position later along axis 1, ``fill`` in the first column."""
    first = ops.full_like(values[:, :1], fill)
    return ops.concatenate([first, values[:, :-1]], axis=1)


class RemiNoteRules(LogitsProcessor):
    """Rules on the notes a REMI stream has placed: no stacked duplicates, a polyphony cap, no long rests.

    The processor follows the piece as :meth:`REMITokenizer.decode` reads it
    (bars laid end to end with the lengths of their time signatures, each
    note at its bar's start plus its position, lasting its ``Duration``) and
    forbids the next token when it would

    - strike a pitch that is already sounding (with ``no_duplicates``): the
      same pitch twice at one position, or a key struck again while held;
    - start a note where ``max_polyphony`` notes already sound (a ``Pitch``
      then, or a ``Position`` at which no note could start);
    - break the order the tokenizer writes the notes of one position in,
      lowest pitch first (with ``ascending_pitches``), so the model stays in
      the distribution it was trained on;
    - move on (a later ``Position`` or the next ``Bar``) past more than
      ``max_rest_steps`` steps with nothing sounding (0: every step sounds
      from step 0 until the piece ends).

    A note whose ``Duration`` is still to come counts as sounding at its
    onset only. Tokens up to the last of ``reset_token_ids`` (the prompt's
    ``PROMPT_END``) are not part of the piece. The rules never leave a step
    without a choice: the step where the last note ends is always open.

    Args:
        token_kinds, token_values: as :class:`RemiGrammarMask` (``"pitch"``
            values are MIDI pitches, ``"duration"`` values steps).
        note_order: the note tokens in the order the tokenizer writes them.
        default_bar_steps: bar length before any time signature.
        max_polyphony: optional int, most notes sounding at once.
        no_duplicates: bool, forbid striking a sounding pitch.
        max_rest_steps: optional int, the longest silence the piece may hold.
        ascending_pitches: bool, each pitch at a position higher than the last.
        reset_token_ids: ids after which a new piece starts.

    Example:

    >>> import numpy as np
    >>> kinds = ["other", "bar", "position", "position", "pitch", "pitch", "duration", "duration"]
    >>> values = [-1, -1, 0, 1, 60, 62, 1, 2]
    >>> rules = RemiNoteRules(kinds, values, note_order=("pitch", "duration"), no_duplicates=True, max_rest_steps=0)
    >>> history = np.array([[1, 2, 4, 6, 0]], "int32")  # Bar Position_0 Pitch_60 Duration_1
    >>> logits = keras.ops.convert_to_numpy(rules(np.zeros((1, 8), "float32"), history, 4))
    >>> (logits > -1).astype(int).tolist()  # no second Pitch_60; Position_1 is open, the next Bar too far
    [[1, 0, 1, 1, 0, 1, 1, 1]]
    """

    def __init__(self, token_kinds, token_values, note_order=("pitch", "velocity", "duration"), default_bar_steps=16,
                 max_polyphony=None, no_duplicates=True, max_rest_steps=None, ascending_pitches=False,
                 reset_token_ids=()):  # fmt: skip
        self.ascending_pitches = bool(ascending_pitches)
        self.token_kinds = [str(kind) for kind in token_kinds]
        self.token_values = [int(value) for value in token_values]
        self.note_order = tuple(note_order)
        if "pitch" not in self.note_order or "duration" not in self.note_order:
            raise UsageError(f"note_order {self.note_order} needs a pitch and a duration token")
        self.default_bar_steps = int(default_bar_steps)
        if max_polyphony is not None and int(max_polyphony) < 1:
            raise UsageError(f"max_polyphony must be at least 1 (or None for no cap), got {max_polyphony}")
        if max_rest_steps is not None and int(max_rest_steps) < 0:
            raise UsageError(f"max_rest_steps must be >= 0 (or None for no limit), got {max_rest_steps}")
        self.max_polyphony = None if max_polyphony is None else int(max_polyphony)
        self.no_duplicates = bool(no_duplicates)
        self.max_rest_steps = None if max_rest_steps is None else int(max_rest_steps)
        self.reset_token_ids = [int(token) for token in reset_token_ids]
        codes = _CODES | {"pitch": _FIRST_NOTE, "duration": _FIRST_NOTE + 1}
        self._codes = np.array([codes.get(kind, _OTHER) for kind in self.token_kinds], "int32")
        self._duration_offset = self.note_order.index("duration") - self.note_order.index("pitch")

    @classmethod
    def from_tokenizer(cls, tokenizer, vocabulary_size=None, **options):
        """The rules for a REMI tokenizer (bar lengths from its time signatures, its note order, ``PROMPT_END``)."""
        grammar = RemiGrammarMask.from_tokenizer(tokenizer, vocabulary_size=vocabulary_size)
        if "reset_token_ids" not in options and hasattr(tokenizer, "prompt_end_id"):
            options["reset_token_ids"] = [tokenizer.prompt_end_id]
        return cls(grammar.token_kinds, grammar.token_values, note_order=grammar.note_order,
                   default_bar_steps=grammar.default_bar_steps, **options)  # fmt: skip

    def __call__(self, logits, token_ids, index):
        vocabulary_size = ops.shape(logits)[-1]
        codes = np.zeros(vocabulary_size, "int32")
        codes[: len(self._codes)] = self._codes[:vocabulary_size]
        values = np.full(vocabulary_size, -1, "int32")
        values[: len(self._codes)] = np.array(self.token_values, "int32")[:vocabulary_size]
        codes_tensor, values_tensor = ops.convert_to_tensor(codes), ops.convert_to_tensor(values)

        index = ops.cast(index, "int32")
        token_ids = ops.cast(token_ids, "int32")
        length = ops.shape(token_ids)[1]
        steps = ops.arange(length, dtype="int32")[None, :]
        filled = steps < index
        token_codes = ops.take(codes_tensor, token_ids)
        token_values = ops.take(values_tensor, token_ids)
        if self.reset_token_ids:
            is_reset = ops.logical_and(ops.any(token_ids[..., None] == np.array(self.reset_token_ids, "int32"), -1),
                                       filled)  # fmt: skip
            piece_start = ops.max(ops.where(is_reset, steps, -1), axis=1)
            live = ops.logical_and(filled, steps > piece_start[:, None])
        else:
            live = filled

        def where_kind(code):
            return ops.logical_and(token_codes == code, live)

        def value_at(positions, default):
            found = ops.take_along_axis(token_values, ops.maximum(positions, 0), axis=1)
            return ops.where(positions >= 0, found, default)

        is_bar, is_position, is_pitch = where_kind(_BAR), where_kind(_POSITION), where_kind(_FIRST_NOTE)
        # Bar lengths: the signature in force at each token; a Bar adds the length of the bar it closes.
        bar_length = value_at(_last_index(where_kind(_TIME_SIGNATURE)), self.default_bar_steps)
        closes_a_bar = ops.logical_and(is_bar, ops.cumsum(ops.cast(is_bar, "int32"), axis=1) > 1)
        bar_start = ops.cumsum(ops.where(closes_a_bar, _shift_right(bar_length, self.default_bar_steps), 0), axis=1)
        last_position, last_bar = _last_index(is_position), _last_index(is_bar)
        in_bar = ops.where(last_position > last_bar, value_at(last_position, 0), 0)
        onset = bar_start + in_bar
        # Each note lasts its Duration token's steps; a note still waiting for it sounds at its onset.
        duration_at = ops.minimum(steps + self._duration_offset, length - 1)
        duration_token = ops.take_along_axis(token_ids, ops.broadcast_to(duration_at, ops.shape(token_ids)), axis=1)
        has_duration = ops.logical_and(ops.take(codes_tensor, duration_token) == _FIRST_NOTE + 1,
                                       steps + self._duration_offset < index)  # fmt: skip
        end = onset + ops.where(has_duration, ops.maximum(ops.take(values_tensor, duration_token), 1), 1)
        end = ops.where(is_pitch, end, -1)
        pitch = ops.where(is_pitch, token_values, -1)

        def column(values):
            return ops.take_along_axis(values, ops.maximum(index - 1, 0)[None, None] + ops.zeros_like(values[:, :1]),
                                       axis=1)[:, 0]  # fmt: skip

        now, current_bar_start, current_bar_length = column(onset), column(bar_start), column(bar_length)
        forbidden = ops.zeros(ops.shape(logits), "bool")
        token_is = {code: (codes_tensor == code)[None, :] for code in (_BAR, _POSITION, _FIRST_NOTE)}

        def sounding_at(step):  # step: (batch, k) -> notes sounding there, (batch, k, length)
            return ops.logical_and(onset[:, None, :] <= step[:, :, None], step[:, :, None] < end[:, None, :])

        if self.no_duplicates:
            sounding_pitches = ops.where(sounding_at(now[:, None])[:, 0, :], pitch, -1)
            pitch_values = ops.where(token_is[_FIRST_NOTE], values_tensor[None, :], -2)
            struck = ops.any(pitch_values[:, :, None] == sounding_pitches[:, None, :], axis=-1)
            forbidden = ops.logical_or(forbidden, struck)
        position_step = current_bar_start[:, None] + values_tensor[None, :]
        if self.ascending_pitches:
            # The pitches placed since the last Position or Bar share this onset.
            since = ops.maximum(column(last_position), column(last_bar))
            here = ops.logical_and(is_pitch, steps > since[:, None])
            highest = ops.max(ops.where(here, pitch, -1), axis=1)
            lower = ops.logical_and(token_is[_FIRST_NOTE], values_tensor[None, :] <= highest[:, None])
            forbidden = ops.logical_or(forbidden, lower)
        if self.max_polyphony is not None:
            full_now = ops.sum(ops.cast(sounding_at(now[:, None])[:, 0, :], "int32"), axis=1) >= self.max_polyphony
            forbidden = ops.logical_or(forbidden, ops.logical_and(token_is[_FIRST_NOTE], full_now[:, None]))
            # Positions: count the notes sounding at each position step of the current bar.
            position_values = np.arange(max(int(values.max()) + 1, 1), dtype="int32")
            candidate = current_bar_start[:, None] + position_values[None, :]
            full = ops.sum(ops.cast(sounding_at(candidate), "int32"), axis=-1) >= self.max_polyphony
            full_at_value = ops.take_along_axis(full, ops.broadcast_to(ops.clip(values_tensor, 0, len(position_values) - 1)[None, :],
                                                                       (ops.shape(full)[0], vocabulary_size)), axis=1)  # fmt: skip
            forbidden = ops.logical_or(forbidden, ops.logical_and(token_is[_POSITION], full_at_value))
        if self.max_rest_steps is not None:
            # The piece sounds from step 0: before its first note, the rest counts from there.
            latest = ops.maximum(ops.max(end, axis=1), 0) + self.max_rest_steps
            too_late_position = ops.logical_and(token_is[_POSITION], position_step > latest[:, None])
            # The first Bar opens step 0; a later one closes the current bar.
            next_bar = ops.where(column(last_bar) >= 0, current_bar_start + current_bar_length, 0)
            next_bar_too_late = next_bar > latest
            too_late_bar = ops.logical_and(token_is[_BAR], next_bar_too_late[:, None])
            forbidden = ops.logical_or(forbidden, ops.logical_or(too_late_position, too_late_bar))
        return ops.where(forbidden, FORBIDDEN_LOGIT, logits)

    def get_config(self):
        return {"token_kinds": self.token_kinds, "token_values": self.token_values, "note_order": list(self.note_order),
                "default_bar_steps": self.default_bar_steps, "max_polyphony": self.max_polyphony,
                "no_duplicates": self.no_duplicates, "max_rest_steps": self.max_rest_steps,
                "ascending_pitches": self.ascending_pitches, "reset_token_ids": self.reset_token_ids}  # fmt: skip


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
