"""One progress bar style for long loops (parsing, rendering)."""

import os
import sys

from tqdm.auto import tqdm


def progress(iterable, description, total=None, enabled=None):
    """Wrap ``iterable`` in a tqdm bar that shows count, rate and ETA.

    The bar goes to stderr and is silenced when stderr is not a terminal and
    ``MUSICKIT_PROGRESS`` is ``0``, so logs of CI runs stay readable.

    Example:

    >>> total = sum(progress(range(3), "counting", enabled=False))
    """
    if enabled is None:
        enabled = os.environ.get("MUSICKIT_PROGRESS", "1") != "0"
    return tqdm(iterable, desc=description, total=total, disable=not enabled, file=sys.stderr, leave=False)
