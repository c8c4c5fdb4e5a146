import numpy as np
import pytest
from conftest import make_notes, make_score

from musickit.errors import UsageError
from musickit.music import Score
from musickit.representations.loading import load_representation
from musickit.representations.performance import PerformanceTokenizer


def tokens(tokenizer, ids):
    return [tokenizer.id_to_token(index) for index in ids]


def assert_round_trip(tokenizer, score, velocity_tolerance=0):
    """Every note comes back with onset and release within half a time-shift step."""
    decoded = tokenizer.decode(tokenizer.encode(score))
    original = sorted(score.notes, key=lambda note: (note.start, note.pitch, note.end))
    assert len(decoded.notes) == len(original)
    half_step = tokenizer.step_seconds / 2 + 1e-9
    for before, after in zip(original, sorted(decoded.notes, key=lambda note: (note.start, note.pitch, note.end))):
        assert after.pitch == before.pitch
        assert abs(after.start - before.start) <= half_step
        assert abs(after.end - before.end) <= half_step
        assert abs(after.velocity - before.velocity) <= velocity_tolerance


def test_default_vocabulary_is_the_music_transformer_one():
    tokenizer = PerformanceTokenizer()
    assert tokenizer.vocabulary_size == 388
    assert tokenizer.token_ranges == {
        "NOTE_ON": (0, 128),
        "NOTE_OFF": (128, 256),
        "TIME_SHIFT": (256, 356),
        "VELOCITY": (356, 388),
    }
    assert tokenizer.id_to_token(255) == "NOTE_OFF_127"
    assert tokenizer.id_to_token(355) == "TIME_SHIFT_100"
    assert tokenizer.token_to_id("VELOCITY_31") == 387
    with pytest.raises(UsageError, match="no PAD token"):
        _ = tokenizer.pad_id
    assert not hasattr(tokenizer, "eos_id")  # so callers can test for special tokens


def test_special_tokens_come_after_the_events():
    tokenizer = PerformanceTokenizer(special_tokens=True)
    assert tokenizer.vocabulary_size == 391
    assert (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id) == (388, 389, 390)
    ids = [tokenizer.bos_id, 60, 256 + 9, 128 + 60, tokenizer.eos_id, 64, tokenizer.pad_id]
    decoded = tokenizer.decode(ids)  # reading stops at EOS
    assert [(n.pitch, n.start, round(n.end, 6)) for n in decoded.notes] == [(60, 0.0, 0.1)]


def test_sizes_are_configurable():
    tokenizer = PerformanceTokenizer(num_time_shifts=50, time_shift_ms=20, num_velocity_bins=0)
    assert tokenizer.vocabulary_size == 128 + 128 + 50
    ids = tokenizer.encode(make_score([(60, 30, 0.0, 0.5), (62, 120, 0.5, 1.0)]))
    assert tokens(tokenizer, ids) == [
        "NOTE_ON_60",
        "TIME_SHIFT_25",
        "NOTE_OFF_60",
        "NOTE_ON_62",
        "TIME_SHIFT_25",
        "NOTE_OFF_62",
    ]
    assert [note.velocity for note in tokenizer.decode(ids, velocity=77).notes] == [77, 77]


def test_encode_hand_computed_events():
    tokenizer = PerformanceTokenizer()
    # A chord, then a repeated key starting exactly where the chord's C ends.
    score = make_score([(60, 100, 0.0, 0.5), (64, 100, 0.0, 0.25), (60, 20, 0.5, 0.6)])
    assert tokens(tokenizer, tokenizer.encode(score)) == [
        "VELOCITY_24",
        "NOTE_ON_60",
        "NOTE_ON_64",
        "TIME_SHIFT_25",
        "NOTE_OFF_64",
        "TIME_SHIFT_25",
        "NOTE_OFF_60",
        "VELOCITY_4",
        "NOTE_ON_60",  # release before the new attack
        "TIME_SHIFT_10",
        "NOTE_OFF_60",
    ]
    assert tokenizer.encode(score).dtype == np.int32


