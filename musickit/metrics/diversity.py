"""Set-level diversity and mode-collapse indicators.

A generator can match every per-piece statistic and still write the same
piece forty times. These functions look at a *set* of pieces:

* :func:`feature_diversity`: mean pairwise Euclidean distance between the
  pieces' metric vectors, each metric scaled by a reference spread so a
  pitch range in semitones does not drown an entropy in bits;
* :func:`ngram_diversity`: mean pairwise Jaccard distance between the sets
  of token n-grams of two pieces (1 is nothing shared);
* :func:`mode_collapse_indicators`: near-duplicate pairs and the set's
  self-similarity, side by side with the reference set's.
"""

import itertools

import numpy as np

from musickit.music.quantization import quantize


def score_tokens(score, steps_per_quarter=4):
    """A piece as a token sequence for n-gram statistics, independent of any model's vocabulary.

    One token per pitched note in onset order: ``(steps since the previous
    onset, pitch, length in steps)`` on the grid.

    >>> from musickit.music.score import Note, Score
    >>> score_tokens(Score(notes=[Note(60, 90, 0.0, 0.5), Note(64, 90, 0.5, 0.75)]))  # 120 qpm
    [(0, 60, 4), (4, 64, 2)]
    """
    notes = [note for note in quantize(score, steps_per_quarter).notes if not note.is_drum]
    tokens, previous = [], 0
    for note in notes:
        tokens.append((note.start_step - previous, note.pitch, note.end_step - note.start_step))
        previous = note.start_step
    return tokens


def ngrams(sequence, n):
    """The set of length-``n`` windows of ``sequence`` (as tuples)."""
    sequence = list(sequence)
    return {tuple(sequence[index : index + n]) for index in range(len(sequence) - n + 1)}


def jaccard_similarity(first, second):
    """|A and B| / |A or B| for two sets; NaN when both are empty."""
    union = len(first | second)
    return len(first & second) / union if union else float("nan")


def pairwise_ngram_similarities(sequences, n=4):
    """``(i, j, similarity)`` for every pair ``i < j`` of sequences with at least one n-gram."""
    sets = [ngrams(sequence, n) for sequence in sequences]
    return [
        (first, second, jaccard_similarity(sets[first], sets[second]))
        for first, second in itertools.combinations(range(len(sets)), 2)
        if sets[first] and sets[second]
    ]


def ngram_diversity(sequences, n=4):
    """Mean pairwise Jaccard distance between the pieces' n-gram sets, in [0, 1]; NaN for fewer than two pieces.

    >>> ngram_diversity([[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]], n=2)
    0.0
    >>> ngram_diversity([[1, 2, 3], [4, 5, 6]], n=2)
    1.0
    """
    similarities = [similarity for _, _, similarity in pairwise_ngram_similarities(sequences, n)]
    return float(1.0 - np.mean(similarities)) if similarities else float("nan")


def distinct_ngram_ratio(sequences, n=4):
    """Distinct n-grams over all n-grams across the set ("distinct-n"); low values mean repetition."""
    total, distinct = 0, set()
    for sequence in sequences:
        sequence = list(sequence)
        windows = [tuple(sequence[index : index + n]) for index in range(len(sequence) - n + 1)]
        total += len(windows)
        distinct.update(windows)
    return len(distinct) / total if total else float("nan")


def copied_ngram_share(sequences, reference_sequences, n=16):
    """Mean over ``sequences`` of the share of their n-grams that occur somewhere in ``reference_sequences``.

    A sampler that replays its training data scores near 1 against the training set; held-out real pieces
    give the corpus' own rate (shared cadences and formulas), the number to read it beside. Sequences
    shorter than ``n`` are left out; NaN when none is long enough.

    >>> copied_ngram_share([[1, 2, 3], [7, 8, 9]], [[0, 1, 2, 3], [9, 8]], n=2)  # all of the first, none of the second
    0.5
    """
    known = set().union(*(ngrams(reference, n) for reference in reference_sequences))
    windows = [ngrams(sequence, n) for sequence in sequences]
    shares = [len(window & known) / len(window) for window in windows if window]
    return float(np.mean(shares)) if shares else float("nan")


def _impute(features):
    """Replace NaNs by their column mean; drop columns that are all NaN."""
    features = np.asarray(features, dtype=float)
    if features.ndim != 2:
        raise ValueError(f"features must be a (pieces, metrics) matrix, got shape {features.shape}")
    keep = ~np.isnan(features).all(axis=0)
    features = features[:, keep]
    means = np.nanmean(features, axis=0) if features.size else np.zeros(features.shape[1])
    return np.where(np.isnan(features), means, features), keep


def feature_diversity(features, scale=None):
    """Mean pairwise Euclidean distance between rows of a ``(pieces, metrics)`` matrix.

    Each column is divided by ``scale`` (one value per column, usually the
    reference set's standard deviation, so generated and reference sets are
    measured with one ruler) or by its own standard deviation when ``scale``
    is None. Missing values take their column's mean.

    >>> round(feature_diversity([[0.0, 0.0], [3.0, 4.0]], scale=[1.0, 1.0]), 3)
    5.0
    """
    features, keep = _impute(features)
    if len(features) < 2 or not features.shape[1]:
        return float("nan")
    scale = features.std(axis=0) if scale is None else np.asarray(scale, dtype=float)[keep]
    scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
    scaled = features / scale
    distances = [np.linalg.norm(scaled[i] - scaled[j]) for i, j in itertools.combinations(range(len(scaled)), 2)]
    return float(np.mean(distances))


def mode_collapse_indicators(sequences, reference_sequences=None, n=4, threshold=0.8):
    """Near-duplicate pairs and self-similarity of a set, with the reference set's for scale.

    Two pieces are near duplicates when their n-gram sets overlap with
    Jaccard similarity of at least ``threshold``. Self-similarity is the mean
    pairwise Jaccard similarity. A collapsed generator shows many near
    duplicates and a self-similarity well above the reference's
    (``self_similarity_ratio`` > 1).
    """
    pairs = pairwise_ngram_similarities(sequences, n)
    near = [(first, second, round(value, 6)) for first, second, value in pairs if value >= threshold]
    result = {
        "pairs": len(pairs),
        "near_duplicate_pairs": near,
        "near_duplicate_rate": len(near) / len(pairs) if pairs else float("nan"),
        "self_similarity": float(np.mean([value for _, _, value in pairs])) if pairs else float("nan"),
        "distinct_ngram_ratio": distinct_ngram_ratio(sequences, n),
    }
    if reference_sequences is not None:
        reference_pairs = pairwise_ngram_similarities(reference_sequences, n)
        reference = float(np.mean([value for _, _, value in reference_pairs])) if reference_pairs else float("nan")
        result["reference_self_similarity"] = reference
        result["reference_distinct_ngram_ratio"] = distinct_ngram_ratio(reference_sequences, n)
        result["self_similarity_ratio"] = result["self_similarity"] / reference if reference > 0 else float("nan")
    return result
