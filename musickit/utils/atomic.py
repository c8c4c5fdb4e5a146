"""Atomic file writes: write to a temporary name, then rename.

A run killed half-way must never leave a truncated MIDI, model or JSON file
behind, so every writer in musickit goes through :func:`atomic_path`.
"""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it into place on success.

    The temporary file keeps the final suffix, because some writers (Keras'
    ``model.save``) choose the format from the extension.

    Example:

    >>> with atomic_path("out.json") as temporary:
    ...     with open(temporary, "w") as handle:
    ...         _ = handle.write("{}")
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # Keep every suffix ("best.weights.h5" -> ".weights.h5"): Keras checks the whole chain.
    stem, dot, suffixes = os.path.basename(path).partition(".")
    suffix = dot + suffixes
    handle, temporary = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".partial{suffix}", dir=directory)
    os.close(handle)
    try:
        yield temporary
        # mkstemp makes the file private (0600); give it the permissions a plain open() would.
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
