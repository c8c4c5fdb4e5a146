"""A length in bars for token models: once a piece holds its bars, the token that would go further ends it.

:class:`BarBudget` gives every id an *advance* in bars, read from the
tokenizer's grammar: a REMI ``Bar`` token opens one bar (advance 1); a
performance ``TIME_SHIFT`` of ``k`` steps moves time by ``k * step_seconds``,
counted in bars of :data:`PERFORMANCE_BAR_SECONDS` (four quarters at 120 qpm,
the convention the VAE-GAN family cuts performance segments with). It sums
the advances of the piece's tokens (those after the last ``reset`` token:
``PROMPT_END`` before a Music Transformer's piece, a ``SECTION_X`` token in a
piece written in a form; from the start without one); once the sum reaches
the budget, every advancing token's probability goes to the end token (the
logits are merged with ``logaddexp``, so the other tokens keep their odds).
A REMI piece of ``N`` bars so ends where its ``N + 1``-th ``Bar`` would open;
a performance piece ends at the first time shift past its ``N`` bars.

It is a logits processor (``keras.ops`` only), so it works inside the compiled
decoding loop of :mod:`musickit.generation.cached_decoding` on every backend,
after the grammar and note rules; the loop then stops at the end token.

Example:

>>> import keras
>>> import numpy as np
>>> from musickit.representations.remi import REMITokenizer
>>> tokenizer = REMITokenizer(num_velocity_bins=0, use_programs=False)
>>> budget = BarBudget.from_tokenizer(tokenizer, bars=1)
>>> ids = [tokenizer.bar_id, tokenizer.token_to_id("Position_0"), tokenizer.token_to_id("Pitch_60")]
>>> history = np.array([ids + [0] * 5], "int32")
>>> logits = np.zeros((1, tokenizer.vocabulary_size), "float32")
>>> processed = keras.ops.convert_to_numpy(budget(logits, history, 3))  # one bar written: a second ends the piece
>>> bool(processed[0, tokenizer.bar_id] < -1e8), bool(processed[0, tokenizer.eos_id] > 0.6)
(True, True)
"""

import numpy as np
from keras import ops

from musickit.errors import UsageError
from musickit.generation.processors.base import FORBIDDEN_LOGIT, LogitsProcessor, vocabulary_structure

#: Seconds in one bar of a performance-event piece (no bar lines): four quarters at 120 qpm.
PERFORMANCE_BAR_SECONDS = 2.0


def bar_advances(tokenizer, vocabulary_size=None):
    """Each id's advance in bars (a list of floats): ``Bar`` 1, a time shift its seconds over a bar's, else 0.

    >>> from musickit.representations.performance import PerformanceTokenizer
    >>> tokenizer = PerformanceTokenizer(num_time_shifts=100, time_shift_ms=10)
    >>> advances = bar_advances(tokenizer)
    >>> advances[tokenizer.token_to_id("TIME_SHIFT_100")], advances[tokenizer.token_to_id("NOTE_ON_60")]
    (0.5, 0.0)
    """
    kinds, values = vocabulary_structure(tokenizer, vocabulary_size)
    step_seconds = getattr(tokenizer, "step_seconds", None)
    advances = []
    for kind, value in zip(kinds, values):
        if kind == "bar":
            advances.append(1.0)
        elif kind == "time_shift" and step_seconds:
            advances.append(value * step_seconds / PERFORMANCE_BAR_SECONDS)
        else:
            advances.append(0.0)
    if not any(advances):
        raise UsageError(f"{type(tokenizer).__name__} has neither bar lines nor time shifts to count bars with")
    return advances


class BarBudget(LogitsProcessor):
    """End a piece once it holds ``bars`` bars (see the module docstring).

    Args:
        advances: each id's advance in bars (:func:`bar_advances`); ids past it advance 0.
        bars: the piece's length in bars, at least 1.
        end_id: the end token that takes the advancing tokens' probability.
        reset_token_ids: ids after which counting starts again (the last one in the sequence counts).
    """

    def __init__(self, advances, bars, end_id, reset_token_ids=()):
        if bars is None or bars < 1:
            raise UsageError(f"--bars must be at least 1, got {bars}")
        self.advances = [float(value) for value in advances]
        self.bars = int(bars)
        self.end_id = int(end_id)
        self.reset_token_ids = sorted(int(token) for token in reset_token_ids)

    @classmethod
    def from_tokenizer(cls, tokenizer, bars, vocabulary_size=None, reset_token_ids=()):
        """The budget of ``bars`` bars for ``tokenizer``'s pieces, ending with its ``eos_id``."""
        end_id = getattr(tokenizer, "eos_id", None)
        if end_id is None:
            raise UsageError(f"{type(tokenizer).__name__} has no end token, so a length in bars cannot end a piece")
        return cls(bar_advances(tokenizer, vocabulary_size), bars, end_id, reset_token_ids)

    def __call__(self, logits, token_ids, index):
        vocabulary_size = int(logits.shape[-1])
        advances = np.zeros(vocabulary_size, "float32")
        size = min(len(self.advances), vocabulary_size)
        advances[:size] = self.advances[:size]
        advancing = ops.convert_to_tensor(advances > 0)
        token_ids = ops.cast(token_ids, "int32")
        length = token_ids.shape[1]
        positions = ops.arange(length, dtype="int32")[None, :]
        filled = positions < ops.cast(index, "int32")
        start = ops.full_like(token_ids[:, :1], -1)
        if self.reset_token_ids:
            is_reset = ops.zeros_like(filled)
            for token in self.reset_token_ids:
                is_reset = ops.logical_or(is_reset, token_ids == token)
            is_reset = ops.logical_and(is_reset, filled)
            start = ops.max(ops.where(is_reset, positions, -1), axis=1, keepdims=True)
        counted = ops.logical_and(filled, positions > start)
        steps = ops.take(ops.convert_to_tensor(advances), ops.clip(token_ids, 0, vocabulary_size - 1))
        used = ops.sum(ops.where(counted, steps, 0.0), axis=1, keepdims=True)
        full = used >= self.bars - 1e-6  # (batch, 1)
        logits = ops.cast(logits, "float32")
        moved = ops.logsumexp(ops.where(advancing[None, :], logits, FORBIDDEN_LOGIT), axis=-1, keepdims=True)
        is_end = (ops.arange(vocabulary_size, dtype="int32") == self.end_id)[None, :]
        ended = ops.where(is_end, ops.logaddexp(logits, moved), logits)
        ended = ops.where(advancing[None, :], FORBIDDEN_LOGIT, ended)
        return ops.where(full, ended, logits)

    def get_config(self):
        return {
            "advances": self.advances,
            "bars": self.bars,
            "end_id": self.end_id,
            "reset_token_ids": self.reset_token_ids,
        }
