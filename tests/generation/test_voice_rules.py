"""The voice floor (``min_voices``) and the clash penalty: piano-roll frames and REMI note rules, by hand."""

import argparse
import json

import numpy as np
import pytest
from keras import ops

from musickit.errors import UsageError
from musickit.generation.piano_roll_sampling import PianoRollSampler, keep_voices
from musickit.generation.processors import FORBIDDEN_LOGIT, RemiNoteRules
from musickit.generation.sampling_config import SamplingConfig
from musickit.models import PianoRollLSTM
from musickit.representations.remi import REMITokenizer
from musickit.runs.sampling_flags import sampling_config_from_flags

COMPACT = REMITokenizer(num_velocity_bins=0, use_programs=False)


def test_keep_voices_switches_on_the_most_probable_silent_keys_by_hand():
    sustain = np.array([[1, 0, 0, 0, 0, 0], [1, 0, 1, 0, 1, 0]], "float32")  # one key; three keys
    logits = np.array([[0.0, 3.0, 2.0, -1.0, 0.5, -4.0], [0.0, 9.0, 0.0, 9.0, 0.0, 9.0]], "float32")
    kept = np.asarray(ops.convert_to_numpy(keep_voices(sustain, logits, 3)))
    assert kept.tolist() == [[1, 1, 1, 0, 0, 0], [1, 0, 1, 0, 1, 0]]  # keys 1 and 2; the full row unchanged
    # A clash penalty of 10: key 1 (next to 0) scores -7, so key 2 (2.0), then key 4 (0.5; key 3 is now next to 2).
    kept = np.asarray(ops.convert_to_numpy(keep_voices(sustain[:1], logits[:1], 3, clash_penalty=10.0)))
    assert kept.tolist() == [[1, 0, 1, 0, 1, 0]]


def test_keep_voices_avoids_a_minor_ninth_as_the_evaluator_counts_it():
    sustain = np.zeros((1, 20), "float32")
    sustain[0, 0] = 1.0  # one key sounds
    logits = np.zeros((1, 20), "float32")
    logits[0, 13], logits[0, 7] = 3.0, 1.0  # the model prefers the key a minor ninth above it
    kept = np.asarray(ops.convert_to_numpy(keep_voices(sustain, logits, 2, clash_penalty=10.0)))
    assert np.flatnonzero(kept[0]).tolist() == [0, 7]  # 13 would clash (-7 after the penalty), so 7
    kept = np.asarray(ops.convert_to_numpy(keep_voices(sustain, logits, 2)))
    assert np.flatnonzero(kept[0]).tolist() == [0, 13]  # without the penalty, the model's choice


@pytest.mark.parametrize("head", ["independent", "autoregressive"])
def test_sampled_frames_keep_the_voice_floor_and_consistent_onsets(head):
    model = PianoRollLSTM(lstm_units=4, num_layers=1, dense_units=0, head=head, head_hidden_units=4, frame_channels=2)
    primer = np.zeros((2, 88, 2), "float32")
    primer[:, 39, 0] = 1.0  # C4 held from step 0
    primer[0, 39, 1] = 1.0
    sampler = PianoRollSampler(model)  # builds the model
    for weight in model.frame_head.weights:
        if tuple(weight.shape) == (176,):  # the output bias: every bit very unlikely, so the model alone goes silent
            weight.assign(np.full(176, -8.0, "float32"))
    del sampler
    config = SamplingConfig(max_polyphony=3, min_voices=3, clash_penalty=2.0)
    rolls = PianoRollSampler(model, config).generate(primer, 6, num_samples=2, seed=3)
    sustain, onset = rolls[..., 0], rolls[..., 1]
    assert (sustain[:, 2:].sum(axis=-1) == 3).all()  # exactly three keys in every generated frame
    previous = np.concatenate([np.zeros_like(sustain[:, :1]), sustain[:, :-1]], axis=1)
    assert not (onset > sustain).any()  # an onset only where a key sounds
    assert not ((sustain > 0) & (previous == 0) & (onset == 0)).any()  # every key that starts has an onset
    unfloored = PianoRollSampler(model, config.replace(min_voices=0)).generate(primer, 6, num_samples=2, seed=3)
    assert unfloored[:, 2:, :, 0].sum(axis=-1).max() < 3  # the model alone does not keep three


