"""Likelihood helpers shared by the models: frame NLL for piano rolls, perplexity for tokens.

Written in ``keras.ops``, so they take NumPy arrays or tensors of any backend
and work inside a compiled metric as well as on predictions after the fact.

The piano-roll benchmark convention (Boulanger-Lewandowski et al. 2012): each
frame is 88 Bernoulli keys; the negative log-likelihood of a frame is the sum
over keys, in nats, and a set is reported as the mean over frames.
"""

import keras
import numpy as np
from keras import ops

EPSILON = 1e-7


def frame_negative_log_likelihood(targets, probabilities, from_logits=False, epsilon=EPSILON):
    """Per-frame Bernoulli NLL in nats, summed over the last (key) axis: shape ``targets.shape[:-1]``.

    ``probabilities`` are per-key probabilities of "on" (or logits with
    ``from_logits=True``, the numerically safer form). For an autoregressive
    frame head pass the conditional probabilities the head computed for the
    observed keys; the formula is the same.
    """
    targets = ops.cast(ops.convert_to_tensor(targets), keras.config.floatx())
    outputs = ops.cast(ops.convert_to_tensor(probabilities), keras.config.floatx())
    if from_logits:
        # log(1 + e^x) - t * x is -log p(t) for p = sigmoid(x), without forming p.
        per_key = ops.softplus(outputs) - targets * outputs
    else:
        outputs = ops.clip(outputs, epsilon, 1.0 - epsilon)
        per_key = -(targets * ops.log(outputs) + (1.0 - targets) * ops.log(1.0 - outputs))
    return ops.sum(per_key, axis=-1)


def nll_nats_per_frame(probabilities, targets, mask=None, from_logits=False, epsilon=EPSILON):
    """Mean over frames of the Bernoulli NLL summed over keys, in nats (a scalar tensor).

    ``probabilities`` and ``targets`` are ``(..., frames, keys)``; ``mask``
    (``(..., frames)``, 1 for real frames) leaves padding out.

    >>> import numpy as np
    >>> value = nll_nats_per_frame(np.full((2, 88), 0.5), np.zeros((2, 88)))
    >>> round(float(value), 2)  # 88 * log 2, the uniform Bernoulli(0.5) baseline
    61.0
    """
    per_frame = frame_negative_log_likelihood(targets, probabilities, from_logits, epsilon)
    if mask is None:
        return ops.mean(per_frame)
    mask = ops.cast(ops.convert_to_tensor(mask), per_frame.dtype)
    return ops.sum(per_frame * mask) / ops.maximum(ops.sum(mask), 1.0)


def perplexity(token_nll, mask=None):
    """``exp`` of the mean per-token negative log-likelihood (nats); ``token_nll`` may be a scalar mean already.

    >>> import numpy as np
    >>> round(float(perplexity(np.log(np.array([4.0, 4.0])))), 4)  # each token had probability 1/4
    4.0
    """
    token_nll = ops.cast(ops.convert_to_tensor(token_nll), keras.config.floatx())
    if mask is None:
        return ops.exp(ops.mean(token_nll))
    mask = ops.cast(ops.convert_to_tensor(mask), token_nll.dtype)
    return ops.exp(ops.sum(token_nll * mask) / ops.maximum(ops.sum(mask), 1.0))


@keras.saving.register_keras_serializable(package="musickit")
class FrameNegativeLogLikelihood(keras.metrics.MeanMetricWrapper):
    """Streaming piano-roll NLL in nats per frame (summed over keys), for ``model.compile(metrics=...)``.

    Averages :func:`frame_negative_log_likelihood` over every frame seen;
    ``sample_weight`` of shape ``(batch, frames)`` masks padded frames.

    Args:
        name: metric name in logs and history.
        dtype: dtype of the running sums.
        from_logits: whether predictions are logits rather than probabilities.

    Example:

    >>> import numpy as np
    >>> metric = FrameNegativeLogLikelihood()
    >>> metric.update_state(np.zeros((1, 3, 88)), np.full((1, 3, 88), 0.5))
    >>> round(float(metric.result()), 2)
    61.0
    """

    def __init__(self, name="frame_nll", dtype=None, from_logits=False):
        super().__init__(frame_negative_log_likelihood, name=name, dtype=dtype, from_logits=from_logits)
        self.from_logits = from_logits
        self._direction = "down"  # lower is better, for callbacks that infer the mode

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits}


def dataset_token_nll(model, dataset):
    """Exact mean negative log-likelihood (nats) per weighted target token over a whole dataset.

    ``dataset`` yields ``(inputs, targets, sample_weight)`` as musickit's token
    pipelines do (weight 0 on padding and prompt tokens). Unlike the loss that
    ``evaluate`` reports (a mean of per-batch means), every counted token
    weighs the same, so two models scored on the same tokens are comparable
    however their batches are cut. Returns ``(mean_nll, token_count)``.
    """
    total, count = 0.0, 0.0
    for inputs, targets, weights in dataset:
        # predict_on_batch runs the model's compiled predict step (one jit per batch shape on JAX), where a
        # plain model(inputs) call would run op by op, compiling each op on JAX: minutes on a small CPU.
        inputs = keras.tree.map_structure(np.asarray, inputs)  # tf.data tensors are not JAX or torch arrays
        logits = np.asarray(model.predict_on_batch(inputs), "float64")
        logits = logits - logits.max(axis=-1, keepdims=True)
        log_probabilities = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        targets = np.asarray(ops.convert_to_numpy(targets)).astype("int64")
        picked = np.take_along_axis(log_probabilities, targets[..., None], axis=-1)[..., 0]
        weights = np.asarray(ops.convert_to_numpy(weights), "float64")
        total += float(-(picked * weights).sum())
        count += float(weights.sum())
    return total / max(count, 1.0), int(count)
