"""PianoRollLSTM, its frame heads, losses and the Markov baseline."""

import keras
import numpy as np
import pytest
from keras import ops

from musickit.layers.frame_heads import AutoregressiveFrameHead
from musickit.losses.piano_roll import WeightedBinaryCrossentropy, frame_cross_entropy
from musickit.models import PerKeyMarkovBaseline, PianoRollLSTM


def tiny(head="independent"):
    return PianoRollLSTM(lstm_units=8, num_layers=2, dense_units=8, head=head, head_hidden_units=8)


def test_weighted_loss_by_hand():
    # One frame, two keys: key 0 on with logit 0 (p=.5), key 1 off with logit 0.
    targets, logits = np.array([[1.0, 0.0]]), np.zeros((1, 2), "float32")
    assert float(frame_cross_entropy(targets, logits)[0]) == pytest.approx(2 * np.log(2), 1e-6)
    weighted = WeightedBinaryCrossentropy(positive_weight=10.0)(targets[None], logits[None])
    assert float(weighted) == pytest.approx(11 * np.log(2), 1e-5)


def test_autoregressive_head_is_causal_over_keys():
    head = AutoregressiveFrameHead(num_pitches=6, hidden_units=16)
    context = np.random.default_rng(0).normal(size=(1, 4)).astype("float32")
    frame = np.zeros((1, 6), "float32")
    base = ops.convert_to_numpy(head(context, frame))
    for key in range(6):
        changed = frame.copy()
        changed[0, key] = 1.0
        logits = ops.convert_to_numpy(head(context, changed))
        # Changing key k may change only the logits of keys above k.
        np.testing.assert_allclose(logits[0, : key + 1], base[0, : key + 1], atol=1e-6)


def test_autoregressive_sampling_matches_teacher_forced_probabilities():
    """Sampling key by key must use the same conditionals the training pass computes."""
    head = AutoregressiveFrameHead(num_pitches=5, hidden_units=12)
    rng = np.random.default_rng(1)
    head(np.zeros((1, 3), "float32"), np.zeros((1, 5), "float32"))
    for weight in head.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    context = rng.normal(size=(1, 3)).astype("float32")
    noise = rng.random((1, 5), dtype=np.float32)
    frame = ops.convert_to_numpy(head.sample(context, noise))
    probabilities = 1 / (1 + np.exp(-ops.convert_to_numpy(head(context, frame))))
    np.testing.assert_array_equal(frame, (noise < probabilities).astype("float32"))


def test_autoregressive_clash_penalty_sees_minor_seconds_and_ninths():
    head = AutoregressiveFrameHead(num_pitches=16, hidden_units=4)
    head(np.zeros((1, 2), "float32"), np.zeros((1, 16), "float32"))
    for weight in head.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    noise = np.full((1, 16), 0.5, "float32")  # a key sounds when its probability is above one half
    bias = np.full((1, 16), -9.0, "float32")
    bias[0, [0, 1, 4, 13]] = 2.0  # four keys the model wants: 1 and 13 clash with 0
    frame = ops.convert_to_numpy(head.sample(np.zeros((1, 2), "float32"), noise, logit_bias=bias))
    assert np.flatnonzero(frame[0]).tolist() == [0, 1, 4, 13]
    frame = ops.convert_to_numpy(head.sample(np.zeros((1, 2), "float32"), noise, logit_bias=bias, clash_penalty=3.0))
    assert np.flatnonzero(frame[0]).tolist() == [0, 4]  # 2 - 3 < 0: the minor second and the minor ninth go


@pytest.mark.parametrize("head", ["independent", "autoregressive"])
def test_many_to_many_output_and_keras_round_trip(tmp_path, head):
    model = tiny(head)
    frames = (np.random.default_rng(0).random((2, 5, 88)) < 0.1).astype("float32")
    inputs = frames if head == "independent" else {"frames": frames, "next_frames": frames}
    before = ops.convert_to_numpy(model(inputs))
    assert before.shape == (2, 5, 88)
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(ops.convert_to_numpy(restored(inputs)), before, atol=1e-5)
    assert restored.get_config() == model.get_config()


def test_step_equals_full_sequence():
    """Stateful stepping gives the same context as running the whole sequence."""
    model = tiny()
    frames = (np.random.default_rng(2).random((1, 6, 88)) < 0.1).astype("float32")
    full = ops.convert_to_numpy(model(frames))
    states = model.initial_states(1)
    for step in range(6):
        context, states = model.step(frames[:, step], states)
        np.testing.assert_allclose(ops.convert_to_numpy(model.frame_head(context)), full[:, step], atol=1e-5)


def test_autoregressive_call_without_targets_says_what_to_do():
    with pytest.raises(ValueError, match="next_frames"):
        tiny("autoregressive")(np.zeros((1, 2, 88), "float32"))


def test_markov_baseline_by_hand():
    roll = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], "float32")
    baseline = PerKeyMarkovBaseline(smoothing=0.0).fit([roll])
    # key 0: after on -> on once, off once (p=.5); key 1: after off -> on once of twice, after on -> on.
    np.testing.assert_allclose(baseline.transition, [[0.0, 0.5], [0.5, 1.0]])
    smoothed = PerKeyMarkovBaseline().fit([roll])
    assert smoothed.negative_log_likelihood([roll]) > 0
    assert PerKeyMarkovBaseline().fit([np.zeros((4, 3))]).negative_log_likelihood([np.zeros((4, 3))]) < 1.0


