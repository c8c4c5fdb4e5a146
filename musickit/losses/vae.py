"""VAE and GAN losses for sequence models: Gaussian KL with free bits, KL annealing, adversarial terms.

Posterior collapse (the decoder ignores ``z``, the KL goes to zero) is the
known failure of VAEs over sequences. The defences here are the ones shown to
work on text and music: a KL weight that warms up from zero (monotonic, or
cyclical as Fu et al. 2019), a reconstruction-only warm-up before it, and
free bits per latent dimension (Kingma et al. 2016): a dimension whose KL is
below ``free_bits`` nats costs a constant, so the optimiser gains nothing by
pushing it to zero.

The adversarial terms are the hinge loss (the discriminator) and its
generator side, plus feature matching (Salimans et al. 2016); the family adds
them, small, to the likelihood loss, never in place of it.

Example:

>>> import numpy as np
>>> kl = gaussian_kl(np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32"))
>>> float(keras.ops.sum(kl))
0.0
>>> float(free_bits_kl(kl, free_bits=0.5))  # three dimensions held at 0.5 nats each
1.5
>>> [round(float(kl_weight(step, "monotonic", warmup_steps=0, anneal_steps=10)), 2) for step in (0, 5, 20)]
[0.0, 0.5, 1.0]
"""

import keras
from keras import ops

KL_SCHEDULES = ("monotonic", "cyclical", "constant")


def gaussian_kl(mean, log_variance):
    """``KL(N(mean, exp(log_variance)) || N(0, 1))`` per dimension, same shape as ``mean``."""
    mean, log_variance = ops.cast(mean, "float32"), ops.cast(log_variance, "float32")
    return 0.5 * (ops.square(mean) + ops.exp(log_variance) - 1.0 - log_variance)


def free_bits_kl(kl, free_bits=0.0):
    """The KL cost with free bits per dimension: ``sum_d max(mean_batch(kl_d), free_bits)``.

    ``kl`` is ``(batch, ..., dims)``: every axis but the first is a dimension
    (a per-bar latent of 8 dims over 4 bars is 32 dimensions).
    """
    kl = ops.cast(kl, "float32")
    per_dimension = ops.mean(ops.reshape(kl, (ops.shape(kl)[0], -1)), axis=0)
    return ops.sum(ops.maximum(per_dimension, free_bits))


def kl_weight(step, schedule="monotonic", warmup_steps=0, anneal_steps=1000, cycles=4, max_weight=1.0):
    """The KL weight at training ``step`` (a number or tensor): zero during the reconstruction warm-up, then ...

    - ``monotonic``: a linear ramp to ``max_weight`` over ``anneal_steps`` steps (Bowman et al. 2016);
    - ``cyclical``: ``cycles`` repetitions of [ramp over half the cycle, hold] within ``anneal_steps``
      steps of ``anneal_steps / cycles`` each, then ``max_weight`` (Fu et al. 2019);
    - ``constant``: ``max_weight`` after the warm-up.
    """
    if schedule not in KL_SCHEDULES:
        raise ValueError(f"schedule must be one of {KL_SCHEDULES}, got {schedule!r}")
    step = ops.cast(step, "float32") - float(warmup_steps)
    anneal_steps = float(max(anneal_steps, 1))
    if schedule == "constant":
        ramp = ops.ones_like(step)
    elif schedule == "monotonic":
        ramp = step / anneal_steps
    else:
        cycle_length = anneal_steps / max(int(cycles), 1)
        within = ops.mod(ops.maximum(step, 0.0), cycle_length) / (cycle_length / 2.0)
        ramp = ops.where(step >= anneal_steps, 1.0, within)
    ramp = ops.where(step < 0, 0.0, ramp)
    return max_weight * ops.clip(ramp, 0.0, 1.0)


def discriminator_hinge_loss(real_logits, fake_logits):
    """Hinge loss of a discriminator: ``mean(relu(1 - real)) + mean(relu(1 + fake))``."""
    return ops.mean(ops.relu(1.0 - ops.cast(real_logits, "float32"))) + ops.mean(
        ops.relu(1.0 + ops.cast(fake_logits, "float32"))
    )


def generator_hinge_loss(fake_logits):
    """The generator's side of the hinge loss: ``-mean(fake)``."""
    return -ops.mean(ops.cast(fake_logits, "float32"))


def feature_matching_loss(real_features, fake_features):
    """Squared distance between the batch means of the discriminator's features on real and generated data.

    ``real_features`` and ``fake_features`` are lists of ``(batch, ..., dim)``
    tensors (one per scale); the real side carries no gradient.
    """
    total = 0.0
    for real, fake in zip(real_features, fake_features):
        real_mean = ops.stop_gradient(ops.mean(ops.cast(real, "float32"), axis=0))
        total = total + ops.mean(ops.square(real_mean - ops.mean(ops.cast(fake, "float32"), axis=0)))
    return total


def gumbel_softmax(logits, temperature, seed_generator, hard=False):
    """A relaxed one-hot sample of ``logits`` (the Gumbel-softmax estimator): gradients reach the logits.

    ``hard=True`` is the straight-through variant: the forward pass is the
    one-hot argmax of the relaxed sample, the backward pass that of the soft
    one. ``seed_generator`` is a ``keras.random.SeedGenerator``.

    References:
        - [Jang et al., 2017, Categorical Reparameterization with Gumbel-Softmax](https://arxiv.org/abs/1611.01144)
    """
    logits = ops.cast(logits, "float32")
    uniform = keras.random.uniform(ops.shape(logits), minval=1e-6, maxval=1.0 - 1e-6, seed=seed_generator)
    soft = ops.softmax((logits - ops.log(-ops.log(uniform))) / temperature, axis=-1)
    if not hard:
        return soft
    one_hot = ops.one_hot(ops.argmax(soft, axis=-1), ops.shape(soft)[-1], dtype=soft.dtype)
    return soft + ops.stop_gradient(one_hot - soft)
