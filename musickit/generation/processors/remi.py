"""The REMI+ grammar as logits processors: event order and forward positions, and rules on placed notes.

Both processors read the vocabulary from the tokenizer's ``grammar``
(:class:`~musickit.representations.grammar.TokenGrammar`): one kind and one
integer value per id, and which kind may follow which.
"""

import functools

import keras  # noqa: F401  (the examples in the docstrings use it)
import numpy as np
from keras import ops

from musickit.errors import UsageError
from musickit.generation.processors.base import FORBIDDEN_LOGIT, LogitsProcessor, previous_tokens, vocabulary_structure
from musickit.music.intervals import CLASH_INTERVALS
from musickit.representations.grammar import OTHER, remi_follows

# Token kinds as small integers for the transition table; note kinds follow from 6 on, in note order.
# Every kind the table does not name (specials, sections, styles, emotions) is OTHER.
_OTHER, _BAR, _TIME_SIGNATURE, _POSITION, _TEMPO, _PROGRAM, _FIRST_NOTE = range(7)
_CODES = {
    OTHER: _OTHER,
    "bar": _BAR,
    "time_signature": _TIME_SIGNATURE,
    "position": _POSITION,
    "tempo": _TEMPO,
    "program": _PROGRAM,
}


def _grammar_of(tokenizer, vocabulary_size=None):
    """The tokenizer's :class:`~musickit.representations.grammar.TokenGrammar` over ``vocabulary_size`` ids."""
    grammar = getattr(tokenizer, "grammar", None)
    if grammar is None:
        vocabulary_structure(tokenizer)  # raises the one-line error
    return grammar.resized(vocabulary_size or grammar.vocabulary_size)


def _vocabulary_tables(codes, values, vocabulary_size):
    """``codes`` and ``values`` (NumPy int32) over ``vocabulary_size`` ids: ids past the known vocabulary
    (a model's extra condition tokens) are OTHER with value -1."""
    padded_codes = np.zeros(vocabulary_size, "int32")
    padded_codes[: len(codes)] = codes[:vocabulary_size]
    padded_values = np.full(vocabulary_size, -1, "int32")
    padded_values[: len(values)] = values[:vocabulary_size]
    return padded_codes, padded_values


