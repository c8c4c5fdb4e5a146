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
:class:`~musickit.errors.UsageError` when nothing would remain. A rule that is
fixed for the whole call (a key mask, forbidden ids) is written as
:meth:`LogitsProcessor.logit_bias` with ``fixed_rule = True``: the engine passes
it into the compiled loop as an input, so prompts in different keys share one
compiled loop. The loop is compiled once per :meth:`LogitsProcessor.compile_key`
(the other processors' configurations).

Processors that know a vocabulary's structure (key masks, the REMI grammar)
read it from the tokenizer's ``grammar``
(:class:`~musickit.representations.grammar.TokenGrammar`), never from token names.

The package: :mod:`~musickit.generation.processors.base` (the base class,
forbidden tokens, combining static masks), :mod:`~musickit.generation.processors.repetition`,
:mod:`~musickit.generation.processors.keys` and :mod:`~musickit.generation.processors.remi`.

Example:

>>> import keras
>>> import numpy as np
>>> penalty = RepetitionPenalty(penalty=2.0)
>>> logits = np.array([[1.0, 1.0, -1.0]], "float32")
>>> history = np.array([[0, 2, 0]], "int32")  # tokens 0 and 2 already played
>>> keras.ops.convert_to_numpy(penalty(logits, history, 2)).tolist()
[[0.5, 1.0, -2.0]]
"""

from musickit.generation.processors.base import (
    FORBIDDEN_LOGIT,
    ForbiddenTokens,
    LogitsProcessor,
    combined_allowed_tokens,
    previous_tokens,
    tokens_present,
    vocabulary_structure,
)
from musickit.generation.processors.keys import KeyScaleMask
from musickit.generation.processors.remi import RemiGrammarMask, RemiNoteRules
from musickit.generation.processors.repetition import NoRepeatNGram, RepetitionPenalty

__all__ = [
    "FORBIDDEN_LOGIT",
    "ForbiddenTokens",
    "KeyScaleMask",
    "LogitsProcessor",
    "NoRepeatNGram",
    "RemiGrammarMask",
    "RemiNoteRules",
    "RepetitionPenalty",
    "combined_allowed_tokens",
    "previous_tokens",
    "tokens_present",
    "vocabulary_structure",
]
