"""Loading a saved representation: :func:`load_representation` rebuilds whatever ``Representation.save`` wrote.

It lives apart from :mod:`musickit.representations.base` because it needs every built-in representation class
registered, so it imports them all; the base class must not (they import it).
"""

from musickit.representations import performance, piano_roll, remi  # noqa: F401  (registers the built-in classes)
from musickit.representations.base import read_representation_file

__all__ = ["load_representation"]


def load_representation(path):
    """Rebuild whichever representation :meth:`Representation.save` wrote to ``path``.

    Example:

    >>> representation = load_representation("run/representation.json")  # doctest: +SKIP
    >>> type(representation).__name__  # doctest: +SKIP
    'REMITokenizer'
    """
    return read_representation_file(path)
