"""Token models' sampling from one :class:`~musickit.generation.sampling_config.SamplingConfig`.

:func:`token_processors` turns a configuration into the logits processors a
REMI token model samples under (the grammar always; note rules, a key mask
and a repetition penalty on request); :func:`token_sampler` is the
keras_hub sampler that then divides the processed logits by the temperature.
Shared by the Music Transformer and hierarchical transformer families.

Example:

>>> from musickit.representations.remi import REMITokenizer
>>> tokenizer = REMITokenizer(num_velocity_bins=0, use_programs=False)
>>> config = SamplingConfig(max_polyphony=4, no_duplicates=True)
>>> [type(processor).__name__ for processor in token_processors(config, tokenizer, tokenizer.vocabulary_size)]
['ForbiddenTokens', 'RemiGrammarMask', 'RemiNoteRules']
"""

import numpy as np

from musickit.generation.processors import (
    ForbiddenTokens,
    KeyScaleMask,
    RemiGrammarMask,
    RemiNoteRules,
    RepetitionPenalty,
)
from musickit.generation.samplers import sampler_from_flags
from musickit.generation.sampling_config import SamplingConfig
from musickit.music.keys import estimate_key

__all__ = ["SamplingConfig", "prompt_key", "token_processors", "token_sampler"]


def token_sampler(config, seed=None):
    """The keras_hub sampler for ``config``: top-p if set, else top-k, else plain temperature sampling.

    keras_hub's sampler divides the (processed) logits by ``config.temperature``: the one division.

    >>> type(token_sampler(SamplingConfig(top_p=0.9), seed=0)).__name__
    'TopPSampler'
    """
    return sampler_from_flags(
        temperature=config.temperature,
        top_k=config.top_k or None,
        top_p=None if config.top_p == 1.0 else config.top_p,
        seed=seed,
    )


def prompt_key(tokenizer, prompt):
    """``(key, scale)`` for ``key="auto"``: the Krumhansl-Schmuckler key of the prompt's notes; a minor key
    keeps its raised seventh (harmonic minor), which the chorales use at every cadence."""
    key = estimate_key(tokenizer.decode(np.asarray(prompt, "int64")))
    return key, "harmonic_minor" if key.endswith("minor") else "major"


def token_processors(config, tokenizer, vocabulary_size, prompt=None):
    """Logits processors for ``config``: the REMI grammar always; note rules (``max_polyphony``,
    ``min_voices``, ``no_duplicates``, ``max_rest_steps``, ``ascending_pitches``, ``clash_penalty``), no
    early end (``full_length``), a key/scale mask and a repetition penalty on request. ``key="auto"``
    takes the key of ``prompt`` (:func:`prompt_key`)."""
    processors = []
    if hasattr(tokenizer, "token_ids") and "Position" in getattr(tokenizer, "token_ranges", {}):
        reset = [tokenizer.prompt_end_id] if hasattr(tokenizer, "prompt_end_id") else []
        if reset:
            # The decoder skips these inside a piece, so the rules below would lose track of it after one.
            processors.append(
                ForbiddenTokens(
                    [
                        tokenizer.pad_id,
                        tokenizer.bos_id,
                        tokenizer.mask_id,
                        tokenizer.prompt_start_id,
                        tokenizer.prompt_end_id,
                    ]
                )
            )
        processors.append(
            RemiGrammarMask.from_tokenizer(tokenizer, vocabulary_size=vocabulary_size, reset_token_ids=reset)
        )
        max_polyphony = config.max_polyphony or None
        max_rest_steps = None if config.max_rest_steps < 0 else config.max_rest_steps
        note_rules = (max_polyphony, config.no_duplicates, config.ascending_pitches, config.voice_floor)
        if any(note_rules) or config.clash_penalty or max_rest_steps is not None:
            processors.append(
                RemiNoteRules.from_tokenizer(
                    tokenizer,
                    vocabulary_size=vocabulary_size,
                    max_polyphony=max_polyphony,
                    no_duplicates=config.no_duplicates,
                    max_rest_steps=max_rest_steps,
                    ascending_pitches=config.ascending_pitches,
                    min_voices=config.voice_floor or None,
                    clash_penalty=config.clash_penalty or None,
                )
            )
        if config.full_length:
            # Training chunks end with EOS anywhere after the prompt, so the model ends early; ask for every token.
            processors.append(ForbiddenTokens([tokenizer.eos_id]))
    key, scale = config.key, config.scale
    if config.key_from_prompt:
        key, auto_scale = prompt_key(tokenizer, prompt) if prompt is not None else ("C", None)
        scale = scale or auto_scale
    if key or scale:
        processors.append(
            KeyScaleMask.from_tokenizer(
                tokenizer,
                key=key or "C",
                scale=scale,
                vocabulary_size=vocabulary_size,
                penalty=config.key_penalty or None,
            )
        )
    if config.repetition_penalty != 1.0:
        pitch_ids = list(tokenizer.token_ids("Pitch")) if hasattr(tokenizer, "token_ids") else None
        processors.append(
            RepetitionPenalty(config.repetition_penalty, window=config.repetition_window, penalized_tokens=pitch_ids)
        )
    return processors
