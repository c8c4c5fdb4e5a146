"""Token-level losses for sequence models: cross-entropy with label smoothing, and focal loss.

Both return one loss per token and leave the averaging to Keras with
``reduction="mean_with_sample_weight"``: with the ``(batch, time)``
``sample_weight`` that musickit's pipelines yield (0 on padding and on prompt
tokens), the loss is the mean over the tokens that count, however many
there are in a batch.

Example:

>>> import numpy as np
>>> loss = SequenceCrossEntropy()
>>> logits = np.log(np.array([[[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]]], "float32"))
>>> targets = np.array([[0, 2]])
>>> weights = np.array([[1.0, 0.0]])  # the second token is prompt: not counted
>>> round(float(loss(targets, logits, sample_weight=weights)), 4)  # -log 0.5
0.6931
"""

import keras
from keras import ops


def _token_log_probabilities(y_true, y_pred, from_logits):
    y_pred = ops.cast(y_pred, "float32")
    log_probabilities = ops.log_softmax(y_pred, axis=-1) if from_logits else ops.log(ops.clip(y_pred, 1e-7, 1.0))
    targets = ops.one_hot(ops.cast(y_true, "int32"), ops.shape(y_pred)[-1], dtype="float32")
    return log_probabilities, targets


def _smooth(targets, label_smoothing):
    if not label_smoothing:
        return targets
    classes = ops.cast(ops.shape(targets)[-1], "float32")
    return targets * (1.0 - label_smoothing) + label_smoothing / classes


@keras.saving.register_keras_serializable(package="musickit")
class SequenceCrossEntropy(keras.losses.Loss):
    """Sparse categorical cross-entropy per token, with optional label smoothing.

    Keras' sparse loss has no label smoothing, and its dense loss needs one-hot
    targets from the pipeline; this one takes integer targets and smooths
    inside.

    Args:
        label_smoothing: float in [0, 1): mass moved from the target to a
            uniform distribution over the vocabulary.
        from_logits: bool, whether predictions are logits (the default).
        reduction, name: as for ``keras.losses.Loss``; the default reduction
            divides by the sum of the sample weights.
    """

    def __init__(
        self,
        label_smoothing=0.0,
        from_logits=True,
        reduction="mean_with_sample_weight",
        name="sequence_cross_entropy",
        **kwargs,
    ):
        super().__init__(reduction=reduction, name=name, **kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        log_probabilities, targets = _token_log_probabilities(y_true, y_pred, self.from_logits)
        return -ops.sum(_smooth(targets, self.label_smoothing) * log_probabilities, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"label_smoothing": self.label_smoothing, "from_logits": self.from_logits})
        return config


@keras.saving.register_keras_serializable(package="musickit")
class SequenceFocalLoss(keras.losses.Loss):
    """Focal loss per token: cross-entropy scaled by ``(1 - p_target) ** gamma``.

    It spends less of the gradient on tokens the model already predicts well
    (bar lines, positions after a note) and more on the rare, hard ones
    (pitches, rhythms). ``gamma=0`` is plain cross-entropy.

    Args:
        gamma: float >= 0, the focusing exponent (2 in the paper).
        label_smoothing: float in [0, 1), applied to the cross-entropy term.
        from_logits: bool.

    Example:

    >>> import numpy as np
    >>> logits = np.log(np.array([[[0.9, 0.1], [0.6, 0.4]]], "float32"))
    >>> targets = np.array([[0, 0]])
    >>> easy_share = lambda loss: float(loss(targets[:, :1], logits[:, :1])) / float(loss(targets, logits))
    >>> easy_share(SequenceFocalLoss(gamma=2.0)) < easy_share(SequenceCrossEntropy())
    True

    References:
        - [Lin et al., 2017, Focal Loss for Dense Object Detection](https://arxiv.org/abs/1708.02002)
    """

    def __init__(
        self,
        gamma=2.0,
        label_smoothing=0.0,
        from_logits=True,
        reduction="mean_with_sample_weight",
        name="sequence_focal_loss",
        **kwargs,
    ):
        super().__init__(reduction=reduction, name=name, **kwargs)
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.gamma = gamma
        self.label_smoothing = label_smoothing
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        log_probabilities, targets = _token_log_probabilities(y_true, y_pred, self.from_logits)
        target_probability = ops.exp(ops.sum(targets * log_probabilities, axis=-1))
        cross_entropy = -ops.sum(_smooth(targets, self.label_smoothing) * log_probabilities, axis=-1)
        return ops.power(1.0 - target_probability, self.gamma) * cross_entropy

    def get_config(self):
        config = super().get_config()
        config.update({"gamma": self.gamma, "label_smoothing": self.label_smoothing, "from_logits": self.from_logits})
        return config


def sequence_loss(name="cross_entropy", label_smoothing=0.0, focal_gamma=2.0):
    """A token loss by name: ``"cross_entropy"`` or ``"focal"``.

    >>> type(sequence_loss("focal")).__name__
    'SequenceFocalLoss'
    """
    if name == "cross_entropy":
        return SequenceCrossEntropy(label_smoothing=label_smoothing)
    if name == "focal":
        return SequenceFocalLoss(gamma=focal_gamma, label_smoothing=label_smoothing)
    raise ValueError(f"unknown sequence loss {name!r}; use 'cross_entropy' or 'focal'")
