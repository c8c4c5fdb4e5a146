"""`tfds build datasets/maestro`: the maestro builder, whose code lives in :mod:`musickit.data.tfds_builders.maestro`.

The builder is defined inside the package so that an installed musickit can
build it and ``tfds:maestro`` sources find it. The TFDS command line looks for a
class defined in this very module, so here is a subclass that adds nothing;
``skip_registration`` keeps it from clashing with the registered original.
"""

from musickit.data.tfds_builders.maestro import Maestro


class Builder(Maestro, skip_registration=True):
    """Same as :class:`~musickit.data.tfds_builders.maestro.Maestro` (TFDS names it after this module: ``maestro``)."""
