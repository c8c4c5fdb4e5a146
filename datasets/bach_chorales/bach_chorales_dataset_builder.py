"""`tfds build datasets/bach_chorales`: the bach_chorales builder.

Its code lives in :mod:`musickit.data.tfds_builders.bach_chorales`.

The builder is defined inside the package so that an installed musickit can
build it and ``tfds:bach_chorales`` sources find it. The TFDS command line looks for a
class defined in this very module, so here is a subclass that adds nothing;
``skip_registration`` keeps it from clashing with the registered original.
"""

from musickit.data.tfds_builders.bach_chorales import BachChorales


class Builder(BachChorales, skip_registration=True):
    """Same as :class:`~musickit.data.tfds_builders.bach_chorales.BachChorales`.

    TFDS names it after this module: ``bach_chorales``.
    """
