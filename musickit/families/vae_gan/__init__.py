"""The Transformer-VAE-GAN family: a transformer VAE with global and per-bar latents, trained transformer -> VAE -> GAN.

Modules (only :mod:`.config` is imported with the package, so recipes parse flags first):

* :mod:`.config`: :class:`VaeGanConfig` with ``smoke``, ``cpu`` and ``gpu`` presets.
* :mod:`.pipeline`: ``load_data``, ``build_model``, ``train_stages`` (each stage gated), ``evaluate``.
* :mod:`.generation`: prior samples, reconstructions, interpolation, ``generate_from_run``.

Example:

>>> VaeGanConfig.preset("gpu").model_preset
'base'
"""

from musickit.families.vae_gan.config import FAMILY_SAMPLING, MODEL_NAME, PRESETS, STAGES, VaeGanConfig

__all__ = ["FAMILY_SAMPLING", "MODEL_NAME", "PRESETS", "STAGES", "VaeGanConfig", "generate_from_run"]


def generate_from_run(run_dir, output_dir, request):
    """``musickit generate`` for a VAE-GAN run (see :func:`.generation.generate_from_run`)."""
    from musickit.families.vae_gan.generation import generate_from_run as generate

    return generate(run_dir, output_dir, request)
