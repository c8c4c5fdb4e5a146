"""`tfds build datasets/maestro` entry point: the builder lives in :mod:`musickit.data.tfds_builders.maestro`.

It is defined inside the package so that an installed musickit can build it and
``tfds:maestro`` sources find it; this module only re-exports it under the name
the TFDS command line looks for.
"""

from musickit.data.tfds_builders.maestro import Maestro as Builder

__all__ = ["Builder"]