def _longest_runs(sustain):
    """The longest run of consecutive sounding frames of any key, per roll (``(rolls, steps, keys)`` 0/1)."""
    runs, longest = np.zeros(sustain.shape[::2]), np.zeros(sustain.shape[0])
    for step in range(sustain.shape[1]):
        runs = (runs + 1) * sustain[:, step]
        longest = np.maximum(longest, runs.max(axis=-1))
    return longest


def test_the_voice_floor_does_not_bring_back_a_key_held_for_a_whole_repetition_window():
    model = PianoRollLSTM(lstm_units=4, num_layers=1, dense_units=0, head="independent", frame_channels=2)
    sampler = PianoRollSampler(model)
    bias = np.full(176, -9.0, "float32")  # the model alone goes silent: the floor chooses every key...
    bias[[2 * 39, 2 * 43, 2 * 46]] = -6.0  # ...always C4, E4 and G4 first, as long as it may
    for weight in model.frame_head.weights:
        if tuple(weight.shape) == (176,):
            weight.assign(bias)
    del sampler
    primer = np.zeros((1, 88, 2), "float32")
    floor = SamplingConfig(max_polyphony=3, min_voices=3, repetition_window=2)
    held = PianoRollSampler(model, floor).generate(primer, 8, num_samples=2, seed=0)[:, 1:, :, 0]
    assert (_longest_runs(held) == 8).all()  # without a penalty the floor keeps the same keys: drones
    moving = PianoRollSampler(model, floor.replace(repetition_penalty=1.5)).generate(primer, 8, num_samples=2, seed=0)
    sustain = moving[:, 1:, :, 0]
    assert (sustain.sum(axis=-1) == 3).all() and (_longest_runs(sustain) <= 2).all()  # three keys, none past 2 frames


def _allowed(rules, names):
    ids = [COMPACT.token_to_id(name) for name in names]
    history = np.zeros((1, len(ids) + 4), "int32")
    history[0, : len(ids)] = ids
    logits = rules(np.zeros((1, COMPACT.vocabulary_size), "float32"), history, len(ids))
    logits = np.asarray(ops.convert_to_numpy(logits))[0]
    return {COMPACT.id_to_token(i): float(logits[i]) for i in np.flatnonzero(logits > FORBIDDEN_LOGIT / 2)}


