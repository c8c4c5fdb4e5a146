"""Loading a saved representation: :func:`load_representation` rebuilds whatever ``Representation.save`` wrote.

It lives apart from :mod:`musickit.representations.base` because it needs every built-in representation class
registered, so it imports them all; the base class must not (they import it).
"""

import json
import os

from musickit.errors import UsageError
from musickit.representations import performance, piano_roll, remi  # noqa: F401  (registers the built-in classes)
from musickit.representations.base import representation_class

__all__ = ["load_representation"]


def load_representation(path):
    """Rebuild whichever representation :meth:`Representation.save` wrote to ``path``.

    Example:

    >>> representation = load_representation("run/representation.json")  # doctest: +SKIP
    >>> type(representation).__name__  # doctest: +SKIP
    'REMITokenizer'
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no representation file there; save one with representation.save(path)")
    try:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: not a representation JSON file ({error})") from None
    if not isinstance(payload, dict) or "class" not in payload or not isinstance(payload.get("config"), dict):
        raise UsageError(f'{path}: expected {{"class": ..., "config": {{...}}}} as written by representation.save()')
    cls = representation_class(payload["class"])
    try:
        return cls.from_config(payload["config"])
    except TypeError as error:
        raise UsageError(f"{path}: config does not fit {cls.__name__} ({error})") from None
