"""Transitional: the old names ``recipes/hierarchical_transformer.py`` imports, kept until it moves to its family.

The Music Transformer's run code now lives in
:mod:`musickit.families.music_transformer` and token sampling in
:mod:`musickit.generation.token_sampling`. This module only adapts the
hierarchical recipe's flags (helper F2's file, not changed in this step) to
them; it imports upward (generation -> runs/families) and is to be deleted
when that recipe builds a :class:`~musickit.generation.sampling_config.SamplingConfig`
with :func:`musickit.runs.sampling_flags.sampling_config_from_flags` itself.
"""

from musickit.families.music_transformer.generation import write_samples
from musickit.generation.token_sampling import token_processors
from musickit.runs.sampling_flags import sampling_config_from_flags

__all__ = ["processors_from_args", "sampler_from_args", "write_samples"]


def sampler_from_args(args):
    """The keras_hub sampler the recipe's flags describe (see :meth:`SamplingConfig.token_sampler`)."""
    return sampling_config_from_flags(args).token_sampler(getattr(args, "seed", None))


def processors_from_args(args, tokenizer, vocabulary_size, prompt=None):
    """The logits processors the recipe's flags describe (see :func:`token_processors`)."""
    return token_processors(sampling_config_from_flags(args), tokenizer, vocabulary_size, prompt=prompt)