def test_remi_voice_floor_stops_moving_on_where_voices_drop():
    rules = RemiNoteRules.from_tokenizer(COMPACT, max_polyphony=4, min_voices=2, no_duplicates=True)
    one_voice = ["Bar", "Position_0", "Pitch_60", "Duration_16"]
    allowed = _allowed(rules, one_voice)
    moving_on = {name for name in allowed if name.startswith("Position_") or name == "Bar"}
    assert moving_on == {"Position_0"}  # a second note first (going back to Position_0 is the grammar mask's to forbid)
    assert "Pitch_64" in allowed and "Pitch_60" not in allowed
    # C4 for the bar, E4 for 4 steps: two voices over steps 0..3, so Position_1..4 only, no Bar.
    allowed = _allowed(rules, one_voice + ["Pitch_64", "Duration_4"])
    positions = sorted(int(name.split("_")[1]) for name in allowed if name.startswith("Position_"))
    assert positions == [0, 1, 2, 3, 4] and "Bar" not in allowed  # Position_0 is the grammar mask's to forbid
    assert "Bar" in _allowed(rules, ["STYLE_bach"])  # the first Bar opens the piece
    # Full now (the cap is 2), one voice ending at step 2: on a 16th-step floor, moving on stops there.
    every_step = dict(max_polyphony=2, min_voices=2, ascending_pitches=True, floor_grid=1, offbeat_floor_penalty=0)
    allowed = _allowed(RemiNoteRules.from_tokenizer(COMPACT, **every_step), one_voice + ["Pitch_64", "Duration_2"])
    assert {name for name in allowed if name.startswith("Position_")} == {"Position_2"}
    # The tokenizer's floor binds on the beat (step 4) and costs 1 logit past the off-beat 8th (step 2).
    capped = RemiNoteRules.from_tokenizer(COMPACT, max_polyphony=2, min_voices=2, ascending_pitches=True)
    allowed = _allowed(capped, one_voice + ["Pitch_64", "Duration_2"])
    positions = {name: value for name, value in allowed.items() if name.startswith("Position_")}
    assert positions == {"Position_2": 0.0, "Position_3": -1.0, "Position_4": -1.0}
    # Both held to the bar line: the next Bar is open.
    assert "Bar" in _allowed(rules, one_voice + ["Pitch_64", "Duration_16"])
    with pytest.raises(UsageError, match="min_voices"):
        RemiNoteRules.from_tokenizer(COMPACT, max_polyphony=2, min_voices=3)


def test_remi_clash_penalty_lowers_pitches_a_semitone_from_sounding_notes():
    rules = RemiNoteRules.from_tokenizer(COMPACT, no_duplicates=False, clash_penalty=3.0)
    allowed = _allowed(rules, ["Bar", "Position_0", "Pitch_60", "Duration_8", "Pitch_67", "Duration_2"])
    assert [allowed[f"Pitch_{pitch}"] for pitch in (59, 61, 62, 66, 68, 64)] == [-3.0, -3.0, 0.0, -3.0, -3.0, 0.0]
    # At step 2 (Position_2) G4 has ended: only C4's neighbours clash.
    later = _allowed(rules, ["Bar", "Position_0", "Pitch_60", "Duration_8", "Pitch_67", "Duration_2", "Position_2"])
    assert later["Pitch_61"] == -3.0 and later["Pitch_68"] == 0.0
    # Minor ninths clash too, as the evaluator counts them: C#5 and B3 against the C4 (G4 has ended).
    assert later["Pitch_73"] == -3.0 and later["Pitch_47"] == -3.0 and later["Pitch_72"] == 0.0


def test_config_flags_and_old_sampling_files():
    with pytest.raises(UsageError, match="--min-voices"):
        SamplingConfig(min_voices=-1).validate()
    with pytest.raises(UsageError, match="--clash-penalty"):
        SamplingConfig(clash_penalty=-0.5).validate()
    flags = argparse.Namespace(min_voices=4, clash_penalty=None, temperature=None)
    config = sampling_config_from_flags(flags, SamplingConfig(max_polyphony=4, clash_penalty=2.0))
    assert (config.min_voices, config.clash_penalty) == (4, 2.0)
    # A sampling.json written before these settings existed keeps the base's values for them.
    old = json.loads('{"temperature": 0.7, "max_polyphony": 4, "no_duplicates": true}')
    loaded = SamplingConfig.from_dict(old, base=SamplingConfig(min_voices=3, max_polyphony=4))
    assert (loaded.temperature, loaded.min_voices, loaded.clash_penalty) == (0.7, 3, 0.0)
    assert SamplingConfig.from_dict(old).min_voices == 0


def test_a_lower_polyphony_cap_lowers_the_voice_floor_instead_of_failing():
    # The families default to a floor of 4; asking for one voice at most must give one voice, not an error.
    config = SamplingConfig(min_voices=4, max_polyphony=1).validate()
    assert config.voice_floor == 1
    assert SamplingConfig(min_voices=4).voice_floor == 4  # no cap: the floor as set
    assert SamplingConfig(min_voices=2, max_polyphony=4).voice_floor == 2
