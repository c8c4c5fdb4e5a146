"""NT-Xent, the normalized temperature-scaled cross-entropy of SimCLR, and top-1 retrieval accuracy.

A batch holds ``N`` pairs of views of the same snippets, as
``y_pred[:, 0]`` and ``y_pred[:, 1]`` (``(N, 2, dim)``). All ``2N`` vectors
are L2-normalised; each one must pick its partner out of the other
``2N - 1`` by cosine similarity divided by ``temperature``::

    loss_i = -log( exp(s(i, partner) / t) / sum_{k != i} exp(s(i, k) / t) )

averaged over the ``2N`` anchors (one value per pair, the mean of its two
anchors, so Keras reduces it like any per-sample loss). ``y_true`` is
ignored: the pairing is the label.

Example (two orthogonal pairs at temperature 1: ``log(2 + e) - 1``):

>>> import numpy as np
>>> views = np.array([[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]], "float32")
>>> round(float(NTXentLoss(temperature=1.0)(np.zeros(2), views)), 4)
0.5514

References:
    - [Chen et al., 2020, SimCLR](https://arxiv.org/abs/2002.05709)
"""

import keras
from keras import ops

MASKED_SIMILARITY = -1e9


def _similarities(y_pred, temperature):
    y_pred = ops.cast(y_pred, "float32")
    first, second = y_pred[:, 0, :], y_pred[:, 1, :]
    vectors = ops.normalize(ops.concatenate([first, second], axis=0), axis=-1)
    return ops.matmul(vectors, ops.transpose(vectors)) / temperature


def nt_xent(y_pred, temperature=0.1):
    """Per-pair NT-Xent loss ``(N,)`` of views ``(N, 2, dim)``; see the module docstring."""
    similarities = _similarities(y_pred, temperature)
    count = ops.shape(similarities)[0]
    pairs = count // 2
    # An anchor is not its own candidate.
    similarities = ops.where(ops.eye(count, dtype="bool"), MASKED_SIMILARITY, similarities)
    partner = ops.concatenate([ops.arange(pairs, dtype="int32") + pairs, ops.arange(pairs, dtype="int32")], axis=0)
    positive = ops.take_along_axis(similarities, ops.expand_dims(partner, 1), axis=1)[:, 0]
    per_anchor = ops.logsumexp(similarities, axis=1) - positive
    return (per_anchor[:pairs] + per_anchor[pairs:]) / 2.0


@keras.saving.register_keras_serializable(package="musickit")
class NTXentLoss(keras.losses.Loss):
    """NT-Xent over pairs of views ``(N, 2, dim)``.

    Args:
        temperature: float > 0; lower values sharpen the softmax over candidates.
        reduction, name: as for ``keras.losses.Loss``.
    """

    def __init__(self, temperature=0.1, reduction="sum_over_batch_size", name="nt_xent", **kwargs):
        super().__init__(reduction=reduction, name=name, **kwargs)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def call(self, y_true, y_pred):
        return nt_xent(y_pred, self.temperature)

    def get_config(self):
        config = super().get_config()
        config["temperature"] = self.temperature
        return config


@keras.saving.register_keras_serializable(package="musickit")
class RetrievalAccuracy(keras.metrics.Mean):
    """Share of first views whose most similar second view (cosine) is their own partner.

    Example:

    >>> import numpy as np
    >>> metric = RetrievalAccuracy()
    >>> views = np.array([[[1.0, 0.0], [1.0, 0.1]], [[1.0, 0.05], [1.0, 0.5]]], "float32")
    >>> metric.update_state(np.zeros(2), views)
    >>> float(metric.result())  # pair 0 finds its partner; pair 1 finds pair 0's
    0.5
    """

    def __init__(self, name="retrieval_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.cast(y_pred, "float32")
        first = ops.normalize(y_pred[:, 0, :], axis=-1)
        second = ops.normalize(y_pred[:, 1, :], axis=-1)
        best = ops.argmax(ops.matmul(first, ops.transpose(second)), axis=1)
        correct = ops.cast(
            ops.equal(ops.cast(best, "int32"), ops.arange(ops.shape(first)[0], dtype="int32")), "float32"
        )
        return super().update_state(correct, sample_weight=sample_weight)
