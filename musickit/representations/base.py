"""The contract every representation keeps, and saving it as JSON.

A representation turns a :class:`~musickit.music.score.Score` into arrays a
model can read (``encode``) and back (``decode``). Its whole state is its
constructor arguments, so ``get_config()`` is enough to rebuild it, and a run
folder can store it as a small JSON file next to ``model.keras``:

.. code-block:: json

    {"class": "PianoRoll", "config": {"steps_per_quarter": 4, "...": "..."}}

:func:`load_representation` reads such a file and returns an instance of the
right class, so a saved run can generate with nothing else. Every subclass is
registered under its class name when it is defined.
"""

import json
import os

from musickit.errors import UsageError
from musickit.utils.atomic import atomic_path

_REGISTRY = {}


class Representation:
    """Base class: ``get_config`` / ``from_config`` and JSON ``save`` / ``load``.

    Subclasses define ``encode(score)``, ``decode(array)`` and ``get_config()``
    (returning every constructor argument), and ``vocabulary_size`` where it
    applies (token representations); it stays ``None`` for arrays such as the
    piano roll.

    Example:

    >>> from musickit.representations.piano_roll import PianoRoll
    >>> PianoRoll(steps_per_quarter=2).save("/tmp/representation.json")
    >>> load_representation("/tmp/representation.json").steps_per_quarter
    2
    """

    #: Number of distinct token ids, or ``None`` where the idea does not apply.
    vocabulary_size = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def get_config(self):
        """The constructor arguments, as JSON-serialisable values."""
        raise NotImplementedError(f"{type(self).__name__} must define get_config()")

    @classmethod
    def from_config(cls, config):
        """Rebuild a representation from :meth:`get_config`'s dictionary."""
        return cls(**config)

    def save(self, path):
        """Write ``{"class": ..., "config": ...}`` to ``path`` atomically."""
        payload = {"class": type(self).__name__, "config": self.get_config()}
        with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, sort_keys=True)
            handle.write("\n")

    @classmethod
    def load(cls, path):
        """Read a file written by :meth:`save`; it must hold this class (or a subclass)."""
        representation = read_representation_file(path)
        if not isinstance(representation, cls):
            raise UsageError(
                f"{os.fspath(path)} holds a {type(representation).__name__}, not a {cls.__name__}; "
                f"use musickit.representations.load_representation() to load any kind"
            )
        return representation

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self).__name__, json.dumps(self.get_config(), sort_keys=True)))

    def __repr__(self):
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def representation_class(name):
    """The registered :class:`Representation` subclass called ``name``."""
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UsageError(f"unknown representation class {name!r}; known: {known}")
    return _REGISTRY[name]


def read_representation_file(path):
    """The representation a :meth:`Representation.save` file describes, of any class registered so far.

    :func:`musickit.representations.load_representation` is the public way: it registers the built-in
    classes first. Here, :meth:`Representation.load` on a class finds at least that class registered.
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
