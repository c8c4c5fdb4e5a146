"""Learning-rate schedules: warmup then cosine, inverse square root, stable then a linear decay."""

import keras
import pytest

from musickit.training.optimizers import OptimizerSettings, build_optimizer
from musickit.training.schedules import InverseSquareRootSchedule, StableDecaySchedule, warmup_cosine_decay


def test_warmup_cosine_rises_linearly_then_decays_to_the_floor():
    schedule = warmup_cosine_decay(1e-3, total_steps=110, warmup_fraction=10 / 110, final_fraction=0.1)
    values = [float(schedule(step)) for step in (0, 5, 10, 60, 110)]
    assert values[0] == pytest.approx(0.0) and values[1] == pytest.approx(5e-4) and values[2] == pytest.approx(1e-3)
    # Halfway through the decay: floor + (peak - floor) / 2.
    assert values[3] == pytest.approx(1e-4 + 0.45e-3, rel=1e-4) and values[4] == pytest.approx(1e-4, rel=1e-4)
    with pytest.raises(ValueError):
        warmup_cosine_decay(1e-3, total_steps=0)


def test_inverse_square_root_peaks_at_warmup_and_serializes():
    schedule = InverseSquareRootSchedule(2e-3, warmup_steps=16)
    assert float(schedule(8)) == pytest.approx(1e-3)
    assert float(schedule(16)) == pytest.approx(2e-3)
    assert float(schedule(64)) == pytest.approx(1e-3)
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert restored.get_config() == schedule.get_config()
    optimizer = keras.optimizers.Adam(schedule)
    assert optimizer is not None


def test_stable_decay_holds_the_peak_then_falls_linearly_to_the_floor():
    schedule = StableDecaySchedule(2e-3, total_steps=40, decay_fraction=0.25, final_fraction=0.1)
    # The decay spans steps 30..40: halfway (35) is the mean of the peak and the floor.
    values = [float(schedule(step)) for step in (0, 29, 30, 35, 40, 80)]
    assert values == pytest.approx([2e-3, 2e-3, 2e-3, 1.1e-3, 2e-4, 2e-4])
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert restored.get_config() == schedule.get_config()
    with pytest.raises(ValueError):
        StableDecaySchedule(1e-3, total_steps=10, decay_fraction=0.0)


def test_stable_decay_by_name_spans_the_settings_steps():
    optimizer = build_optimizer(OptimizerSettings(1e-3, schedule="stable_decay", total_steps=100, decay_fraction=0.5))
    rate = optimizer.learning_rate
    assert isinstance(optimizer._learning_rate, StableDecaySchedule) and float(rate) == pytest.approx(1e-3)
    assert float(optimizer._learning_rate(75)) == pytest.approx(0.55e-3)
