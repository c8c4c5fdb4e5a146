"""Metrics by name, per piece and per set: what ``musickit evaluate``, the recipes and the callback share.

Example:

>>> from musickit.music.score import Note, Score
>>> piece = Score(notes=[Note(60, 90, 0.0, 0.5), Note(64, 90, 0.5, 1.0), Note(67, 90, 1.0, 2.0)])
>>> result = compute_metrics(piece, names=["pitch_range", "n_pitches_used", "groove_consistency"])
>>> result.values["pitch_range"], result.values["n_pitches_used"]
(7, 3)
>>> result.note
'no time signature (4/4 assumed); groove_consistency NaN (shorter than two bars)'
>>> result.reasons
{'groove_consistency': 'shorter than two bars'}
"""

import dataclasses
import json
import math
import warnings

import numpy as np

from musickit.metrics.distribution import compare_distributions
from musickit.metrics.diversity import feature_diversity, mode_collapse_indicators, ngram_diversity, score_tokens
from musickit.metrics.form import section_contrast
from musickit.metrics.pitch import (
    histogram_distance,
    in_scale_ratio,
    mean_pitch_class_histogram,
    n_pitch_classes_used,
    n_pitches_used,
    pitch_class_entropy,
    pitch_class_histogram_distance,
    pitch_class_profile,
    pitch_entropy,
    pitch_range,
    scale_consistency,
)
from musickit.metrics.repetition import repeated_bar_ratio, repeated_frame_ratio
from musickit.metrics.rhythm import drum_pattern_consistency, groove_consistency, rhythmic_regularity
from musickit.metrics.texture import empty_beat_rate, note_density, polyphony, polyphony_rate
from musickit.metrics.tonality import harmonic_coherence, tonal_stability
from musickit.metrics.undefined import collecting_reasons
from musickit.utils.atomic import atomic_path

# MusPy's names, in MusPy's documentation order.
MUSPY_METRICS = {
    "pitch_range": pitch_range,
    "n_pitches_used": n_pitches_used,
    "n_pitch_classes_used": n_pitch_classes_used,
    "pitch_entropy": pitch_entropy,
    "pitch_class_entropy": pitch_class_entropy,
    "scale_consistency": scale_consistency,
    "empty_beat_rate": empty_beat_rate,
    "polyphony": polyphony,
    "polyphony_rate": polyphony_rate,
    "groove_consistency": groove_consistency,
    "drum_pattern_consistency": drum_pattern_consistency,
}

# The project's own per-piece metrics.
MUSICKIT_METRICS = {
    "note_density": note_density,
    "in_scale_ratio": in_scale_ratio,
    "rhythmic_regularity": rhythmic_regularity,
    "tonal_stability": tonal_stability,
    "harmonic_coherence": harmonic_coherence,
    "repeated_bar_ratio": repeated_bar_ratio,
    "repeated_frame_ratio": repeated_frame_ratio,
    "section_contrast": section_contrast,
}

PIECE_METRICS = {**MUSPY_METRICS, **MUSICKIT_METRICS}

# Needs the reference set's mean pitch-class histogram.
REFERENCE_METRICS = ("pitch_class_histogram_distance",)

METRIC_NAMES = tuple(PIECE_METRICS) + REFERENCE_METRICS

# Which way is better, for tuner objectives and checkpoint monitors. Only
# metrics with an unambiguous direction are listed; for the rest "closer to the
# reference" is what matters (see the ``_gap`` values of MusicMetricsCallback).
DIRECTIONS = {
    "pitch_class_histogram_distance": "min",
    "in_scale_ratio": "max",
    "scale_consistency": "max",
    "harmonic_coherence": "max",
    "tonal_stability": "max",
}


# Reasons that say a metric does not apply to this kind of piece rather than
# that something is wrong with it; they stay out of the one-line note.
NOT_APPLICABLE = ("no drum notes", "no section markers")


@dataclasses.dataclass
class PieceMetrics:
    """Metric values of one piece (NaN where undefined), why each NaN is NaN, and what is unusual about it."""

    values: dict
    reasons: dict
    conditions: list

    @property
    def note(self):
        """One line about an unusual piece ("" for an ordinary one): its conditions, then NaN metrics by reason."""
        if "empty piece" in self.conditions:
            return "empty piece (no notes): every metric is NaN except the pitch counts and range (0)"
        grouped = {}
        for name, reason in self.reasons.items():
            if reason not in NOT_APPLICABLE:
                grouped.setdefault(reason, []).append(name)
        parts = list(self.conditions) + [f"{', '.join(names)} NaN ({reason})" for reason, names in grouped.items()]
        return "; ".join(parts)


def piece_conditions(score):
    """Short descriptions of what makes a piece unusual for the metrics (empty, drums only, ...)."""
    pitched = [note for note in score.notes if not note.is_drum]
    conditions = []
    if not score.notes:
        return ["empty piece"]
    if not pitched:
        conditions.append("drums only (pitch_range and pitch counts are 0)")
    elif len(pitched) == 1:
        conditions.append("a single pitched note")
    if not score.time_signatures:
        conditions.append("no time signature (4/4 assumed)")
    return conditions


def _check_names(names):
    unknown = [name for name in names if name not in METRIC_NAMES]
    if unknown:
        raise ValueError(f"unknown metric {', '.join(map(repr, unknown))}; choose from {', '.join(METRIC_NAMES)}")


