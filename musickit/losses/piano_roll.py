"""Losses over piano-roll frames: binary cross-entropy summed over keys, active notes weighted.

The streaming NLL metric reported beside it is
:class:`musickit.metrics.likelihood.FrameNegativeLogLikelihood`.
"""

import keras
from keras import ops


def frame_cross_entropy(y_true, logits, positive_weight=1.0):
    """Binary cross-entropy summed over keys: nats per frame, shape ``y_true.shape[:-1]``.

    With ``positive_weight=1`` this is the exact negative log-likelihood of the
    frame under independent (or autoregressive, given teacher forcing)
    Bernoullis, the number the Boulanger-Lewandowski benchmark reports.

    >>> import numpy as np
    >>> float(frame_cross_entropy(np.ones((1, 2)), np.zeros((1, 2)))[0])  # 2 keys at p=0.5
    1.3862943649291992
    """
    logits = ops.convert_to_tensor(logits)
    y_true = ops.cast(y_true, logits.dtype)
    # log(1 + exp(-|x|)) form: stable for large logits.
    per_key = ops.maximum(logits, 0.0) - logits * y_true + ops.log1p(ops.exp(-ops.abs(logits)))
    if positive_weight != 1.0:
        per_key = per_key * (1.0 + (positive_weight - 1.0) * y_true)
    return ops.sum(per_key, axis=-1)


@keras.saving.register_keras_serializable(package="musickit")
class WeightedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy on logits, with active notes weighted ``positive_weight`` times.

    Piano rolls are sparse (about 4 of 88 keys sound), so an unweighted loss
    is happy to predict silence; weighting the active notes (10x by default,
    the classic setting) makes the model commit to notes. The value is summed
    over keys (nats per frame at ``positive_weight=1``), averaged over frames.

    Args:
        positive_weight: weight of the terms where a key sounds.

    Example:

    >>> import numpy as np
    >>> loss = WeightedBinaryCrossentropy(positive_weight=1.0)
    >>> round(float(loss(np.ones((1, 1, 2)), np.zeros((1, 1, 2)))), 4)
    1.3863
    """

    def __init__(self, positive_weight=10.0, name="weighted_binary_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.positive_weight = positive_weight

    def call(self, y_true, y_pred):
        return frame_cross_entropy(y_true, y_pred, self.positive_weight)

    def get_config(self):
        config = super().get_config()
        config.update({"positive_weight": self.positive_weight})
        return config
