"""Atomic file writes: write to a temporary name, then rename.

A run killed half-way must never leave a truncated MIDI, model or JSON file
behind, so every writer in musickit goes through :func:`atomic_path`. The
temporary names contain ``.partial.`` (:func:`is_partial_file`): readers skip
them and :func:`remove_partial_files` cleans up after a killed run.

Whoever wants to know which files were written below a folder (a run folder
keeps a manifest of its own files, so it deletes nothing else) registers a
callback with :func:`record_writes_below`.
"""

import contextlib
import os
import tempfile

PARTIAL_MARKER = ".partial"
_recorders = {}  # absolute folder -> callback(path relative to that folder)


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
    handle, temporary = tempfile.mkstemp(prefix=f".{stem}.", suffix=f"{PARTIAL_MARKER}{suffix}", dir=directory)
    os.close(handle)
    try:
        yield temporary
        # mkstemp makes the file private (0600); give it the permissions a plain open() would.
        os.chmod(temporary, 0o666 & ~_current_umask())
        _record(path)  # before the rename: a kill between the two leaves a listed name, never an unlisted file
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def is_partial_file(name):
    """Whether ``name`` is an unfinished temporary file of :func:`atomic_path` (never data, never a sample).

    >>> is_partial_file(".sample_1.k2j3.partial.mid"), is_partial_file("sample_1.mid")
    (True, False)
    """
    base = os.path.basename(os.fspath(name))
    return base.startswith(".") and PARTIAL_MARKER + "." in base


def remove_partial_files(folder):
    """Delete the temporary files a killed writer left anywhere below ``folder``; return how many."""
    removed = 0
    for directory, _, files in os.walk(os.fspath(folder)):
        for name in files:
            if is_partial_file(name):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(directory, name))
                    removed += 1
    return removed


def record_writes_below(folder, callback):
    """Call ``callback(relative_path)`` for every file :func:`atomic_path` writes below ``folder``.

    ``callback=None`` stops recording. Returns nothing.

    >>> seen = []
    >>> record_writes_below("/tmp/demo_run", seen.append)
    >>> with atomic_path("/tmp/demo_run/a.txt") as temporary:
    ...     _ = open(temporary, "w").write("a")
    >>> record_writes_below("/tmp/demo_run", None)
    >>> seen
    ['a.txt']
    """
    folder = os.path.realpath(os.fspath(folder))
    if callback is None:
        _recorders.pop(folder, None)
    else:
        _recorders[folder] = callback


def _record(path):
    if not _recorders:
        return
    path = os.path.realpath(path)
    for folder, callback in list(_recorders.items()):
        if path.startswith(folder + os.sep):
            callback(os.path.relpath(path, folder).replace(os.sep, "/"))


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
