"""Musical and likelihood metrics, set-level comparisons, and their Keras integration.

Per-piece metrics are pure functions of a :class:`musickit.music.Score`
returning a float (NaN, with a recorded reason, where a value does not
exist). The MusPy-named ones follow MusPy's definitions except where MusPy
is wrong; each module's docstring lists the differences.

Example:

>>> from musickit.music import Note, Score
>>> from musickit.metrics import compute_metrics, pitch_class_entropy
>>> piece = Score(notes=[Note(60, 90, 0.0, 1.0), Note(67, 90, 1.0, 2.0)])
>>> pitch_class_entropy(piece)
1.0
>>> compute_metrics(piece, names=["n_pitches_used"]).values
{'n_pitches_used': 2}
"""

from musickit.metrics.corpus import compare_to_corpus, cut_quarters, piece_features
from musickit.metrics.distribution import (
    DistanceDistributions,
    compare_distributions,
    compare_feature,
    inter_set_distances,
    intra_set_distances,
    kl_divergence,
    overlap_area,
)
from musickit.metrics.diversity import (
    distinct_ngram_ratio,
    feature_diversity,
    mode_collapse_indicators,
    ngram_diversity,
    score_tokens,
)
from musickit.metrics.evaluation import (
    DIRECTIONS,
    METRIC_NAMES,
    MUSPY_METRICS,
    PieceMetrics,
    compare_sets,
    compute_metrics,
    compute_metrics_batch,
    json_safe,
    write_metrics_json,
)
from musickit.metrics.features import (
    duplicate_note_fraction,
    empty_bar_fraction,
    inter_onset_histogram,
    key_distance,
    key_drift,
    longest_pitch_stretch,
    max_polyphony,
    mean_inter_onset_interval,
    note_length_histogram,
    offbeat_sixteenth_fraction,
    onset_metrical_levels,
    semitone_clash_fraction,
    silence_fraction,
    voice_count_distribution,
    voice_count_fraction,
)
from musickit.metrics.form import section_contrast, section_similarity, snippet_embedding_cosines, snippet_similarity
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

# The Keras-facing names import Keras (and its backend) on first use, so that
# `musickit evaluate` and plain metric users start in a fraction of a second.
_LAZY = {
    "MusicMetricsCallback": "musickit.metrics.callbacks",
    "tuner_objective": "musickit.metrics.callbacks",
    "FrameNegativeLogLikelihood": "musickit.metrics.likelihood",
    "frame_negative_log_likelihood": "musickit.metrics.likelihood",
    "nll_nats_per_frame": "musickit.metrics.likelihood",
    "perplexity": "musickit.metrics.likelihood",
    "dataset_token_nll": "musickit.metrics.likelihood",
    "predict_styles": "musickit.metrics.style",
    "style_accuracy": "musickit.metrics.style",
    "judge_generated_pieces": "musickit.metrics.generated_forms",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'musickit.metrics' has no attribute {name!r}")


__all__ = [
    "compare_to_corpus",
    "cut_quarters",
    "duplicate_note_fraction",
    "empty_bar_fraction",
    "inter_onset_histogram",
    "key_distance",
    "key_drift",
    "max_polyphony",
    "mean_inter_onset_interval",
    "longest_pitch_stretch",
    "note_length_histogram",
    "offbeat_sixteenth_fraction",
    "onset_metrical_levels",
    "piece_features",
    "semitone_clash_fraction",
    "silence_fraction",
    "voice_count_distribution",
    "voice_count_fraction",
    "DIRECTIONS",
    "DistanceDistributions",
    "FrameNegativeLogLikelihood",
    "METRIC_NAMES",
    "MUSPY_METRICS",
    "MusicMetricsCallback",
    "PieceMetrics",
    "compare_distributions",
    "compare_feature",
    "compare_sets",
    "compute_metrics",
    "compute_metrics_batch",
    "dataset_token_nll",
    "distinct_ngram_ratio",
    "drum_pattern_consistency",
    "empty_beat_rate",
    "feature_diversity",
    "frame_negative_log_likelihood",
    "groove_consistency",
    "harmonic_coherence",
    "histogram_distance",
    "in_scale_ratio",
    "inter_set_distances",
    "intra_set_distances",
    "judge_generated_pieces",
    "json_safe",
    "kl_divergence",
    "mean_pitch_class_histogram",
    "mode_collapse_indicators",
    "n_pitch_classes_used",
    "n_pitches_used",
    "ngram_diversity",
    "nll_nats_per_frame",
    "note_density",
    "overlap_area",
    "perplexity",
    "pitch_class_entropy",
    "pitch_class_histogram_distance",
    "pitch_class_profile",
    "pitch_entropy",
    "pitch_range",
    "polyphony",
    "polyphony_rate",
    "predict_styles",
    "repeated_bar_ratio",
    "repeated_frame_ratio",
    "rhythmic_regularity",
    "scale_consistency",
    "score_tokens",
    "section_contrast",
    "section_similarity",
    "snippet_embedding_cosines",
    "snippet_similarity",
    "style_accuracy",
    "tonal_stability",
    "tuner_objective",
    "write_metrics_json",
]
