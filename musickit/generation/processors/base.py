"""The logits-processor contract, forbidden tokens, and combining the processors' static masks.

A processor whose rule does not depend on the tokens so far (a key mask, forbidden
ids) says so by returning its rule as an additive :meth:`LogitsProcessor.logit_bias`;
the decoding engine then passes that bias into its compiled loop as an input
instead of baking it in, so processors that differ only in such a rule (one
key per prompt) share one compiled loop.

Example:

>>> ForbiddenTokens([0, 2]).allowed_tokens(4).tolist()
[False, True, False, True]
"""

import json

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


def apply_logit_bias(logits, bias):
    """``logits + bias``, with tokens whose bias is :data:`FORBIDDEN_LOGIT` set to exactly that.

    Example:

    >>> bias = np.array([0.0, -2.0, FORBIDDEN_LOGIT], "float32")
    >>> ops.convert_to_numpy(apply_logit_bias(ops.ones((1, 3)), bias)).tolist()
    [[1.0, -1.0, -1000000000.0]]
    """
    bias = ops.cast(bias, logits.dtype)
    return ops.where(bias[None, :] <= FORBIDDEN_LOGIT / 2, FORBIDDEN_LOGIT, ops.add(logits, bias[None, :]))


class LogitsProcessor:
    """Base class. Subclasses implement ``get_config`` and either ``__call__`` (a rule on the tokens so far)
    or ``logit_bias`` (a fixed rule: ``__call__`` then adds it) and set ``fixed_rule``."""

    #: True when the rule is :meth:`logit_bias`, fixed for the whole call.
    fixed_rule = False

    def __call__(self, logits, token_ids, index):
        if not self.fixed_rule:
            raise NotImplementedError(f"{type(self).__name__} implements neither __call__ nor logit_bias")
        return apply_logit_bias(logits, self.logit_bias(ops.shape(logits)[-1]))

    def logit_bias(self, vocabulary_size):
        """For a rule fixed for the whole call: a float32 ``(vocabulary_size,)`` array added to the logits
        (0 leaves a token alone, :data:`FORBIDDEN_LOGIT` forbids it); ``None`` for a rule on the tokens so far."""
        return None

    def compile_key(self):
        """What a compiled decoding loop depends on: two processors with equal keys can share one loop.

        A fixed rule reaches the loop as an input (:meth:`logit_bias`), so only its kind counts;
        any other rule is traced into the loop, so its whole configuration counts.
        """
        if self.fixed_rule:
            return (type(self).__name__, "logit_bias")
        return (type(self).__name__, json.dumps(self.get_config(), sort_keys=True, default=repr))

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

    fixed_rule = True

    def __init__(self, token_ids):
        self.token_ids = sorted(int(token) for token in token_ids)

    def allowed_tokens(self, vocabulary_size):
        allowed = np.ones(vocabulary_size, bool)
        allowed[[token for token in self.token_ids if token < vocabulary_size]] = False
        return allowed

    def logit_bias(self, vocabulary_size):
        return np.where(self.allowed_tokens(vocabulary_size), 0.0, FORBIDDEN_LOGIT).astype("float32")

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
