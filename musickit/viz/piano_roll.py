"""Piano-roll pictures: keys against time, bar lines, primer and continuation in two colours."""

import csv
import os

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from musickit.utils.atomic import atomic_path

# Figures are made with the Figure class, not pyplot: no display is needed and
# the process-wide matplotlib backend is left as the user set it.

PRIMER_COLOUR = "#4c72b0"
CONTINUATION_COLOUR = "#dd8452"


def restrikes(roll):
    """``(step, key)`` of every note struck while the same key was already sounding a step before.

    ``roll`` is ``(steps, keys, 2)``: sustain and onset channels
    (``PianoRoll(onset_channel=True)``); a roll without onsets has none. The
    picture draws a thin gap there, so that four quarters on one pitch do not
    look like one held whole note.

    >>> import numpy as np
    >>> roll = np.zeros((4, 2, 2)); roll[:, 0, 0] = 1; roll[[0, 2], 0, 1] = 1  # key 0: two half notes
    >>> restrikes(roll)
    [(2, 0)]
    """
    roll = np.asarray(roll)
    if roll.ndim != 3 or roll.shape[-1] < 2:
        return []
    sounding, onsets = roll[..., 0] > 0, roll[..., 1] > 0
    struck_again = onsets[1:] & sounding[1:] & sounding[:-1]
    return [(int(step) + 1, int(key)) for step, key in zip(*np.nonzero(struck_again))]


def plot_piano_roll(
    roll,
    path,
    steps_per_quarter=4,
    bar_starts=None,
    steps_per_bar=None,
    highlight_from_step=None,
    lowest_pitch=21,
    title=None,
):
    """Save a ``(steps, keys)`` roll as a PNG at ``path`` (atomically).

    Args:
        roll: 0/1 (or velocity) frames, ``(steps, keys)``, or ``(steps, keys, 2)`` with an onset channel: a
            note struck again on a sounding key is then drawn with a thin gap before it (:func:`restrikes`).
        steps_per_quarter: grid resolution, for the time axis in beats.
        bar_starts: steps where bars begin (e.g. ``QuantizedScore.bar_starts()``);
            otherwise every ``steps_per_bar`` steps (default: one 4/4 bar).
        highlight_from_step: frames from here on are drawn in the continuation
            colour, those before in the primer colour.
        lowest_pitch: MIDI pitch of key 0.
        title: figure title.

    Example:

    >>> import numpy as np
    >>> roll = np.zeros((32, 88)); roll[:8, 39] = 1; roll[8:, 43] = 1
    >>> plot_piano_roll(roll, "/tmp/roll.png", highlight_from_step=8)  # doctest: +SKIP
    """
    roll = np.asarray(roll, dtype="float32")
    struck_again = restrikes(roll)
    if roll.ndim == 3:
        roll = roll[..., 0]
    steps, keys = roll.shape
    sounding = roll > 0
    # 0 = silence, 1 = primer, 2 = continuation.
    layer = np.where(sounding, 1, 0)
    if highlight_from_step is not None:
        layer[highlight_from_step:] = np.where(sounding[highlight_from_step:], 2, 0)
    used = np.nonzero(sounding.any(axis=0))[0]
    low, high = (max(used.min() - 3, 0), min(used.max() + 4, keys)) if used.size else (0, keys)

    figure = Figure(figsize=(min(4 + max(steps, 1) / 16, 24), 4.5), dpi=100)
    axes = figure.subplots()
    colours = ListedColormap(["white", PRIMER_COLOUR, CONTINUATION_COLOUR])
    axes.imshow(
        layer[:, low:high].T,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        cmap=colours,
        vmin=0,
        vmax=2,
        extent=(0, max(steps, 1) / steps_per_quarter, lowest_pitch + low - 0.5, lowest_pitch + high - 0.5),
    )
    shown = [(step, key) for step, key in struck_again if low <= key < high]
    if shown:
        steps_at, keys_at = np.array(shown).T
        pitches = lowest_pitch + keys_at
        axes.vlines(steps_at / steps_per_quarter, pitches - 0.5, pitches + 0.5, colors="white", linewidth=1.2)
    if bar_starts is None:
        bar_length = steps_per_bar or 4 * steps_per_quarter
        bar_starts = range(0, steps + 1, bar_length)
    for start in bar_starts:
        axes.axvline(start / steps_per_quarter, color="#999999", linewidth=0.6)
    if highlight_from_step is not None:
        axes.axvline(highlight_from_step / steps_per_quarter, color="black", linewidth=1.2, linestyle="--")
    octave_ticks = [pitch for pitch in range(lowest_pitch + low, lowest_pitch + high) if pitch % 12 == 0]
    axes.set_yticks(octave_ticks, [f"C{pitch // 12 - 1}" for pitch in octave_ticks])
    axes.set_xlabel("quarter notes")
    axes.set_ylabel("pitch")
    if title:
        axes.set_title(title)
    if highlight_from_step is not None:
        handles = [Rectangle((0, 0), 1, 1, color=c) for c in (PRIMER_COLOUR, CONTINUATION_COLOUR)]
        axes.legend(handles, ["primer", "generated"], loc="upper right", fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary)


def plot_history(history, path, metrics=("loss", "nll"), title=None):
    """Save training curves as a PNG: train and ``val_`` curves of each metric.

    ``history`` is a ``{name: [value per epoch]}`` dict (``History.history``)
    or the path of a ``CSVLogger`` file, which also covers resumed runs.
    """
    if isinstance(history, (str, os.PathLike)):
        with open(history) as handle:
            rows = list(csv.DictReader(handle))
        history = {name: [float(row[name]) for row in rows] for name in (rows[0] if rows else {})}
    metrics = [name for name in metrics if name in history or f"val_{name}" in history]
    figure = Figure(figsize=(5 * max(len(metrics), 1), 3.5), dpi=100)
    axes = figure.subplots(1, max(len(metrics), 1), squeeze=False)
    for axis, name in zip(axes[0], metrics):
        for key, style in ((name, "-"), (f"val_{name}", "--")):
            if key in history:
                axis.plot(range(1, len(history[key]) + 1), history[key], style, label=key)
        axis.set_xlabel("epoch")
        axis.set_title(name)
        if axis.lines:
            axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary)