class RemiGrammarMask(LogitsProcessor):
    """Keep a REMI+ token stream decodable: the order of events within bars, and positions that move forward.

    The rule is a small automaton over token kinds, following how
    :class:`~musickit.representations.remi.REMITokenizer` writes a piece::

        [other]* Bar [TimeSignature] Position [Tempo] [Program] Pitch Velocity Duration
                 [Program] Pitch ...  Position ...  Bar ...

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
        token_kinds: list, one kind per id (``tokenizer.grammar.kinds``):
            ``"bar"``, ``"time_signature"``, ``"position"``, ``"tempo"``,
            ``"program"``, a note kind from ``note_order``; any other kind
            (``"special"``, ``"section"``, ...) counts as ``"other"``.
        token_values: list, one integer per id: the step of position tokens
            and the bar length in steps of time-signature tokens.
        note_order: the note tokens in the order the tokenizer writes them.
        default_bar_steps: bar length before any time signature (16: 4/4 in sixteenths).
        follows: optional ``{kind: kinds that may come next}``; by default
            the REMI+ order for ``note_order``
            (:func:`~musickit.representations.grammar.remi_follows`), as the
            tokenizer's ``grammar.follows`` states it.
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

    def __init__(
        self,
        token_kinds,
        token_values,
        note_order=("pitch", "velocity", "duration"),
        default_bar_steps=16,
        reset_token_ids=(),
        follows=None,
    ):
        self.reset_token_ids = [int(token) for token in reset_token_ids]
        self.token_kinds = [str(kind) for kind in token_kinds]
        self.token_values = [int(value) for value in token_values]
        self.note_order = tuple(note_order)
        self.default_bar_steps = int(default_bar_steps)
        follows = remi_follows(self.note_order) if follows is None else follows
        self.follows = {str(kind): [str(after) for after in following] for kind, following in follows.items()}
        self._kind_codes = _CODES | {kind: _FIRST_NOTE + i for i, kind in enumerate(self.note_order)}
        self._codes = np.array([self._kind_codes.get(kind, _OTHER) for kind in self.token_kinds], "int32")
        self._values = np.array(self.token_values, "int32")
        if not (self._codes == _POSITION).any() or not (self._codes == _FIRST_NOTE).any():
            raise UsageError("the grammar mask needs a vocabulary with Position and Pitch tokens (a REMI tokenizer)")
        self._transitions = self._transition_table()

    @classmethod
    def from_tokenizer(cls, tokenizer, vocabulary_size=None, note_order=None, reset_token_ids=()):
        """The grammar a REMI tokenizer states (``tokenizer.grammar``: kinds, values, order, bar length)."""
        grammar = _grammar_of(tokenizer, vocabulary_size)
        if grammar.follows is None or grammar.default_bar_steps is None:
            raise UsageError(f"{type(tokenizer).__name__} has no bar grammar; the grammar mask needs REMI tokens")
        return cls(
            grammar.kinds,
            grammar.values,
            note_order=note_order or grammar.note_order,
            default_bar_steps=grammar.default_bar_steps,
            reset_token_ids=reset_token_ids,
            follows=None if note_order else grammar.follows,
        )

    def _transition_table(self):
        """``table[previous code, next code]``: may a token of the next kind follow one of the previous kind."""
        size = _FIRST_NOTE + len(self.note_order)
        table = np.zeros((size, size), bool)
        for kind, following in self.follows.items():
            if kind in self._kind_codes:
                table[
                    self._kind_codes[kind],
                    [self._kind_codes[after] for after in following if after in self._kind_codes],
                ] = True
        return table

    def check_allowed(self, allowed):
        needed = [(_POSITION, "position")] + [(_FIRST_NOTE + i, kind) for i, kind in enumerate(self.note_order)]
        for code, kind in needed:
            if not allowed[: len(self._codes)][self._codes[: len(allowed)] == code].any():
                raise UsageError(
                    f"the other processors leave no {kind} token, so the grammar mask cannot complete a note"
                )

    def __call__(self, logits, token_ids, index):
        codes, values = _vocabulary_tables(self._codes, self._values, ops.shape(logits)[-1])
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
        previous, _ = previous_tokens(token_ids, index, 1)
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
        position_fits = ops.logical_and(
            values_tensor[None, :] > current[:, None], values_tensor[None, :] < bar_steps[:, None]
        )
        position_fits = ops.logical_and(position_fits, (last_bar >= 0)[:, None])
        allowed = ops.where((codes_tensor == _POSITION)[None, :], ops.logical_and(allowed, position_fits), allowed)
        return ops.where(allowed, logits, FORBIDDEN_LOGIT)

    def get_config(self):
        return {
            "token_kinds": self.token_kinds,
            "token_values": self.token_values,
            "note_order": list(self.note_order),
            "default_bar_steps": self.default_bar_steps,
            "reset_token_ids": self.reset_token_ids,
            "follows": self.follows,
        }


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
      from step 0 until the piece ends);
    - move on past a step where fewer than ``min_voices`` notes would sound
      (the next position may be no later than where the sounding notes drop
      below ``min_voices``), or write a token outside the bars and notes
      (a section, the end) while fewer sound now: a voice that ends is taken
      up by a new note, below the position's highest one too (an exception
      to ``ascending_pitches``). Where the other rules leave no pitch to
      strike, moving on stays open.

    With ``clash_penalty``, a ``Pitch`` a minor second or ninth from a sounding
    note (:data:`~musickit.music.intervals.CLASH_INTERVALS`, what the evaluator
    counts as a clash) loses that much logit (soft: a clash the model is sure of stays possible).

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
        min_voices: optional int, fewest notes sounding once the piece has begun.
        floor_grid: the voice floor binds on every ``floor_grid``-th step of a bar (``from_tokenizer``: a
            quarter, the beat); a voice may rest over the steps between, so the floor does not force notes
            onto off-beats, where the chorales start few.
        offbeat_floor_penalty: logit taken from moving past a thin step half-way between two floor steps
            (the off-beat 8th; ``from_tokenizer``: 2): a softer floor there.
        clash_penalty: optional float, logit taken from a pitch a semitone from a sounding note.
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

    def __init__(
        self,
        token_kinds,
        token_values,
        note_order=("pitch", "velocity", "duration"),
        default_bar_steps=16,
        max_polyphony=None,
        no_duplicates=True,
        max_rest_steps=None,
        ascending_pitches=False,
        reset_token_ids=(),
        min_voices=None,
        clash_penalty=None,
        floor_grid=1,
        offbeat_floor_penalty=0.0,
    ):
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
        if min_voices is not None and not 1 <= int(min_voices) <= (self.max_polyphony or int(min_voices)):
            raise UsageError(
                f"min_voices must be from 1 to max_polyphony {self.max_polyphony} (or None), got {min_voices}"
            )
        if clash_penalty is not None and not float(clash_penalty) >= 0:
            raise UsageError(f"clash_penalty must be >= 0 (or None), got {clash_penalty}")
        self.min_voices = None if min_voices is None else int(min_voices)
        self.floor_grid = max(int(floor_grid), 1)
        self.offbeat_floor_penalty = float(offbeat_floor_penalty)
        self.clash_penalty = None if clash_penalty is None else float(clash_penalty)
        self.no_duplicates = bool(no_duplicates)
        self.max_rest_steps = None if max_rest_steps is None else int(max_rest_steps)
        self.reset_token_ids = [int(token) for token in reset_token_ids]
        codes = _CODES | {"pitch": _FIRST_NOTE, "duration": _FIRST_NOTE + 1}
        self._codes = np.array([codes.get(kind, _OTHER) for kind in self.token_kinds], "int32")
        self._values = np.array(self.token_values, "int32")
        self._duration_offset = self.note_order.index("duration") - self.note_order.index("pitch")
        # Tokens outside the bar grammar and the notes (specials, sections, styles): no way around the voice floor.
        placed = {"bar", "time_signature", "position", "tempo", "program", *self.note_order}
        self._extra = np.array([kind not in placed for kind in self.token_kinds], bool)

    @classmethod
    def from_tokenizer(cls, tokenizer, vocabulary_size=None, **options):
        """The rules for a REMI tokenizer (``tokenizer.grammar``: kinds, values, note order, bar length), reset
        after its ``PROMPT_END``."""
        grammar = _grammar_of(tokenizer, vocabulary_size)
        if grammar.default_bar_steps is None:
            raise UsageError(f"{type(tokenizer).__name__} has no bars; the note rules need REMI tokens")
        if "reset_token_ids" not in options and hasattr(tokenizer, "prompt_end_id"):
            options["reset_token_ids"] = [tokenizer.prompt_end_id]
        options.setdefault("floor_grid", max(grammar.default_bar_steps // 4, 1))  # a quarter: the default bar is 4/4
        options.setdefault("offbeat_floor_penalty", 1.0)
        return cls(
            grammar.kinds,
            grammar.values,
            note_order=grammar.note_order,
            default_bar_steps=grammar.default_bar_steps,
            **options,
        )

    def __call__(self, logits, token_ids, index):
        vocabulary_size = ops.shape(logits)[-1]
        codes, values = _vocabulary_tables(self._codes, self._values, vocabulary_size)
        codes_tensor, values_tensor = ops.convert_to_tensor(codes), ops.convert_to_tensor(values)

        index = ops.cast(index, "int32")
        token_ids = ops.cast(token_ids, "int32")
        length = ops.shape(token_ids)[1]
        steps = ops.arange(length, dtype="int32")[None, :]
        filled = steps < index
        token_codes = ops.take(codes_tensor, token_ids)
        token_values = ops.take(values_tensor, token_ids)
        if self.reset_token_ids:
            is_reset = ops.logical_and(
                ops.any(token_ids[..., None] == np.array(self.reset_token_ids, "int32"), -1), filled
            )
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
        has_duration = ops.logical_and(
            ops.take(codes_tensor, duration_token) == _FIRST_NOTE + 1, steps + self._duration_offset < index
        )
        end = onset + ops.where(has_duration, ops.maximum(ops.take(values_tensor, duration_token), 1), 1)
        end = ops.where(is_pitch, end, -1)
        pitch = ops.where(is_pitch, token_values, -1)

        def column(values):
            return ops.take_along_axis(
                values, ops.maximum(index - 1, 0)[None, None] + ops.zeros_like(values[:, :1]), axis=1
            )[:, 0]

        now, current_bar_start, current_bar_length = column(onset), column(bar_start), column(bar_length)
        forbidden = ops.zeros(ops.shape(logits), "bool")
        token_is = {code: (codes_tensor == code)[None, :] for code in (_BAR, _POSITION, _FIRST_NOTE)}

        def sounding_at(step):  # step: (batch, k) -> notes sounding there, (batch, k, length)
            return ops.logical_and(onset[:, None, :] <= step[:, :, None], step[:, :, None] < end[:, None, :])

        sounding_pitches = ops.where(sounding_at(now[:, None])[:, 0, :], pitch, -1000)
        pitch_values = ops.where(token_is[_FIRST_NOTE], values_tensor[None, :], -2000)
        if self.no_duplicates:
            struck = ops.any(pitch_values[:, :, None] == sounding_pitches[:, None, :], axis=-1)
            forbidden = ops.logical_or(forbidden, struck)
        position_step = current_bar_start[:, None] + values_tensor[None, :]
        sounding_now = ops.sum(ops.cast(sounding_at(now[:, None])[:, 0, :], "int32"), axis=1)
        now_on_grid = ops.mod(now - current_bar_start, self.floor_grid) == 0
        needs_note = ops.logical_and(sounding_now < (self.min_voices or 0), now_on_grid)  # the floor wants a note here
        if self.ascending_pitches:
            # The pitches placed since the last Position or Bar share this onset; the floor may add one below.
            since = ops.maximum(column(last_position), column(last_bar))
            here = ops.logical_and(is_pitch, steps > since[:, None])
            highest = ops.max(ops.where(here, pitch, -1), axis=1)
            lower = ops.logical_and(token_is[_FIRST_NOTE], values_tensor[None, :] <= highest[:, None])
            forbidden = ops.logical_or(forbidden, ops.logical_and(lower, ops.logical_not(needs_note)[:, None]))
        # The notes sounding at each step of the current bar (and past it), for the polyphony rules.
        position_values = np.arange(max(int(values.max()) + 1, 1), dtype="int32")
        candidate = current_bar_start[:, None] + position_values[None, :]
        if self.max_polyphony is not None or self.min_voices is not None:
            counts = ops.sum(ops.cast(sounding_at(candidate), "int32"), axis=-1)
        if self.max_polyphony is not None:
            full_now = sounding_now >= self.max_polyphony
            forbidden = ops.logical_or(forbidden, ops.logical_and(token_is[_FIRST_NOTE], full_now[:, None]))
            # Positions: count the notes sounding at each position step of the current bar.
            full = counts >= self.max_polyphony
            full_at_value = ops.take_along_axis(
                full,
                ops.broadcast_to(
                    ops.clip(values_tensor, 0, len(position_values) - 1)[None, :], (ops.shape(full)[0], vocabulary_size)
                ),
                axis=1,
            )
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
        if self.min_voices is not None:
            # The first step from now on where fewer than min_voices notes sound: no moving on past it.
            on_grid = (position_values % self.floor_grid == 0)[None, :]
            thin = ops.logical_and(ops.logical_and(counts < self.min_voices, candidate >= now[:, None]), on_grid)
            opened = column(last_bar) >= 0  # the first Bar opens step 0

            def past(thin_steps):
                """Position and Bar tokens that move on past the first of ``thin_steps``."""
                first = ops.min(ops.where(thin_steps, position_values[None, :], len(position_values)), axis=1)
                past_position = ops.logical_and(token_is[_POSITION], values_tensor[None, :] > first[:, None])
                closes = ops.logical_and(opened, current_bar_length > first)
                return ops.logical_or(past_position, ops.logical_and(token_is[_BAR], closes[:, None]))

            if self.offbeat_floor_penalty and self.floor_grid % 2 == 0:
                halfway = (position_values % self.floor_grid == self.floor_grid // 2)[None, :]
                soft = past(
                    ops.logical_and(ops.logical_and(counts < self.min_voices, candidate >= now[:, None]), halfway)
                )
                logits = ops.subtract(logits, self.offbeat_floor_penalty * ops.cast(soft, "float32"))
            pitch_open = ops.any(ops.logical_and(token_is[_FIRST_NOTE], ops.logical_not(forbidden)), axis=1)
            extra = np.ones(vocabulary_size, bool)  # ids past the known vocabulary are condition tokens
            extra[: len(self._extra)] = self._extra[:vocabulary_size]
            leaving = ops.logical_and(extra[None, :], needs_note[:, None])  # no section or end token in a thin step
            # A dead end only when a note is wanted now and none may be struck: then moving on stays open.
            binding = ops.logical_or(pitch_open, ops.logical_not(needs_note))
            thin_gap = ops.logical_and(ops.logical_or(past(thin), leaving), binding[:, None])
            forbidden = ops.logical_or(forbidden, thin_gap)
        if self.clash_penalty:
            distance = ops.abs(pitch_values[:, :, None] - sounding_pitches[:, None, :])
            clash_pairs = functools.reduce(ops.logical_or, [distance == interval for interval in CLASH_INTERVALS])
            clashes = ops.any(clash_pairs, axis=-1)
            logits = ops.subtract(logits, self.clash_penalty * ops.cast(clashes, "float32"))
        return ops.where(forbidden, FORBIDDEN_LOGIT, logits)

    def get_config(self):
        return {
            "token_kinds": self.token_kinds,
            "token_values": self.token_values,
            "note_order": list(self.note_order),
            "default_bar_steps": self.default_bar_steps,
            "max_polyphony": self.max_polyphony,
            "no_duplicates": self.no_duplicates,
            "max_rest_steps": self.max_rest_steps,
            "ascending_pitches": self.ascending_pitches,
            "reset_token_ids": self.reset_token_ids,
            "min_voices": self.min_voices,
            "clash_penalty": self.clash_penalty,
            "floor_grid": self.floor_grid,
            "offbeat_floor_penalty": self.offbeat_floor_penalty,
        }
