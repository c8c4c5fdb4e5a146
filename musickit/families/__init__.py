"""Model families: one subpackage per family, and the registry that maps run.json names to them.

A family alone knows its pipeline: its configuration (one dataclass with
``smoke``, ``cpu`` and ``gpu`` presets) and the steps data -> model -> train
-> generate -> run folder. Recipes, ``musickit generate``, the tuner's
hypermodels and the benchmarks call the family instead of repeating it.

Adding a family is one new subpackage plus one line in :data:`FAMILIES`.
Each family package is light to import (its configuration only) and
provides ``generate_from_run(run_dir, output_dir, request)`` with a
:class:`~musickit.families.request.GenerationRequest`.

Example:

>>> family_names()[0]
'hierarchical_transformer'
>>> get_family("piano_roll_lstm").MODEL_NAME
'piano_roll_lstm'
"""

import importlib

from musickit.errors import UsageError

#: run.json "model" name -> the family's package
FAMILIES = {
    "piano_roll_lstm": "musickit.families.piano_roll_lstm",
    "music_transformer": "musickit.families.music_transformer",
    "hierarchical_transformer": "musickit.families.hierarchical_transformer",
    "vae_gan": "musickit.families.vae_gan",
    "mel_diffusion": "musickit.families.mel_diffusion",
}


def family_names():
    """The registered family names, sorted."""
    return sorted(FAMILIES)


def get_family(name):
    """The family package registered as ``name`` (imported now); an unknown name is a one-line error."""
    if name not in FAMILIES:
        raise UsageError(f"unknown model family {name!r}; musickit knows {', '.join(family_names())}")
    return importlib.import_module(FAMILIES[name])