def onset_metre_model(head="autoregressive", metre_period=4):
    return PianoRollLSTM(
        num_pitches=6,
        lstm_units=8,
        num_layers=1,
        dense_units=8,
        head=head,
        head_hidden_units=8,
        frame_channels=2,
        metre_period=metre_period,
    )


def test_onset_and_metre_model_round_trip_and_uses_the_positions(tmp_path):
    model = onset_metre_model()
    frames = (np.random.default_rng(3).random((2, 5, 12)) < 0.3).astype("float32")
    inputs = {"frames": frames, "next_frames": frames}
    before = ops.convert_to_numpy(model(inputs))
    assert before.shape == (2, 5, 12)
    # Without positions the first frame is at step 0, so frame t predicts step t + 1.
    explicit = {**inputs, "positions": np.tile(np.arange(1, 6), (2, 1))}
    np.testing.assert_allclose(ops.convert_to_numpy(model(explicit)), before, atol=1e-6)
    model.metre_gate.set_weights([np.arange(8, dtype="float32").reshape(4, 2)])  # zero at first: let it act
    before = ops.convert_to_numpy(model(inputs))
    shifted = {**inputs, "positions": np.tile(np.arange(2, 7), (2, 1))}
    assert not np.allclose(ops.convert_to_numpy(model(shifted)), before, atol=1e-4)
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(ops.convert_to_numpy(restored(inputs)), before, atol=1e-5)
    assert restored.get_config()["frame_channels"] == 2 and restored.get_config()["metre_period"] == 4


def test_metre_step_equals_full_sequence():
    model = onset_metre_model()
    frames = (np.random.default_rng(4).random((1, 6, 12)) < 0.3).astype("float32")
    full = ops.convert_to_numpy(model({"frames": frames[:, :-1], "next_frames": frames[:, 1:]}))
    states = model.initial_states(1)
    for step in range(5):
        context, states = model.step(frames[:, step], states, step + 1)
        logits = model.frame_head(context, frames[:, step + 1]) + model.step_logit_bias(frames[:, step], step + 1)
        logits = ops.convert_to_numpy(logits)
        np.testing.assert_allclose(logits, full[:, step], atol=1e-5)
    with pytest.raises(ValueError, match="position"):
        model.step(frames[:, 0], model.initial_states(1))


def test_onset_pairs_sampling_keeps_sustain_and_onset_consistent():
    """With (sustain, onset) pairs: no onset on a silent key, an onset on every key that starts, cap on sustain."""
    head = AutoregressiveFrameHead(num_pitches=12, hidden_units=8)
    head(np.zeros((1, 3), "float32"), np.zeros((1, 12), "float32"))
    for weight in head.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    previous = np.array([[1, 1, 0, 0, 1, 0]] * 2, "float32")  # keys 0, 1 and 4 sounded
    everything = np.zeros((2, 12), "float32")  # noise 0: every bit that may sound does
    frame = ops.convert_to_numpy(
        head.sample(np.zeros((2, 3), "float32"), everything, channels=2, previous_sustain=previous, max_keys=4)
    ).reshape(2, 6, 2)
    np.testing.assert_array_equal(frame[0, :, 0], [1, 1, 1, 1, 0, 0])  # four keys, the lowest, then full
    np.testing.assert_array_equal(frame[0, :, 1], [1, 1, 1, 1, 0, 0])  # all may re-strike (noise 0)
    nothing = np.full((2, 12), 0.999, "float32")  # noise ~1: no bit sounds unless forced
    logits_on = np.zeros((2, 12), "float32")
    logits_on[:, 0::2] = 50.0  # every sustain bit almost surely on
    frame = ops.convert_to_numpy(
        head.sample(np.zeros((2, 3), "float32"), nothing, logit_bias=logits_on, channels=2, previous_sustain=previous)
    ).reshape(2, 6, 2)
    np.testing.assert_array_equal(frame[0, :, 0], np.ones(6))
    np.testing.assert_array_equal(frame[0, :, 1], 1 - previous[0])  # held keys continue, new keys start
    with pytest.raises(ValueError, match="previous_sustain"):
        head.sample(np.zeros((2, 3), "float32"), nothing, channels=2)


def test_metre_gate_bias_by_hand():
    """The gate's first value goes to keys that would start a note, its second to re-strikes of sounding keys."""
    model = onset_metre_model(metre_period=2)
    model({"frames": np.zeros((1, 1, 12), "float32"), "next_frames": np.zeros((1, 1, 12), "float32")})
    model.metre_gate.set_weights([np.array([[-1.0, -2.0], [-3.0, -4.0]], "float32")])
    frame = np.zeros((1, 12), "float32")
    frame[0, [0, 1, 4]] = 1  # keys 0 (struck) and 2 (held) sound
    bias = ops.convert_to_numpy(model.step_logit_bias(frame, 1)).reshape(6, 2)  # position 1: the second row
    np.testing.assert_array_equal(bias[:, 0], [0, -3, 0, -3, -3, -3])
    np.testing.assert_array_equal(bias[:, 1], [-4, 0, -4, 0, 0, 0])
