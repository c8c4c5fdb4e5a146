"""Style accuracy: does a generated piece keep the style it was asked for?

A style classifier (see :mod:`musickit.training.style_classifier`) reads the
opening ``snippet_length`` tokens of every section of a piece (every marked
section, or the opening when there are no markers); the piece's style is the
one with the highest log-probability summed over its sections, and style
accuracy is the share of pieces whose predicted style is the requested one.

Example:

>>> import numpy as np
>>> class Classifier:  # anything that maps (n, length) ids to (n, styles) logits
...     def predict(self, ids, **options):
...         return np.stack([ids[:, 0] == 5, ids[:, 0] != 5], axis=1).astype("float32") * 4.0
>>> pieces = [{"A": np.array([5, 6]), "B": np.array([5])}, {"A": np.array([7])}]
>>> predict_styles(Classifier(), pieces, snippet_length=4).tolist()
[0, 1]
>>> style_accuracy([0, 1], ["bach", "bach"], ["bach", "essen"])
0.5
"""

import numpy as np
from keras import ops

from musickit.errors import UsageError


def predict_in_whole_batches(classifier, ids, batch_size=32):
    """``classifier.predict(ids)`` as numpy, in batches of exactly ``batch_size`` rows.

    The last batch is filled with copies of the first row, whose outputs are dropped: every call then
    has one input shape, so JAX and TensorFlow compile the classifier's predict step once, not once per
    number of rows (a piece of 2, 3 or 4 sections; 42 held-out snippets as 32 + 10).

    >>> class Classifier:
    ...     def predict(self, ids, batch_size, verbose=0):
    ...         assert len(ids) % batch_size == 0
    ...         return ids[:, :1] * 2
    >>> predict_in_whole_batches(Classifier(), np.array([[1], [2], [3]]), batch_size=2).tolist()
    [[2], [4], [6]]
    """
    ids = np.asarray(ids)
    filler = -len(ids) % batch_size
    padded = np.concatenate([ids, np.repeat(ids[:1], filler, axis=0)]) if filler else ids
    return ops.convert_to_numpy(classifier.predict(padded, batch_size=batch_size, verbose=0))[: len(ids)]


def predict_styles(classifier, pieces, snippet_length, pad_id=0):
    """Predicted style index per piece from ``[{label: section ids}, ...]`` (summed section log-probabilities)."""
    rows, owners = [], []
    for piece, sections in enumerate(pieces):
        for ids in sections.values():
            ids = np.asarray(ids, np.int32).reshape(-1)[:snippet_length]
            if len(ids):
                rows.append(ids)
                owners.append(piece)
    predicted = np.full(len(pieces), -1, np.int64)  # -1: a piece with no notes has no style
    if not rows:
        return predicted
    batch = np.full((len(rows), snippet_length), pad_id, np.int32)
    for row, ids in enumerate(rows):
        batch[row, : len(ids)] = ids
    logits = predict_in_whole_batches(classifier, batch).astype(np.float64)
    log_probabilities = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    totals = np.zeros((len(pieces), logits.shape[1]))
    np.add.at(totals, np.asarray(owners), log_probabilities)
    has_sections = np.isin(np.arange(len(pieces)), owners)
    predicted[has_sections] = np.argmax(totals[has_sections], axis=1)
    return predicted


def style_accuracy(predicted, requested, styles):
    """Share of pieces whose predicted style index names the requested style (``None`` for no pieces)."""
    styles = list(styles)
    if len(predicted) != len(requested):
        raise UsageError(f"{len(predicted)} predictions for {len(requested)} requested styles")
    unknown = sorted({style for style in requested if style not in styles})
    if unknown:
        raise UsageError(f"requested styles {unknown} are not among the classifier's styles {styles}")
    if not len(requested):
        return None
    return float(np.mean([int(index) == styles.index(style) for index, style in zip(predicted, requested)]))
