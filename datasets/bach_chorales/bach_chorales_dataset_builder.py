"""`tfds build datasets/bach_chorales` entry point: the builder lives in :mod:`musickit.data.tfds_builders.bach_chorales`.

It is defined inside the package so that an installed musickit can build it and
``tfds:bach_chorales`` sources find it; this module only re-exports it under the name
the TFDS command line looks for.
"""

from musickit.data.tfds_builders.bach_chorales import BachChorales as Builder

__all__ = ["Builder"]
