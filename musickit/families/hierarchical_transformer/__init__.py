"""The hierarchical transformer family: its settings, its pipeline and its generation, in one place.

``config`` holds :class:`HierarchicalConfig` (``smoke``, ``cpu`` and ``gpu`` presets), ``pipeline`` the
steps data -> model -> pre-training -> staged training -> evaluation, ``generation`` pieces in a requested
form and :func:`generate_from_run` (what ``musickit generate --run RUN`` calls for this family).

Example:

>>> from musickit.families.hierarchical_transformer import HierarchicalConfig
>>> HierarchicalConfig.preset("smoke").stages  # end to end, as the cpu preset; "A,B,C" trains in stages
'E'
"""

from musickit.families.hierarchical_transformer.config import MODEL_NAME, PRESETS, HierarchicalConfig


def generate_from_run(run_dir, output_dir, request):
    """``musickit generate --run RUN`` for this family; see :func:`.generation.generate_from_run`."""
    from musickit.families.hierarchical_transformer.generation import generate_from_run as generate

    return generate(run_dir, output_dir, request)


__all__ = ["MODEL_NAME", "PRESETS", "HierarchicalConfig", "generate_from_run"]
