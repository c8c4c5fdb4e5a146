"""`tfds build datasets/polyphonic_music` entry point: the builder lives in :mod:`musickit.data.tfds_builders.polyphonic_music`.

It is defined inside the package so that an installed musickit can build it and
``tfds:polyphonic_music`` sources find it; this module only re-exports it under the name
the TFDS command line looks for.
"""

from musickit.data.tfds_builders.polyphonic_music import PolyphonicMusic as Builder

__all__ = ["Builder"]
