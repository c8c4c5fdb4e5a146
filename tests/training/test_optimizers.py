"""One place for optimizer settings: AdamW with the named schedule, clipping and weight decay."""

import keras
import pytest

from musickit.errors import UsageError
from musickit.training.optimizers import OptimizerSettings, build_optimizer


def test_warmup_cosine_starts_at_zero_and_peaks_after_warmup():
    optimizer = build_optimizer(OptimizerSettings(1e-3, schedule="warmup_cosine", total_steps=100))
    schedule = optimizer._learning_rate  # the schedule object itself, not its value at step 0
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert float(schedule(0)) == 0.0 and float(schedule(10)) == pytest.approx(1e-3)
    assert optimizer.clipnorm == 1.0 and optimizer.weight_decay == pytest.approx(0.01)


def test_constant_rate_without_clipping():
    optimizer = build_optimizer(OptimizerSettings(3e-4, clipnorm=None))
    assert float(optimizer.learning_rate) == pytest.approx(3e-4) and optimizer.clipnorm is None


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"learning_rate": -1.0}, "positive"),
        ({"learning_rate": float("nan")}, "positive"),
        ({"schedule": "sawtooth"}, "schedule"),
    ],
)
def test_bad_settings_are_one_line(changes, message):
    with pytest.raises(UsageError, match=message):
        OptimizerSettings(**changes)