def test_long_gaps_take_several_shifts():
    tokenizer = PerformanceTokenizer()
    score = make_score([(60, 98, 2.5, 2.6)])
    assert tokens(tokenizer, tokenizer.encode(score)) == [
        "TIME_SHIFT_100",
        "TIME_SHIFT_100",
        "TIME_SHIFT_50",
        "VELOCITY_24",
        "NOTE_ON_60",
        "TIME_SHIFT_10",
        "NOTE_OFF_60",
    ]
    assert_round_trip(tokenizer, score)


def test_round_trip_within_one_step_with_chords_overlaps_and_gaps():
    tokenizer = PerformanceTokenizer()
    score = make_score(
        [
            (60, 98, 0.0, 1.0),
            (64, 98, 0.0, 1.0),  # chord
            (67, 98, 0.004, 0.333),  # off the 10 ms grid
            (60, 98, 0.5, 1.5),  # same key again while the first C sounds
            (72, 98, 4.123, 4.2),  # after a 2.6 s gap
            (48, 98, 4.2, 4.2),  # zero length: kept one step
        ]
    )
    decoded = tokenizer.decode(tokenizer.encode(score))
    # The overlapping Cs stay two notes; the first is released first.
    assert [(n.start, n.end) for n in decoded.notes if n.pitch == 60] == [(0.0, 1.0), (0.5, 1.5)]
    assert [(n.pitch, round(n.end - n.start, 6)) for n in decoded.notes if n.pitch == 48] == [(48, 0.01)]
    score.notes[-1].end = 4.21
    assert_round_trip(tokenizer, score)


def test_velocity_is_quantized_to_bins_of_four():
    tokenizer = PerformanceTokenizer()
    assert [tokenizer.velocity_bin(v) for v in (1, 4, 5, 100, 127)] == [0, 0, 1, 24, 31]
    assert [tokenizer.bin_velocity(b) for b in (0, 1, 24, 31)] == [2, 6, 98, 126]
    velocities = range(1, 128, 9)
    score = make_score(
        [(60 + index, velocity, index / 10, index / 10 + 0.1) for index, velocity in enumerate(velocities)]
    )
    assert_round_trip(tokenizer, score, velocity_tolerance=2)


def test_drums_are_left_out_unless_asked():
    score = Score(notes=make_notes([(60, 90, 0.0, 0.1)]) + make_notes([(36, 90, 0.0, 0.1)], is_drum=True))
    assert "NOTE_ON_36" not in tokens(PerformanceTokenizer(), PerformanceTokenizer().encode(score))
    with_drums = PerformanceTokenizer(include_drums=True)
    assert "NOTE_ON_36" in tokens(with_drums, with_drums.encode(score))


def test_decode_tolerates_model_mistakes():
    tokenizer = PerformanceTokenizer()
    ids = [128 + 62, 60, 60, 256 + 4, 128 + 60]  # stray release, double attack, one never released
    decoded = tokenizer.decode(ids)
    assert [(n.pitch, round(n.start, 6), round(n.end, 6)) for n in decoded.notes] == [(60, 0.0, 0.05), (60, 0.0, 0.05)]
    with pytest.raises(UsageError, match="outside this vocabulary"):
        tokenizer.decode([400])


def test_bad_input_raises_usage_errors():
    with pytest.raises(UsageError, match="num_time_shifts"):
        PerformanceTokenizer(num_time_shifts=0)
    with pytest.raises(UsageError, match="unknown performance token"):
        PerformanceTokenizer().token_to_id("NOTE_ON_128")
    with pytest.raises(UsageError, match="musickit Score"):
        PerformanceTokenizer().encode([60, 62])


def test_config_and_json_round_trip(tmp_path):
    tokenizer = PerformanceTokenizer(num_time_shifts=125, time_shift_ms=8, num_velocity_bins=16, special_tokens=True)
    assert PerformanceTokenizer.from_config(tokenizer.get_config()) == tokenizer
    tokenizer.save(tmp_path / "tokenizer.json")
    loaded = load_representation(tmp_path / "tokenizer.json")
    assert loaded == tokenizer and loaded.vocabulary_size == 256 + 125 + 16 + 3
