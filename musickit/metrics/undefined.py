"""Why a metric has no value: NaN results that remember their reason.

Metrics are plain functions that return a float. When a value does not
exist (the entropy of a piece without pitched notes, the groove of a
one-bar piece) they return ``undefined("no pitched notes")``: NaN for the
caller, plus the reason for whoever is listening with
:func:`collecting_reasons`. That keeps the functions pure and cheap while
the evaluation table can still say, in one line, why a cell is empty.

Example:

>>> with collecting_reasons() as reasons:
...     value = undefined("no pitched notes")
>>> value, reasons
(nan, ['no pitched notes'])
"""

import contextlib
import contextvars
import math

_REASONS = contextvars.ContextVar("musickit_metric_reasons", default=None)


def undefined(reason):
    """Return NaN and record ``reason`` for an active :func:`collecting_reasons` block."""
    reasons = _REASONS.get()
    if reasons is not None:
        reasons.append(str(reason))
    return math.nan


@contextlib.contextmanager
def collecting_reasons():
    """Collect the reasons given to :func:`undefined` inside the block, in order."""
    reasons = []
    token = _REASONS.set(reasons)
    try:
        yield reasons
    finally:
        _REASONS.reset(token)
