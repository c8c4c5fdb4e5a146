"""Pictures of metric values: feature histograms, pitch-class profiles, distance distributions, piano rolls.

Every function here draws on its own :class:`matplotlib.figure.Figure` (no
``pyplot`` state, no GUI backend needed) and writes a PNG atomically; piano
rolls come from :mod:`musickit.viz.piano_roll`.

Example:

>>> plot_pitch_class_profiles([0.2] * 5 + [0.0] * 7, [1 / 12] * 12, "profiles.png")  # doctest: +SKIP
"""

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from musickit.music.keys import PITCH_CLASS_NAMES
from musickit.utils.atomic import atomic_path

GENERATED_COLOR = "#d1495b"
REFERENCE_COLOR = "#2e86ab"
INTER_COLOR = "#6a4c93"


def _save(figure, path):
    FigureCanvasAgg(figure)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    return path


def plot_feature_histogram(name, generated, reference, path):
    """Overlaid, normalised histograms of one metric over the generated and reference pieces (NaNs left out)."""
    generated = np.asarray(generated, dtype=float)
    reference = np.asarray(reference, dtype=float)
    generated, reference = generated[~np.isnan(generated)], reference[~np.isnan(reference)]
    figure = Figure(figsize=(4.2, 3.0))
    axes = figure.add_subplot()
    pooled = np.concatenate([generated, reference])
    if len(pooled):
        low, high = float(pooled.min()), float(pooled.max())
        bins = np.linspace(low, high if high > low else low + 1.0, 21)
        for values, label, color in (
            (reference, "reference", REFERENCE_COLOR),
            (generated, "generated", GENERATED_COLOR),
        ):
            if len(values):
                weights = np.full(len(values), 1.0 / len(values))
                axes.hist(
                    values, bins=bins, weights=weights, alpha=0.55, color=color, label=f"{label} (n={len(values)})"
                )
                axes.axvline(values.mean(), color=color, linewidth=1.5)
        axes.legend(fontsize=7)
    else:
        axes.text(0.5, 0.5, "undefined for every piece", ha="center", va="center", transform=axes.transAxes)
    axes.set_title(name, fontsize=10)
    axes.set_ylabel("share of pieces", fontsize=8)
    axes.tick_params(labelsize=7)
    return _save(figure, path)


def plot_pitch_class_profiles(generated_histogram, reference_histogram, path, distance=None):
    """Side-by-side bars of two 12-bin pitch-class profiles."""
    figure = Figure(figsize=(6.0, 3.0))
    axes = figure.add_subplot()
    positions = np.arange(12)
    axes.bar(positions - 0.2, reference_histogram, width=0.4, color=REFERENCE_COLOR, label="reference")
    axes.bar(positions + 0.2, generated_histogram, width=0.4, color=GENERATED_COLOR, label="generated")
    axes.set_xticks(positions, PITCH_CLASS_NAMES)
    axes.set_ylabel("share of note time")
    title = "Pitch-class profiles"
    if distance is not None:
        title += f" (total variation distance {distance:.3f})"
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8)
    return _save(figure, path)


def plot_distance_distributions(distributions, path, columns=4):
    """Yang & Lerch curves: densities of intra-reference, intra-generated and inter-set distances per feature.

    ``distributions`` maps feature names to
    :class:`~musickit.metrics.distribution.DistanceDistributions`; features
    without distances are left out.
    """
    from musickit.metrics.distribution import densities_on_grid, overlap_and_divergence

    usable = {
        name: result
        for name, result in distributions.items()
        if len(result.intra_reference) and len(result.inter) and len(result.intra_generated)
    }
    rows = max(1, int(np.ceil(len(usable) / columns)))
    figure = Figure(figsize=(3.2 * columns, 2.4 * rows))
    for index, (name, result) in enumerate(usable.items()):
        axes = figure.add_subplot(rows, columns, index + 1)
        grid, (reference, generated, inter) = densities_on_grid(
            result.intra_reference, result.intra_generated, result.inter
        )
        axes.plot(grid, reference, color=REFERENCE_COLOR, label="intra reference")
        axes.plot(grid, generated, color=GENERATED_COLOR, label="intra generated")
        axes.plot(grid, inter, color=INTER_COLOR, linestyle="--", label="inter set")
        overlap, divergence = overlap_and_divergence(result.intra_reference, result.inter)
        axes.set_title(f"{name}\nOA {overlap:.2f}  KL {divergence:.2f}", fontsize=8)
        axes.set_xlim(left=max(grid[0], 0.0))  # distances are never negative; the kernel's spill is not shown
        axes.tick_params(labelsize=6)
        if index == 0:
            axes.legend(fontsize=6)
    if not usable:
        figure.add_subplot().text(0.5, 0.5, "not enough pieces for distance distributions", ha="center")
    return _save(figure, path)


