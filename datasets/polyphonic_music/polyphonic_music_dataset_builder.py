"""`tfds build datasets/polyphonic_music`: the polyphonic_music builder.

Its code lives in :mod:`musickit.data.tfds_builders.polyphonic_music`.

The builder is defined inside the package so that an installed musickit can
build it and ``tfds:polyphonic_music`` sources find it. The TFDS command line looks for a
class defined in this very module, so here is a subclass that adds nothing;
``skip_registration`` keeps it from clashing with the registered original.
"""

from musickit.data.tfds_builders.polyphonic_music import PolyphonicMusic


class Builder(PolyphonicMusic, skip_registration=True):
    """Same as :class:`~musickit.data.tfds_builders.polyphonic_music.PolyphonicMusic`.

    TFDS names it after this module: ``polyphonic_music``.
    """
