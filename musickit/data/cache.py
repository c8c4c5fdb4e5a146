"""An on-disk cache of encoded pieces, so a source is parsed once.

Parsing is the slow part of loading (music21 reads a Bach chorale in tens of
milliseconds, a long MIDI file can take longer); encoding a score is cheap
by comparison, but both are done once and stored together. An entry is keyed
by everything that could change its content: the source's fingerprint (for a
folder, every file's relative path, size and modification time) and the
representation's class and ``get_config()``. Splits are *not* part of the key:
they are recomputed from the cached group names, so changing the seed costs
nothing.

The folder is ``$MUSICKIT_CACHE_DIR`` (default ``~/.cache/musickit``). Each
entry is one compressed ``.npz`` file written atomically, so a killed run
leaves either the old entry or the new one, never half of one. Delete the
folder to clear the cache.

Example:

>>> key = cache_key({"source": "bach"}, {"class": "PianoRoll", "config": {}})
>>> len(key)
40
"""

import hashlib
import json
import os

import numpy as np

from musickit.utils.atomic import atomic_path

CACHE_FORMAT_VERSION = 1


def cache_dir():
    """The cache folder: ``$MUSICKIT_CACHE_DIR`` or ``~/.cache/musickit``."""
    return os.environ.get("MUSICKIT_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "musickit")


def cache_key(*parts):
    """A stable hex digest of JSON-able ``parts``."""
    text = json.dumps([CACHE_FORMAT_VERSION, *parts], sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def cache_path(key, kind="encoded"):
    return os.path.join(cache_dir(), kind, f"{key}.npz")


def save_arrays(path, arrays, info):
    """Store a list of arrays with one shape after the first axis, plus JSON ``info``, atomically."""
    arrays = list(arrays)
    lengths = np.array([len(array) for array in arrays], dtype=np.int64)
    data = np.concatenate(arrays, axis=0) if arrays else np.zeros((0,), dtype=np.float32)
    with atomic_path(path) as temporary:
        np.savez_compressed(temporary, data=data, lengths=lengths, info=np.array(json.dumps(info, default=str)))


def load_arrays(path):
    """``(arrays, info)`` from :func:`save_arrays`, or ``None`` when absent or unreadable."""
    if not os.path.isfile(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            data, lengths, info = stored["data"], stored["lengths"], json.loads(str(stored["info"]))
    except (OSError, ValueError, KeyError, EOFError):  # a damaged entry is rebuilt, not fatal
        return None
    boundaries = np.cumsum(lengths)[:-1]
    return (np.split(data, boundaries, axis=0) if len(lengths) else []), info
