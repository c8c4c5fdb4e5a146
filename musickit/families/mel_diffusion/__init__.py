"""The mel-diffusion family: notes rendered to log-mels by a conditioned U-Net, DDIM sampling, Griffin-Lim.

Modules (only :mod:`.config` is imported with the package, so the recipe parses flags first):

* :mod:`.config`: :class:`MelDiffusionConfig` with ``smoke``, ``cpu`` and ``gpu`` presets.
* :mod:`.pipeline`: ``load_data``, ``build_model``, ``start_run``, ``train``, ``write_run_samples``.
* :mod:`.generation`: ``render_score_mel``, ``render_pieces``, ``generate_from_run``.

Example:

>>> MelDiffusionConfig.preset("gpu").model_preset
'base'
"""

from musickit.families.mel_diffusion.config import MODEL_NAME, PRESETS, MelDiffusionConfig

__all__ = ["MODEL_NAME", "PRESETS", "MelDiffusionConfig", "generate_from_run"]


def generate_from_run(run_dir, output_dir, request):
    """``musickit generate`` for a mel-diffusion run (see :func:`.generation.generate_from_run`)."""
    from musickit.families.mel_diffusion.generation import generate_from_run as generate

    return generate(run_dir, output_dir, request)