def plot_score_piano_roll(score, path, steps_per_quarter=4, title=None):
    """Piano roll of a score's pitched notes with its bar lines (:func:`musickit.viz.piano_roll.plot_piano_roll`)."""
    from musickit.music.quantization import quantize
    from musickit.representations.piano_roll import PianoRoll
    from musickit.viz.piano_roll import plot_piano_roll

    roll = PianoRoll(steps_per_quarter=steps_per_quarter, onset_channel=True).encode(score)
    bar_starts = quantize(score, steps_per_quarter).bar_starts()
    plot_piano_roll(roll, path, steps_per_quarter=steps_per_quarter, bar_starts=bar_starts, title=title)
    return path


SET_COLORS = {
    "generated": GENERATED_COLOR,
    "held_out": REFERENCE_COLOR,
    "random_notes": "#9a9a9a",
    "markov": "#e0a100",
    "ceiling": "#3c9d5d",
}
SET_LABELS = {
    "generated": "generated",
    "held_out": "held-out",
    "random_notes": "random floor",
    "markov": "Markov floor",
    "ceiling": "ceiling (training)",
}


def plot_feature_sets(name, values_by_set, path, overlaps=None, bin_labels=None):
    """One feature for every set side by side: the generated pieces, held-out, both floors and the ceiling.

    A scalar feature is drawn as one strip of per-piece values per set
    (with its mean as a bar); a histogram feature (one vector per piece) as
    grouped bars of each set's mean histogram. ``overlaps`` (set -> overlap
    area with held-out) goes into the labels.

    >>> plot_feature_sets("max_polyphony", {"generated": [4, 5], "held_out": [4, 4]}, "f.png")  # doctest: +SKIP
    """
    overlaps = overlaps or {}
    labels = [label for label in SET_COLORS if label in values_by_set]
    figure = Figure(figsize=(5.2, 3.2))
    axes = figure.add_subplot()

    def label_of(label):
        overlap = overlaps.get(label)
        return SET_LABELS[label] + ("" if overlap is None else f" ({overlap:.2f})")

    vectors = any(np.asarray(values_by_set[label], dtype=float).ndim == 2 for label in labels)
    if vectors:
        width = 0.8 / max(len(labels), 1)
        for offset, label in enumerate(labels):
            rows = np.asarray(values_by_set[label], dtype=float)
            rows = rows[~np.isnan(rows).any(axis=1)] if rows.ndim == 2 else np.zeros((0, 1))
            if not len(rows):
                continue
            positions = np.arange(rows.shape[1]) + (offset - (len(labels) - 1) / 2) * width
            axes.bar(positions, rows.mean(axis=0), width=width, color=SET_COLORS[label], label=label_of(label))
        if bin_labels:
            axes.set_xticks(range(len(bin_labels)))
            axes.set_xticklabels([str(text) for text in bin_labels], fontsize=7)
        axes.set_ylabel("mean share", fontsize=8)
    else:
        rng = np.random.default_rng(0)
        for position, label in enumerate(labels):
            values = np.asarray(values_by_set[label], dtype=float)
            values = values[~np.isnan(values)]
            if not len(values):
                continue
            axes.bar(position, values.mean(), width=0.6, color=SET_COLORS[label], alpha=0.35)
            jitter = rng.uniform(-0.2, 0.2, len(values))
            axes.scatter(position + jitter, values, s=8, color=SET_COLORS[label], label=label_of(label))
        axes.set_xticks(range(len(labels)))
        axes.set_xticklabels([SET_LABELS[label].split(" (")[0] for label in labels], fontsize=7, rotation=15)
    axes.legend(fontsize=6)
    axes.set_title(name, fontsize=10)
    axes.tick_params(labelsize=7)
    return _save(figure, path)
