"""Direct Preference Optimization (DPO): a preference loss over summed continuation log-probabilities.

For a prompt with a *chosen* and a *rejected* continuation, DPO (Rafailov et
al. 2023) trains the policy :math:`\\pi` against a frozen reference
:math:`\\pi_{ref}` with

.. math::

    L = -\\log \\sigma\\big(\\beta [(\\log \\pi(y_c) - \\log \\pi_{ref}(y_c))
                              - (\\log \\pi(y_r) - \\log \\pi_{ref}(y_r))]\\big)

where each :math:`\\log \\pi(y)` is the sum of the continuation's token
log-probabilities given the prompt (prompt and padding tokens excluded). The
*implicit reward* of a continuation is :math:`\\beta (\\log \\pi(y) - \\log
\\pi_{ref}(y))`; a pair is ranked right when the chosen one's reward is the
higher (:func:`pair_accuracy`). ``beta`` (0.1 by default) sets how far the
policy may move from the reference: smaller lets it move further.

Everything here is ``keras.ops``, so it runs on the three backends and inside
a compiled train step.

Example (a policy that has not moved from the reference: the loss is log 2):

>>> import numpy as np
>>> zeros = np.zeros(2, "float32")
>>> round(float(np.mean(dpo_loss(zeros, zeros, zeros, zeros))), 4)
0.6931
>>> losses = dpo_loss([-1.0], [-3.0], [-2.0], [-2.0], beta=0.5)  # margin 0.5 * ((-1 + 2) - (-3 + 2)) = 1
>>> round(float(losses[0]), 4)  # -log sigmoid(1)
0.3133

References:
    - [Rafailov et al., 2023, Direct Preference Optimization: Your Language Model is
      Secretly a Reward Model](https://arxiv.org/abs/2305.18290)
"""

from keras import ops

#: The issue's and the paper's default strength of the pull towards the reference.
DEFAULT_BETA = 0.1


def sequence_log_probabilities(logits, targets, weights):
    """Per row, the sum of ``log softmax(logits)[target]`` over the tokens whose weight is 1.

    Args:
        logits: ``(batch, time, vocabulary)`` next-token logits.
        targets: ``(batch, time)`` integer ids of the next tokens.
        weights: ``(batch, time)``; 1 on the continuation's tokens, 0 on the
            prompt and on padding.

    Returns:
        ``(batch,)`` float32 summed log-probabilities.

    >>> import numpy as np
    >>> logits = np.log(np.array([[[0.5, 0.5], [0.25, 0.75]]], "float32"))
    >>> value = sequence_log_probabilities(logits, np.array([[0, 1]]), np.array([[0.0, 1.0]]))
    >>> round(float(value[0]), 4)  # log 0.75: the first token is prompt
    -0.2877
    """
    log_probabilities = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    picked = ops.take_along_axis(log_probabilities, ops.expand_dims(ops.cast(targets, "int32"), -1), axis=-1)
    return ops.sum(ops.squeeze(picked, -1) * ops.cast(weights, "float32"), axis=-1)


def implicit_reward(policy_log_probabilities, reference_log_probabilities, beta=DEFAULT_BETA):
    """DPO's implicit reward ``beta * (log pi(y) - log pi_ref(y))``, per row.

    >>> round(float(implicit_reward([-2.0], [-4.0], beta=0.1)[0]), 4)
    0.2
    """
    policy = ops.cast(ops.convert_to_tensor(policy_log_probabilities), "float32")
    reference = ops.cast(ops.convert_to_tensor(reference_log_probabilities), "float32")
    return beta * (policy - reference)


def preference_margin(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta=DEFAULT_BETA):
    """The chosen continuation's implicit reward minus the rejected one's, per pair."""
    return implicit_reward(policy_chosen, reference_chosen, beta) - implicit_reward(
        policy_rejected, reference_rejected, beta
    )


def dpo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta=DEFAULT_BETA):
    """The DPO loss per pair: ``-log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r)))``.

    Each argument is a ``(batch,)`` array of summed continuation
    log-probabilities (:func:`sequence_log_probabilities`). Returns ``(batch,)``
    losses; average them for a batch loss. ``-log sigmoid(x)`` is computed as
    ``softplus(-x)``, which stays finite for large margins.
    """
    margin = preference_margin(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta)
    return ops.softplus(-margin)


def pair_accuracy(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta=DEFAULT_BETA):
    """Share of pairs whose chosen continuation has the strictly higher implicit reward.

    >>> round(float(pair_accuracy([-1.0, -5.0], [-3.0, -1.0], [-2.0, -2.0], [-2.0, -2.0])), 2)
    0.5
    """
    margin = preference_margin(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta)
    return ops.mean(ops.cast(margin > 0, "float32"))
