"""One place for optimizer and learning-rate schedule settings.

Every training in musickit builds its optimizer here: AdamW with decoupled
weight decay for the transformers, Adam for the piano-roll LSTM, gradient
clipping by norm, and a schedule chosen by name over the run's total steps.
:class:`OptimizerSettings` holds those choices and :func:`build_optimizer`
turns them into a fresh Keras optimizer (a new one per compile: a stage that
changes the trainable weights needs its own slots).

Example:

>>> optimizer = build_optimizer(OptimizerSettings(1e-3, schedule="warmup_cosine", total_steps=100))
>>> type(optimizer).__name__, round(float(optimizer.learning_rate), 6)
('AdamW', 0.0)
>>> round(float(build_optimizer(OptimizerSettings(3e-4)).learning_rate), 8)
0.0003
"""

import dataclasses
import math

import keras

from musickit.errors import UsageError
from musickit.training.schedules import InverseSquareRootSchedule, StableDecaySchedule, warmup_cosine_decay

SCHEDULES = ("warmup_cosine", "inverse_sqrt", "stable_decay", "constant")
ALGORITHMS = ("adamw", "adam")


@dataclasses.dataclass(frozen=True)
class OptimizerSettings:
    """What an optimizer needs to know: peak learning rate, schedule, and AdamW's regularisation.

    Args:
        learning_rate: the peak learning rate (after warmup).
        schedule: ``"warmup_cosine"``, ``"inverse_sqrt"``, ``"stable_decay"`` or ``"constant"``.
        total_steps: optimizer steps the schedule spans (warmup included).
        warmup_fraction: share of ``total_steps`` spent warming up.
        decay_fraction: ``stable_decay``'s share of ``total_steps`` spent decaying at the end.
        weight_decay: AdamW's decoupled weight decay.
        clipnorm: clip each gradient to this norm (``None``: no clipping).
        algorithm: ``"adamw"`` (the transformers) or ``"adam"`` (no weight decay: the piano-roll LSTM).
    """

    learning_rate: float = 1e-3
    schedule: str = "constant"
    total_steps: int = 1
    warmup_fraction: float = 0.1
    decay_fraction: float = 0.2
    weight_decay: float = 0.01
    clipnorm: float | None = 1.0
    algorithm: str = "adamw"

    def __post_init__(self):
        if not (
            isinstance(self.learning_rate, (int, float))
            and math.isfinite(self.learning_rate)
            and self.learning_rate > 0
        ):
            raise UsageError(f"the learning rate must be a positive number, got {self.learning_rate}")
        if self.algorithm not in ALGORITHMS:
            raise UsageError(f"unknown optimizer {self.algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
        if self.schedule not in SCHEDULES:
            raise UsageError(f"unknown learning-rate schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")

    def replace(self, **changes):
        """A copy with ``changes`` (e.g. another learning rate for one training stage)."""
        return dataclasses.replace(self, **changes)


def learning_rate_schedule(name, peak_learning_rate, total_steps, warmup_fraction=0.1, decay_fraction=0.2):
    """A schedule by name: ``warmup_cosine``, ``inverse_sqrt``, ``stable_decay`` or ``constant`` (the plain number).

    ``warmup_fraction`` is the share of the steps spent warming up; ``decay_fraction`` the share ``stable_decay``
    (no warmup) spends decaying at the end.
    """
    if name == "warmup_cosine":
        return warmup_cosine_decay(peak_learning_rate, max(int(total_steps), 1), warmup_fraction)
    if name == "inverse_sqrt":
        return InverseSquareRootSchedule(peak_learning_rate, warmup_steps=max(int(total_steps * warmup_fraction), 1))
    if name == "stable_decay":
        return StableDecaySchedule(peak_learning_rate, max(int(total_steps), 1), decay_fraction)
    if name == "constant":
        return peak_learning_rate
    raise UsageError(f"unknown learning-rate schedule {name!r}; choose one of {', '.join(SCHEDULES)}")


def build_optimizer(settings, schedule=None):
    """A fresh Keras optimizer for :class:`OptimizerSettings` ``settings``.

    ``schedule``, a ``keras.optimizers.schedules.LearningRateSchedule`` built elsewhere (a tuner's
    searched schedule), replaces the one ``settings`` names.
    """
    rate = schedule or learning_rate_schedule(
        settings.schedule,
        settings.learning_rate,
        settings.total_steps,
        settings.warmup_fraction,
        settings.decay_fraction,
    )
    if settings.algorithm == "adam":
        return keras.optimizers.Adam(rate, clipnorm=settings.clipnorm)
    return keras.optimizers.AdamW(rate, weight_decay=settings.weight_decay, clipnorm=settings.clipnorm)
