"""Processors against monotony: a CTRL-style repetition penalty and a ban on repeated n-grams."""

import keras  # noqa: F401  (the examples in the docstrings use it)
import numpy as np
from keras import ops

from musickit.errors import UsageError
from musickit.generation.processors.base import FORBIDDEN_LOGIT, LogitsProcessor, previous_tokens, tokens_present


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
        tokens, valid = previous_tokens(token_ids, index, self.window)
        seen = tokens_present(tokens, valid, vocabulary_size)
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
        tokens, valid = previous_tokens(token_ids, index, self.window)
        width = ops.shape(tokens)[1]
        if width < n:
            return logits
        context, _ = previous_tokens(token_ids, index, n - 1) if n > 1 else (None, None)
        # match[:, w] is True where tokens[w : w + n - 1] equals the last n - 1 tokens.
        match = valid[:, n - 1 :]
        for offset in range(n - 1):
            candidate = tokens[:, offset : width - (n - 1) + offset]
            match = ops.logical_and(match, candidate == context[:, offset : offset + 1])
        # Until n - 1 tokens exist there is no context to match.
        match = ops.logical_and(match, ops.cast(index, "int32") >= n - 1)
        banned = tokens_present(tokens[:, n - 1 :], match, vocabulary_size)
        return ops.where(banned, FORBIDDEN_LOGIT, logits)

    def get_config(self):
        return {"ngram_size": self.ngram_size, "window": self.window}
