"""The logits-processor contract, forbidden tokens, and combining the processors' static masks.

Example:

>>> ForbiddenTokens([0, 2]).allowed_tokens(4).tolist()
[False, True, False, True]
"""

import numpy as np
from keras import ops

from musickit.errors import UsageError

#: Logit given to forbidden tokens: finite, so a softmax never sees ``-inf - -inf``.
FORBIDDEN_LOGIT = -1e9


def previous_tokens(token_ids, index, window):
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


def tokens_present(tokens, valid, vocabulary_size):
    """``(batch, vocabulary)`` booleans: which ids occur among the valid ``tokens``."""
    hits = ops.one_hot(ops.cast(tokens, "int32"), vocabulary_size, dtype="float32")
    hits = hits * ops.cast(valid, "float32")[..., None]
    return ops.max(hits, axis=1) > 0


def vocabulary_structure(tokenizer, vocabulary_size=None):
    """``(kinds, values)``: each id's kind (``"bar"``, ``"position"``, ``"pitch"``, ``"duration"``, ...,
    ``"other"``) and integer value (or -1), as lists, from the tokenizer's ``grammar``
    (:class:`~musickit.representations.grammar.TokenGrammar`).

    Ids past the tokenizer's vocabulary (a model's extra condition tokens) are ``"other"``.

    Example:

    >>> from musickit.representations.remi import REMITokenizer
    >>> tokenizer = REMITokenizer()
    >>> kinds, values = vocabulary_structure(tokenizer, tokenizer.vocabulary_size + 1)
    >>> pitch = tokenizer.token_to_id("Pitch_60")
    >>> kinds[pitch], values[pitch], kinds[-1]
    ('pitch', 60, 'other')
    """
    grammar = getattr(tokenizer, "grammar", None)
    if grammar is None:
        raise UsageError(
            f"{type(tokenizer).__name__} describes no grammar; use a musickit tokenizer (REMI or performance events)"
        )
    grammar = grammar.resized(vocabulary_size or grammar.vocabulary_size)
    return list(grammar.kinds), grammar.values.tolist()


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
        arguments = ", ".join(
            f"{name}={value!r}" for name, value in self.get_config().items() if not isinstance(value, list)
        )
        return f"{type(self).__name__}({arguments})"


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


def combined_allowed_tokens(processors, vocabulary_size):
    """The static mask all ``processors`` agree on; raises :class:`UsageError` if it is empty or breaks a rule.

    Example:

    >>> combined_allowed_tokens([ForbiddenTokens([0]), ForbiddenTokens([2])], 3).tolist()
    [False, True, False]
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
