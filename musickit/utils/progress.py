"""One progress bar style for long loops (parsing a corpus, writing and rendering samples)."""

import os
import sys

from tqdm.auto import tqdm

TRUE_WORDS = ("1", "true", "yes", "on")


def progress_enabled(stream=None):
    """Whether bars are shown by default: ``MUSICKIT_PROGRESS`` decides when set (``1`` or ``0``).

    Otherwise a bar shows only on a terminal and not under ``CI=true``, so logs
    of CI runs and of output sent to a file stay readable.

    >>> import io
    >>> progress_enabled(io.StringIO())  # not a terminal
    False
    """
    chosen = os.environ.get("MUSICKIT_PROGRESS", "").strip().lower()
    if chosen:
        return chosen in TRUE_WORDS
    if os.environ.get("CI", "").strip().lower() in TRUE_WORDS:
        return False
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def progress(iterable, description, total=None, enabled=None, file=None):
    """Wrap ``iterable`` in a tqdm bar on stderr that shows the count, rate and ETA.

    ``enabled=None`` follows :func:`progress_enabled`. The returned bar
    iterates like ``iterable``; its ``n`` and ``total`` are the counts shown.

    Example:

    >>> total = sum(progress(range(3), "counting", enabled=False))
    """
    file = sys.stderr if file is None else file
    if enabled is None:
        enabled = progress_enabled(file)
    return tqdm(iterable, desc=description, total=total, disable=not enabled, file=file, leave=False)
