"""Rhythm metrics: groove consistency, drum patterns, bar-periodicity of onsets.

``groove_consistency`` and ``drum_pattern_consistency`` keep MusPy's names.
Differences from MusPy 0.5, on purpose:

* ``groove_consistency`` takes no bar length. MusPy asks for
  ``measure_resolution`` in *ticks* (callers often pass grid steps, which
  silently measures something else) and compares onset patterns tick by
  tick, so the value depends on the file's resolution and sits near 1 for
  any piece. Here onsets are snapped to a ``steps_per_quarter`` grid, bars
  come from the time signatures (changes and pickups included), and the
  Hamming distance is divided by the steps in a bar, as in Wu & Yang's
  definition (ISMIR 2020). A pickup bar is left out, and MusPy's extra
  empty bar after a piece that ends on a bar line is not added.
* ``drum_pattern_consistency`` tests onsets against the sixteenth-note
  grid (duple) and the eighth-triplet grid (triple) exactly. MusPy tests
  ``tick % resolution`` against the same grids, which agrees whenever the
  file's ticks per quarter are divisible by 12 (480, 960, 384, 96, ...) and
  otherwise loses the positions its resolution cannot express.
"""

import numpy as np

from musickit.metrics.timeline import POSITION_TOLERANCE, note_times
from musickit.metrics.undefined import undefined
from musickit.music.quantization import quantize

SHORTER_THAN_TWO_BARS = "shorter than two bars"


def _bar_spans(quantized):
    """``(start_step, length)`` of each bar, without a pickup bar."""
    starts = quantized.bar_starts()
    ends = starts[1:] + [max(quantized.total_steps, starts[-1] + quantized.steps_per_bar_at(starts[-1]))]
    spans = [(start, end - start) for start, end in zip(starts, ends)]
    has_pickup = 0 < quantized.metadata.get("pickup_quarters", 0) * quantized.steps_per_quarter < quantized.total_steps
    return spans[1:] if has_pickup else spans


def groove_consistency(score, steps_per_quarter=4):
    """One minus the mean Hamming distance between onset patterns of neighbouring bars.

    Each bar's groove is the set of grid steps where any note (drums
    included) starts; the distance is the number of steps where two
    neighbouring bars differ, divided by the bar length. 1 means every bar
    has the same rhythm.

    >>> from musickit.music.score import Note, Score
    >>> same_rhythm = [Note(60 + bar, 90, bar * 2.0 + offset, bar * 2.0 + offset + 0.5)
    ...                for bar in range(3) for offset in (0.0, 1.0)]  # 4/4 at 120 qpm: 2 s per bar
    >>> groove_consistency(Score(notes=same_rhythm))
    1.0
    """
    quantized = quantize(score, steps_per_quarter)
    spans = _bar_spans(quantized) if quantized.notes else []
    if len(spans) < 2:
        return undefined(SHORTER_THAN_TWO_BARS if quantized.notes else "empty piece (no notes)")
    longest = max(length for _, length in spans)
    patterns = np.zeros((len(spans), longest), dtype=bool)
    bar_starts = np.array([start for start, _ in spans])
    for note in quantized.notes:
        bar = np.searchsorted(bar_starts, note.start_step, side="right") - 1
        if bar >= 0:  # onsets inside a left-out pickup bar have no bar here
            patterns[bar, note.start_step - bar_starts[bar]] = True
    lengths = np.array([length for _, length in spans])
    distances = (patterns[:-1] != patterns[1:]).sum(axis=1) / np.maximum(lengths[:-1], lengths[1:])
    return float(1.0 - distances.mean())


def _on_grid(positions, divisions):
    scaled = positions * divisions
    return np.abs(scaled - np.round(scaled)) < POSITION_TOLERANCE * divisions


def drum_pattern_consistency(score):
    """Largest share of drum onsets on the sixteenth-note grid or on the eighth-triplet grid."""
    drums = note_times(score).drums
    if not len(drums):
        return undefined("no drum notes")
    positions = drums.start - np.floor(drums.start + POSITION_TOLERANCE)
    duple = _on_grid(positions, 4).mean()
    triple = _on_grid(positions, 3).mean()
    return float(max(duple, triple))


def onset_vector(quantized):
    """1 at every grid step where some note starts, else 0 (length ``total_steps``)."""
    onsets = np.zeros(quantized.total_steps, dtype=float)
    for note in quantized.notes:
        onsets[note.start_step] = 1.0
    return onsets


def rhythmic_regularity(score, steps_per_quarter=4):
    """Correlation between the onset pattern and itself one bar later (Pearson, in [-1, 1]).

    1 means the rhythm repeats bar by bar, 0 that a bar says nothing about
    the next. The lag is the length of the first bar of the time signature
    in force at the start (4/4 when there is none). A piece with an onset on
    every step is perfectly regular (1.0).

    >>> from musickit.music.score import Note, Score
    >>> notes = [Note(60, 90, bar * 2.0 + t, bar * 2.0 + t + 0.25) for bar in range(4) for t in (0.0, 0.75)]
    >>> rhythmic_regularity(Score(notes=notes))
    1.0
    """
    quantized = quantize(score, steps_per_quarter)
    if not quantized.notes:
        return undefined("empty piece (no notes)")
    lag = quantized.steps_per_bar_at(0)
    onsets = onset_vector(quantized)
    if len(onsets) < 2 * lag:
        return undefined(SHORTER_THAN_TWO_BARS)
    earlier, later = onsets[:-lag], onsets[lag:]
    if earlier.std() == 0 or later.std() == 0:
        # A constant stretch: regular if the other one is the same constant.
        return 1.0 if np.array_equal(earlier, later) else 0.0
    return float(np.corrcoef(earlier, later)[0, 1])
