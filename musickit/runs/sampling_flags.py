"""Sampling flags -> :class:`~musickit.generation.sampling_config.SamplingConfig`, at the edge.

Recipes and ``musickit generate`` turn their parsed flags into a sampling
configuration here, once; every library function below takes the
configuration, never the flags. No Keras is imported.

Example:

>>> import argparse
>>> from musickit.generation.sampling_config import SamplingConfig
>>> family = SamplingConfig(temperature=0.9, top_p=0.95, max_polyphony=4)
>>> flags = argparse.Namespace(temperature=None, top_p=0.8, top_k=None, seed=3)  # None: the flag was not given
>>> config = sampling_config_from_flags(flags, family)
>>> config.temperature, config.top_p, config.max_polyphony
(0.9, 0.8, 4)
"""

import dataclasses

from musickit.generation.sampling_config import SamplingConfig

#: flag destination -> configuration field, where the two are spelled differently
FLAG_ALIASES = {"max_length": "new_tokens"}
SAMPLING_FIELDS = tuple(field.name for field in dataclasses.fields(SamplingConfig))


def sampling_changes_from_flags(args, defaults=None):
    """``{SamplingConfig field: value}`` of the sampling flags in ``args`` that are set (not ``None``).

    With ``defaults`` (the configuration the parser's defaults come from),
    only the flags whose value differs from it count as set.

    >>> import argparse
    >>> sampling_changes_from_flags(argparse.Namespace(temperature=0.8, top_k=None, max_length=100, seed=1))
    {'temperature': 0.8, 'new_tokens': 100}
    """
    values = vars(args) if not isinstance(args, dict) else args
    changes = {}
    for name, value in values.items():
        field = FLAG_ALIASES.get(name, name)
        if field in SAMPLING_FIELDS and value is not None:
            if defaults is None or value != getattr(defaults, field):
                changes[field] = value
    if {"min_voices", "max_polyphony"} & set(changes):
        changes["voices_from_corpus"] = False  # a voice count the user asked for wins over the corpus'
    return changes


def sampling_config_from_flags(args, base=None, defaults=None):
    """``base`` (default: the neutral configuration) with the sampling flags in ``args`` that are set, validated.

    A flag whose value is ``None`` (not given, in a parser whose defaults are
    ``None``, as in ``musickit generate``) keeps ``base``'s value. A recipe
    whose parser defaults come from its family's ``cpu`` configuration
    (:func:`sampling_flag_defaults`) passes that as ``defaults``: a flag left
    at it keeps ``base``'s value (the ``smoke`` preset's, under ``--smoke``).
    ``--max-length`` (``musickit generate``) sets ``new_tokens``.
    """
    return dataclasses.replace(base or SamplingConfig(), **sampling_changes_from_flags(args, defaults)).validate()


def sampling_flag_defaults(config, flags=("temperature", "top_k", "top_p", "key", "scale", "repetition_penalty")):
    """``{flag: value}`` of ``config`` for ``parser.set_defaults``: the family's values are what ``--help`` shows.

    >>> sampling_flag_defaults(SamplingConfig(temperature=0.9), flags=("temperature",))
    {'temperature': 0.9}
    """
    return {name: getattr(config, FLAG_ALIASES.get(name, name)) for name in flags}
