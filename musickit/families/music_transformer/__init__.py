"""The Music Transformer family: REMI+ tokens, a decoder-only transformer, prompted sections, KV-cached sampling.

Modules (only :mod:`.config` is imported with the package, so recipes parse flags first):

* :mod:`.config`: :class:`MusicTransformerConfig` with ``smoke``, ``cpu`` and ``gpu`` presets.
* :mod:`.pipeline`: ``load_data``, ``build_model``, ``start_run``, ``train``, ``evaluate``, ``write_run_samples``.
* :mod:`.generation`: prompts, ``generate_pieces``, ``write_samples``, ``generate_from_run``.

Example:

>>> MusicTransformerConfig.preset("gpu").model_preset
'base'
"""

from musickit.families.music_transformer.config import (
    FAMILY_SAMPLING,
    MODEL_NAME,
    PRESETS,
    MusicTransformerConfig,
)

__all__ = ["FAMILY_SAMPLING", "MODEL_NAME", "PRESETS", "MusicTransformerConfig", "generate_from_run"]


def generate_from_run(run_dir, output_dir, request):
    """``musickit generate`` for a Music Transformer run (see :func:`.generation.generate_from_run`)."""
    from musickit.families.music_transformer.generation import generate_from_run as generate

    return generate(run_dir, output_dir, request)
