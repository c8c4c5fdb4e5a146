import numpy as np
import pytest
from bach_corpus import bach_scores
from conftest import make_notes, make_score

from musickit.errors import UsageError
from musickit.music import Score, TempoChange, quantize
from musickit.representations.loading import load_representation
from musickit.representations.piano_roll import PianoRoll

# At 120 qpm and 4 steps per quarter one step is 0.125 s.
STEP = 0.125
C4 = 60 - 21  # column of middle C in an 88-key roll


def notes_of(score):
    return sorted((note.pitch, note.velocity, note.start, note.end) for note in score.notes)


def test_encode_marks_sounding_steps():
    score = make_score([(60, 100, 0.0, 4 * STEP), (64, 100, 2 * STEP, 6 * STEP)])
    roll = PianoRoll().encode(score)
    assert roll.shape == (6, 88) and roll.dtype == np.float32
    assert roll[:, C4].tolist() == [1, 1, 1, 1, 0, 0]
    assert roll[:, C4 + 4].tolist() == [0, 0, 1, 1, 1, 1]
    assert roll.sum() == 8


def test_encode_follows_the_tempo_map():
    # 60 qpm: one quarter is a second, so 1 s is 4 steps.
    score = make_score([(60, 100, 0.0, 1.0)], qpm=60.0)
    assert PianoRoll().encode(score)[:, C4].tolist() == [1, 1, 1, 1]


def test_velocity_and_onset_channels():
    score = make_score([(60, 127, 0.0, 2 * STEP), (62, 64, STEP, 3 * STEP)])
    roll = PianoRoll(onset_channel=True, velocity=True).encode(score)
    assert roll.shape == (3, 88, 2)
    assert roll[:, C4, 0].tolist() == [1.0, 1.0, 0.0]
    assert roll[:, C4, 1].tolist() == [1.0, 0.0, 0.0]
    np.testing.assert_allclose(roll[:, C4 + 2, 0], [0, 64 / 127, 64 / 127], rtol=1e-6)
    np.testing.assert_allclose(roll[:, C4 + 2, 1], [0, 64 / 127, 0], rtol=1e-6)


def test_counts_document_each_rule():
    score = make_score(
        [
            (60, 90, 0.0, 4 * STEP),  # cut at step 2 by the next C4
            (60, 90, 2 * STEP, 3 * STEP),
            (20, 90, 0.0, STEP),  # below A0: dropped
            (109, 90, 0.0, STEP),  # above C8: dropped
            (64, 90, 0.0, 0.01),  # rounds to zero length: kept one step
            (67, 90, 0.0, STEP),  # two G4 on one step: one kept, the longer
            (67, 80, 0.0, 2 * STEP),
        ]
    )
    score.notes += make_notes([(36, 100, 0.0, STEP)], is_drum=True)
    roll, counts = PianoRoll(onset_channel=True).encode_with_counts(score)
    assert counts == {
        "notes": 8,
        "drum_notes_excluded": 1,
        "out_of_range_notes_dropped": 2,
        "lengthened_zero_length_notes": 1,
        "duplicate_onsets_merged": 1,
        "overlapping_notes_cut": 1,
        "notes_encoded": 4,
    }
    assert roll[:, C4, 0].tolist() == [1, 1, 1]
    assert roll[:, C4, 1].tolist() == [1, 0, 1]  # the overlap stays visible as a second onset
    assert roll[:, C4 + 4, 0].tolist() == [1, 0, 0]
    assert roll[:, C4 + 7, 0].tolist() == [1, 1, 0]


def test_drums_are_kept_when_asked():
    score = Score(notes=make_notes([(36, 100, 0.0, STEP)], is_drum=True), tempos=[TempoChange(0.0, 120.0)])
    assert PianoRoll().encode(score).shape == (0, 88)
    assert PianoRoll(include_drums=True).encode(score)[0, 36 - 21] == 1


def test_decode_without_onsets_joins_repeated_notes():
    score = make_score([(60, 90, 0.0, 2 * STEP), (60, 90, 2 * STEP, 4 * STEP)])
    decoded = PianoRoll().decode(PianoRoll().encode(score))
    assert notes_of(decoded) == [(60, 90, 0.0, 4 * STEP)]


