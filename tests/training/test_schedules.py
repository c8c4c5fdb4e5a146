"""Learning-rate schedules: warmup then cosine, and inverse square root."""

import keras
import pytest

from musickit.training.schedules import InverseSquareRootSchedule, warmup_cosine_decay


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
