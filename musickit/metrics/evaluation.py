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


@dataclasses.dataclass
class SetFeatures:
    """Everything set-level comparisons need from one set of pieces, computed once.

    ``values`` maps metric names to one value per piece; ``notes`` and
    ``undefined`` are the pieces' one-line notes and NaN reasons;
    ``profiles`` holds each piece's pitch-class profile (NaN rows for pieces
    without pitched notes), ``histogram`` their mean, and ``tokens`` each
    piece's :func:`~musickit.metrics.diversity.score_tokens`. It survives a
    JSON round trip (:meth:`to_json`/:meth:`from_json`), which is how
    :mod:`musickit.metrics.reference` caches a reference corpus.
    """

    values: dict
    notes: list
    undefined: list
    profiles: np.ndarray
    histogram: np.ndarray
    tokens: list

    @classmethod
    def from_scores(cls, scores, names=None, reference_histogram=None):
        """Compute the features of ``scores``; ``pitch_class_histogram_distance`` is measured to
        ``reference_histogram``, or to the set's own mean histogram when it is None."""
        names = list(names or METRIC_NAMES)
        _check_names(names)
        scores = list(scores)
        histogram = mean_pitch_class_histogram(scores)
        target = histogram if reference_histogram is None else np.asarray(reference_histogram, dtype=float)
        values, pieces = compute_metrics_batch(scores, names, target)
        return cls(
            values={name: values.get(name, np.full(len(scores), math.nan)) for name in names},
            notes=[piece.note for piece in pieces],
            undefined=[piece.reasons for piece in pieces],
            profiles=np.array([pitch_class_profile(score) for score in scores]).reshape(len(scores), 12),
            histogram=histogram,
            tokens=[score_tokens(score) for score in scores],
        )

    def __len__(self):
        return len(self.notes)

    def to_json(self):
        return json_safe(dataclasses.asdict(self) | {"values": self.values, "profiles": self.profiles})

    @classmethod
    def from_json(cls, document):
        def nan_array(values):
            return np.array([math.nan if value is None else value for value in values], dtype=float)

        return cls(
            values={name: nan_array(values) for name, values in document["values"].items()},
            notes=list(document["notes"]),
            undefined=[dict(reasons) for reasons in document["undefined"]],
            profiles=np.array(
                [[math.nan if value is None else value for value in row] for row in document["profiles"]], dtype=float
            ).reshape(len(document["profiles"]), 12),
            histogram=np.array(document["histogram"], dtype=float),
            tokens=[[tuple(token) for token in sequence] for sequence in document["tokens"]],
        )


def _matrix(features, names):
    return np.column_stack([features.values[name] for name in names]) if len(features) and names else None


def compare_sets(generated_scores, reference, names=None, ngram_order=2):
    """Per-piece metrics of both sets and everything set-level, as one JSON-ready dict.

    ``reference`` is a list of scores or a :class:`SetFeatures` (say a cached
    corpus from :func:`musickit.metrics.reference.reference_features`); the
    metrics compared are ``names`` (all by default) that the reference has.

    Keys: ``generated`` and ``reference`` (per-piece ``values``, a one-line
    ``notes`` entry per piece, ``undefined`` reasons per piece, and
    ``statistics``: mean/std per metric), ``pitch_class_profiles`` (the two
    mean histograms and their total-variation distance), ``yang_lerch``
    (per-feature distance distributions,
    :mod:`musickit.metrics.distribution`), ``diversity`` and
    ``mode_collapse`` (:mod:`musickit.metrics.diversity`). Use
    :func:`json_safe` before ``json.dumps`` (NaN becomes null).
    """
    names = list(names or METRIC_NAMES)
    _check_names(names)
    if not isinstance(reference, SetFeatures):
        reference = SetFeatures.from_scores(reference, names)
    names = [name for name in names if name in reference.values]
    generated = SetFeatures.from_scores(generated_scores, names, reference.histogram)

    # Yang & Lerch features: every scalar metric plus the pitch-class profile as a 12-d vector.
    distributions = compare_distributions(
        {**generated.values, "pitch_class_profile": generated.profiles},
        {**reference.values, "pitch_class_profile": reference.profiles},
    )
    generated_matrix, reference_matrix = _matrix(generated, names), _matrix(reference, names)
    scale = None
    if reference_matrix is not None:
        with warnings.catch_warnings():  # all-NaN columns (no drums anywhere) are expected; they get scale 1
            warnings.simplefilter("ignore", RuntimeWarning)
            scale = np.nanstd(reference_matrix, axis=0)

    def describe(features):
        return {
            "values": features.values,
            "notes": features.notes,
            "undefined": features.undefined,
            "statistics": {name: _statistics(features.values[name]) for name in names},
        }

    return {
        "metrics": names,
        "generated": describe(generated),
        "reference": describe(reference),
        "pitch_class_profiles": {
            "generated": generated.histogram,
            "reference": reference.histogram,
            "total_variation_distance": histogram_distance(generated.histogram, reference.histogram),
        },
        "yang_lerch": {name: result.summary() for name, result in distributions.items()},
        "diversity": {
            "feature_diversity": feature_diversity(generated_matrix, scale)
            if generated_matrix is not None
            else math.nan,
            "reference_feature_diversity": (
                feature_diversity(reference_matrix, scale) if reference_matrix is not None else math.nan
            ),
            "ngram_order": ngram_order,
            "ngram_diversity": ngram_diversity(generated.tokens, ngram_order),
            "reference_ngram_diversity": ngram_diversity(reference.tokens, ngram_order),
        },
        "mode_collapse": mode_collapse_indicators(generated.tokens, reference.tokens, ngram_order),
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
