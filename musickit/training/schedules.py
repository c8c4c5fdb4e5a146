"""Learning-rate schedules for transformers: linear warmup then cosine decay, inverse square root, step decay.

Transformers diverge when a large learning rate meets random attention
weights, so both schedules warm up linearly first. The cosine one is Keras'
own ``CosineDecay`` (it has a warmup phase), wrapped so recipes and tuner
studies choose a schedule by total steps and a warmup fraction; the inverse
square root one is the schedule of the original Transformer and of Music
Transformer, which Keras does not ship.
"""

import keras
from keras import ops


def warmup_cosine_decay(peak_learning_rate, total_steps, warmup_fraction=0.05, final_fraction=0.1):
    """Linear warmup to ``peak_learning_rate``, then cosine decay to ``final_fraction`` of it.

    Args:
        peak_learning_rate: float, the learning rate at the end of warmup.
        total_steps: int, warmup plus decay steps (``epochs * steps_per_epoch``).
        warmup_fraction: float in [0, 1), share of ``total_steps`` spent warming up.
        final_fraction: float, the last learning rate as a share of the peak.

    Example:

    >>> schedule = warmup_cosine_decay(1e-3, total_steps=100, warmup_fraction=0.1)
    >>> [round(float(schedule(step)), 6) for step in (0, 10, 100)]
    [0.0, 0.001, 0.0001]
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if not 0.0 <= warmup_fraction < 1.0:
        raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction}")
    warmup_steps = int(total_steps * warmup_fraction)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else peak_learning_rate,
        decay_steps=max(total_steps - warmup_steps, 1),
        alpha=final_fraction,
        warmup_target=peak_learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def step_decay(peak_learning_rate, total_steps, factor=0.1):
    """``peak_learning_rate``, times ``factor`` at 50% and again at 75% of ``total_steps`` (a tuner ablation).

    Example:

    >>> schedule = step_decay(1e-3, total_steps=100)
    >>> [round(float(schedule(step)), 7) for step in (0, 50, 51, 76)]
    [0.001, 0.001, 0.0001, 1e-05]
    """
    boundaries = sorted({max(1, total_steps // 2), max(2, (3 * total_steps) // 4)})
    values = [peak_learning_rate * factor**index for index in range(len(boundaries) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


@keras.saving.register_keras_serializable(package="musickit")
class InverseSquareRootSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``peak * min(step / warmup, sqrt(warmup / step))``: the Transformer's schedule, peaking at ``warmup_steps``.

    Args:
        peak_learning_rate: float, the learning rate at ``warmup_steps``.
        warmup_steps: int >= 1.

    Example:

    >>> schedule = InverseSquareRootSchedule(1e-3, warmup_steps=100)
    >>> [round(float(schedule(step)), 6) for step in (50, 100, 400)]
    [0.0005, 0.001, 0.0005]

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762), section 5.3
    """

    def __init__(self, peak_learning_rate, warmup_steps=4000):
        if warmup_steps < 1:
            raise ValueError(f"warmup_steps must be >= 1, got {warmup_steps}")
        self.peak_learning_rate = peak_learning_rate
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = ops.maximum(ops.cast(step, "float32"), 1.0)
        warmup = float(self.warmup_steps)
        return self.peak_learning_rate * ops.minimum(step / warmup, ops.sqrt(warmup / step))

    def get_config(self):
        return {"peak_learning_rate": self.peak_learning_rate, "warmup_steps": self.warmup_steps}


@keras.saving.register_keras_serializable(package="musickit")
class StableDecaySchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``peak`` for most of the run, then a linear decay to ``final_fraction * peak`` over its last steps.

    A short run that stops at a constant learning rate ends where the optimizer's noise leaves it; annealing
    only the last ``decay_fraction`` of the steps keeps the large rate's progress and removes that noise
    (what a cosine schedule does only by slowing the whole run).

    Args:
        peak_learning_rate: float, the learning rate until the decay starts.
        total_steps: int >= 1, the run's optimizer steps.
        decay_fraction: float in (0, 1], the share of ``total_steps`` the decay spans.
        final_fraction: float, the last learning rate as a share of the peak.

    Example:

    >>> schedule = StableDecaySchedule(1e-3, total_steps=100, decay_fraction=0.2)
    >>> [round(float(schedule(step)), 6) for step in (0, 80, 90, 100, 200)]
    [0.001, 0.001, 0.00055, 0.0001, 0.0001]

    References:
        - [Hu et al., 2024](https://arxiv.org/abs/2404.06395) (MiniCPM), section 4: warmup-stable-decay
    """

    def __init__(self, peak_learning_rate, total_steps, decay_fraction=0.2, final_fraction=0.1):
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {total_steps}")
        if not 0.0 < decay_fraction <= 1.0:
            raise ValueError(f"decay_fraction must be in (0, 1], got {decay_fraction}")
        self.peak_learning_rate = peak_learning_rate
        self.total_steps = int(total_steps)
        self.decay_fraction = decay_fraction
        self.final_fraction = final_fraction

    def __call__(self, step):
        decay_steps = max(self.total_steps * self.decay_fraction, 1.0)
        progress = (ops.cast(step, "float32") - (self.total_steps - decay_steps)) / decay_steps
        progress = ops.clip(progress, 0.0, 1.0)
        return self.peak_learning_rate * (1.0 - (1.0 - self.final_fraction) * progress)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "decay_fraction": self.decay_fraction,
            "final_fraction": self.final_fraction,
        }