def compute_metrics(score, names=None, reference_histogram=None):
    """Compute the named metrics of one score (all of them by default) as a :class:`PieceMetrics`.

    ``pitch_class_histogram_distance`` is computed only when
    ``reference_histogram`` is given (see
    :func:`musickit.metrics.pitch.mean_pitch_class_histogram`).
    """
    names = list(names or METRIC_NAMES)
    _check_names(names)
    values, reasons_by_metric = {}, {}
    for name in names:
        if name == "pitch_class_histogram_distance":
            if reference_histogram is None:
                continue
            function = lambda piece: pitch_class_histogram_distance(piece, reference_histogram)  # noqa: E731
        else:
            function = PIECE_METRICS[name]
        with collecting_reasons() as reasons:
            values[name] = function(score)
        if reasons:
            reasons_by_metric[name] = reasons[0]
    return PieceMetrics(values, reasons_by_metric, piece_conditions(score))


def compute_metrics_batch(scores, names=None, reference_histogram=None):
    """:func:`compute_metrics` over many scores: ``({name: array of values}, [PieceMetrics per score])``."""
    results = [compute_metrics(score, names, reference_histogram) for score in scores]
    names = list(results[0].values) if results else list(names or [])
    arrays = {name: np.array([result.values[name] for result in results], dtype=float) for name in names}
    return arrays, results


def _statistics(values):
    values = np.asarray(values, dtype=float)
    finite = values[~np.isnan(values)]
    if not len(finite):
        return {"mean": math.nan, "std": math.nan, "count": 0}
    return {"mean": float(finite.mean()), "std": float(finite.std()), "count": int(len(finite))}


def compare_sets(generated_scores, reference_scores, names=None, ngram_order=2):
    """Per-piece metrics of both sets and everything set-level, as one JSON-ready dict.

    Keys: ``generated`` and ``reference`` (per-piece values, their notes and
    mean/std per metric), ``pitch_class_profiles`` (the two mean histograms
    and their total-variation distance), ``yang_lerch`` (per-feature
    distance distributions, :mod:`musickit.metrics.distribution`),
    ``diversity`` and ``mode_collapse`` (:mod:`musickit.metrics.diversity`).
    Use :func:`json_safe` before ``json.dumps`` (NaN becomes null).
    """
    names = list(names or METRIC_NAMES)
    _check_names(names)
    reference_histogram = mean_pitch_class_histogram(reference_scores)
    generated_histogram = mean_pitch_class_histogram(generated_scores)
    generated_values, generated_pieces = compute_metrics_batch(generated_scores, names, reference_histogram)
    reference_values, reference_pieces = compute_metrics_batch(reference_scores, names, reference_histogram)

    # Yang & Lerch features: every scalar metric plus the pitch-class profile as a 12-d vector.
    generated_features = dict(generated_values)
    reference_features = dict(reference_values)
    generated_features["pitch_class_profile"] = np.array([pitch_class_profile(s) for s in generated_scores])
    reference_features["pitch_class_profile"] = np.array([pitch_class_profile(s) for s in reference_scores])
    distributions = compare_distributions(generated_features, reference_features)

    scalar_names = [name for name in names if name in generated_values]
    generated_matrix = np.column_stack([generated_values[name] for name in scalar_names]) if generated_scores else None
    reference_matrix = np.column_stack([reference_values[name] for name in scalar_names]) if reference_scores else None
    scale = None
    if reference_matrix is not None:
        with warnings.catch_warnings():  # all-NaN columns (no drums anywhere) are expected; they get scale 1
            warnings.simplefilter("ignore", RuntimeWarning)
            scale = np.nanstd(reference_matrix, axis=0)
    generated_tokens = [score_tokens(score) for score in generated_scores]
    reference_tokens = [score_tokens(score) for score in reference_scores]
    return {
        "metrics": scalar_names,
        "generated": {
            "values": generated_values,
            "notes": [piece.note for piece in generated_pieces],
            "undefined": [piece.reasons for piece in generated_pieces],
            "statistics": {name: _statistics(generated_values[name]) for name in scalar_names},
        },
        "reference": {
            "values": reference_values,
            "notes": [piece.note for piece in reference_pieces],
            "undefined": [piece.reasons for piece in reference_pieces],
            "statistics": {name: _statistics(reference_values[name]) for name in scalar_names},
        },
        "pitch_class_profiles": {
            "generated": generated_histogram,
            "reference": reference_histogram,
            "total_variation_distance": histogram_distance(generated_histogram, reference_histogram),
        },
        "yang_lerch": {name: result.summary() for name, result in distributions.items()},
        "diversity": {
            "feature_diversity": feature_diversity(generated_matrix, scale) if generated_matrix is not None else math.nan,
            "reference_feature_diversity": (
                feature_diversity(reference_matrix, scale) if reference_matrix is not None else math.nan
            ),
            "ngram_order": ngram_order,
            "ngram_diversity": ngram_diversity(generated_tokens, ngram_order),
            "reference_ngram_diversity": ngram_diversity(reference_tokens, ngram_order),
        },
        "mode_collapse": mode_collapse_indicators(generated_tokens, reference_tokens, ngram_order),
        "_distributions": distributions,
    }


def json_safe(value):
    """Turn NumPy values, tuples and NaN/inf into plain JSON (NaN and inf become ``None``); drops ``_`` keys."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items() if not str(key).startswith("_")}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    return value


def write_metrics_json(path, comparison, extra=None):
    """Write :func:`compare_sets`' result, plus ``extra`` (say validation NLL), as JSON at ``path``, atomically.

    This is the ``metrics.json`` of a run folder: recipes and ``musickit
    evaluate --json`` report the same names and structure.

    Example:

    >>> comparison = compare_sets(samples, held_out)  # doctest: +SKIP
    >>> write_metrics_json("runs/lstm/metrics.json", comparison, {"valid_nll": 7.9})  # doctest: +SKIP
    """
    document = dict(comparison)
    document.update(extra or {})
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(json_safe(document), handle, indent=2, allow_nan=False)
    return path
