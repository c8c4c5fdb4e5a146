"""Transitional: the old names ``recipes/ablation_search.py`` imports, kept until it moves to the family.

The piano-roll run code now lives in :mod:`musickit.families.piano_roll_lstm`.
This module only adapts the ablation recipe's flags (helper F2's file, not
changed in this step); it imports upward (generation -> runs/families) and
is to be deleted when that recipe imports from the family and builds its
:class:`~musickit.generation.sampling_config.SamplingConfig` with
:func:`musickit.runs.sampling_flags.sampling_config_from_flags`.
"""

from musickit.families.piano_roll_lstm.generation import DEFAULT_QPM, primer_from_roll, sample_rolls
from musickit.runs.sampling_flags import sampling_config_from_flags

__all__ = ["DEFAULT_QPM", "primer_from_roll", "sample_rolls", "sampling_config"]


def sampling_config(args, base=None):
    """The sampling configuration the recipe's flags describe, over ``base``."""
    return sampling_config_from_flags(args, base)
