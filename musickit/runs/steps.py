"""Named steps of a multi-step recipe: a line when each starts and how long it took.

A recipe that pre-trains, trains, evaluates and generates prints Keras'
progress lines for each of its fits; without a name above them a reader
cannot tell which fit is which, or where the minutes went.

>>> with recipe_step("training end to end"):
...     pass  # doctest: +ELLIPSIS
== training end to end
== training end to end: done in ... s
"""

import contextlib
import sys
import time


@contextlib.contextmanager
def recipe_step(name, stream=None):
    """Print ``== name`` before the block and ``== name: done in N s`` after it (flushed, for logs)."""
    stream = stream or sys.stdout
    print(f"== {name}", file=stream, flush=True)
    start = time.perf_counter()
    yield
    print(f"== {name}: done in {time.perf_counter() - start:.1f} s", file=stream, flush=True)