@pytest.mark.parametrize("velocity", [False, True])
def test_round_trip_is_exact_on_grid_aligned_input(velocity):
    tuples = [
        (60, 100, 0.0, 2 * STEP),
        (60, 50, 2 * STEP, 4 * STEP),  # repeated key, back to back
        (64, 70, 0.0, 8 * STEP),  # held under a chord change
        (67, 90, 4 * STEP, 5 * STEP),
        (21, 30, 5 * STEP, 6 * STEP),  # lowest and highest keys
        (108, 127, 5 * STEP, 7 * STEP),
    ]
    representation = PianoRoll(onset_channel=True, velocity=velocity)
    decoded = representation.decode(representation.encode(make_score(tuples)), velocity=90)
    expected = [(p, v if velocity else 90, s, e) for p, v, s, e in tuples]
    assert notes_of(decoded) == sorted(expected)
    assert decoded.tempos == [TempoChange(0.0, 120.0)]


def test_decode_reads_onsets_and_uses_qpm_and_program():
    roll = np.zeros((4, 88, 2), dtype=np.float32)
    roll[:, C4, 0] = 1
    roll[[0, 1, 3], C4, 1] = 1
    decoded = PianoRoll(onset_channel=True).decode(roll, qpm=60.0, velocity=70, program=40)
    # 60 qpm, 4 steps per quarter: a step is a quarter of a second.
    assert notes_of(decoded) == [(60, 70, 0.0, 0.25), (60, 70, 0.25, 0.75), (60, 70, 0.75, 1.0)]
    assert {note.program for note in decoded.notes} == {40}


def test_encode_accepts_a_quantized_score_on_its_grid():
    score = make_score([(60, 90, 0.0, 0.5)])
    np.testing.assert_array_equal(PianoRoll().encode(quantize(score, 4)), PianoRoll().encode(score))
    with pytest.raises(UsageError, match="steps per quarter"):
        PianoRoll().encode(quantize(score, 2))


def test_bad_settings_and_shapes_raise_usage_errors():
    with pytest.raises(UsageError, match="MIDI range"):
        PianoRoll(lowest_pitch=100, num_pitches=88)
    with pytest.raises(UsageError, match="steps_per_quarter"):
        PianoRoll(steps_per_quarter=0)
    with pytest.raises(UsageError, match=r"shape \(steps, 88, 2\)"):
        PianoRoll(onset_channel=True).decode(np.zeros((4, 88)))


def test_config_and_json_round_trip(tmp_path):
    representation = PianoRoll(steps_per_quarter=2, lowest_pitch=36, num_pitches=48, onset_channel=True)
    assert PianoRoll.from_config(representation.get_config()) == representation
    path = tmp_path / "run" / "representation.json"
    representation.save(path)
    assert load_representation(path) == representation
    assert PianoRoll.load(path) == representation
    assert representation.vocabulary_size is None


def test_load_rejects_unusable_files(tmp_path):
    path = tmp_path / "representation.json"
    with pytest.raises(UsageError, match="no representation file"):
        load_representation(path)
    path.write_text("{not json")
    with pytest.raises(UsageError, match="not a representation JSON"):
        load_representation(path)
    path.write_text('{"class": "Nonexistent", "config": {}}')
    with pytest.raises(UsageError, match="unknown representation class 'Nonexistent'"):
        load_representation(path)
    path.write_text('{"class": "PianoRoll", "config": {"colour": 1}}')
    with pytest.raises(UsageError, match="does not fit PianoRoll"):
        load_representation(path)


@pytest.mark.slow
@pytest.mark.parametrize("onset_channel", [False, True])
def test_bach_corpus_round_trip(onset_channel):
    representation = PianoRoll(onset_channel=onset_channel)
    for name, score in bach_scores():
        grid_aligned = quantize(score, representation.steps_per_quarter)
        roll = representation.encode(grid_aligned)
        assert roll.sum() > 0, name
        again = representation.encode(representation.decode(roll))
        np.testing.assert_array_equal(again, roll, err_msg=name)
