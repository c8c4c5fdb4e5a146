"""Frame sampling controls and stateful generation from a PianoRollLSTM."""

import numpy as np
import pytest

from musickit.errors import UsageError
from musickit.generation.piano_roll_sampling import PianoRollSampler, sample_independent_frame
from musickit.generation.sampling_config import SamplingConfig
from musickit.models import PianoRollLSTM


def test_top_k_top_p_and_polyphony_by_hand():
    logits = np.log(np.array([[0.9, 0.6, 0.3, 0.2]], "float32") / (1 - np.array([0.9, 0.6, 0.3, 0.2], "float32")))
    always = np.zeros((1, 4), "float32")  # noise 0: every eligible key sounds
    assert np.asarray(sample_independent_frame(logits, always)).tolist() == [[1, 1, 1, 1]]
    assert np.asarray(sample_independent_frame(logits, always, top_k=2)).tolist() == [[1, 1, 0, 0]]
    # Mass 2.0 in all: 0.9 holds 45%, with 0.6 75%, so top_p 0.7 keeps the first two.
    assert np.asarray(sample_independent_frame(logits, always, top_p=0.7)).tolist() == [[1, 1, 0, 0]]
    assert np.asarray(sample_independent_frame(logits, always, max_keys=3)).tolist() == [[1, 1, 1, 0]]


def test_config_rejects_impossible_values():
    for config, flag in [
        (SamplingConfig(top_p=1.5), "--top-p"),
        (SamplingConfig(temperature=0), "--temperature"),
        (SamplingConfig(key="H"), "--key"),
        (SamplingConfig(scale="blues"), "--scale"),
        (SamplingConfig(repetition_penalty=0.5), "--repetition-penalty"),
    ]:
        with pytest.raises(UsageError, match=flag):
            config.validate()


def test_key_mask_allows_only_scale_pitches():
    bias = SamplingConfig(key="C", scale="major").key_mask_bias(88, 21)
    allowed = {(index + 21) % 12 for index in np.nonzero(bias == 0)[0]}
    assert allowed == {0, 2, 4, 5, 7, 9, 11}


@pytest.mark.parametrize("head", ["independent", "autoregressive"])
def test_generation_is_reproducible_and_obeys_controls(head):
    model = PianoRollLSTM(lstm_units=8, num_layers=1, dense_units=8, head=head, head_hidden_units=8)
    config = SamplingConfig(key="D", scale="pentatonic", max_polyphony=3)
    sampler = PianoRollSampler(model, config)
    primer = np.zeros((4, 88), "float32")
    primer[:, 41] = 1  # D4 held
    first = sampler.generate(primer, num_steps=12, num_samples=2, seed=7)
    assert first.shape == (2, 16, 88)
    np.testing.assert_array_equal(first[:, :4], np.repeat(primer[None], 2, axis=0))
    np.testing.assert_array_equal(first, sampler.generate(primer, num_steps=12, num_samples=2, seed=7))
    generated = first[:, 4:]
    assert generated.sum(axis=-1).max() <= 3
    pitch_classes = {(key + 21) % 12 for key in np.nonzero(generated.sum(axis=(0, 1)))[0]}
    assert pitch_classes <= {2, 4, 6, 9, 11}


def test_repetition_penalty_shortens_held_notes():
    model = PianoRollLSTM(lstm_units=4, num_layers=1, dense_units=0)
    model(np.zeros((1, 1, 88), "float32"))
    bias = model.frame_head.weights[1]
    bias.assign(np.full(88, -20.0, "float32") + 40.0 * (np.arange(88) == 39))  # only C4, almost surely
    primer = np.zeros((1, 88), "float32")
    held = PianoRollSampler(model).generate(primer, 32, seed=0)[0, 1:, 39]
    broken = PianoRollSampler(model, SamplingConfig(repetition_penalty=1e12)).generate(primer, 32, seed=0)[0, 1:, 39]
    assert held.sum() == 32 and broken.sum() < 32


@pytest.mark.parametrize("head", ["independent", "autoregressive"])
def test_onset_metre_generation_gives_consistent_rolls(head):
    model = PianoRollLSTM(
        lstm_units=8, num_layers=1, dense_units=8, head=head, head_hidden_units=8, frame_channels=2, metre_period=16
    )
    sampler = PianoRollSampler(model, SamplingConfig(max_polyphony=3, temperature=2.0))
    primer = np.zeros((4, 88, 2), "float32")
    primer[:, 39, 0] = 1
    primer[0, 39, 1] = 1
    rolls = sampler.generate(primer, num_steps=20, num_samples=2, seed=3)
    assert rolls.shape == (2, 24, 88, 2)
    np.testing.assert_array_equal(rolls, sampler.generate(primer, num_steps=20, num_samples=2, seed=3))
    sustain, onset = rolls[..., 0], rolls[..., 1]
    assert sustain[:, 4:].sum(-1).max() <= 3 and sustain[:, 4:].sum() > 0
    assert np.all(onset <= sustain)
    starts = (sustain[:, 1:] > 0) & (sustain[:, :-1] == 0)
    assert np.all(onset[:, 1:][starts] == 1)  # a key that starts sounding has an onset
    with pytest.raises(UsageError, match=r"\(steps >= 1, 88, 2\)"):
        sampler.generate(np.zeros((4, 88), "float32"), num_steps=2)


def test_key_from_the_primer_with_a_soft_penalty():
    config = SamplingConfig(key="primer", key_penalty=2.0).validate()
    model = PianoRollLSTM(lstm_units=4, num_layers=1, dense_units=0, frame_channels=2)
    primer = np.zeros((16, 88, 2), "float32")
    for step, pitch in enumerate([57, 60, 64, 69, 64, 60, 57, 56] * 2):  # A minor arpeggio, G# leading tone
        primer[step, pitch - 21] = 1
    sampler = PianoRollSampler(model, config)
    assert sampler.primer_key(primer) == "A minor"
    bias = config.key_mask_bias(88, 21, "A minor")
    assert {(index + 21) % 12 for index in np.nonzero(bias == 0)[0]} == {9, 11, 0, 2, 4, 5, 7, 6, 8}
    assert set(np.unique(bias)) == {0.0, -2.0}
    with pytest.raises(UsageError, match="--key-penalty"):
        SamplingConfig(key_penalty=-1.0).validate()


def test_temperature_is_applied_once_by_the_sampler():
    """A sampler at temperature 2 gives the frames a sampler at 1 gives for logits halved by hand."""
    model = PianoRollLSTM(lstm_units=4, num_layers=1, dense_units=0)
    model(np.zeros((1, 1, 88), "float32"))
    kernel, bias = model.frame_head.weights[0], model.frame_head.weights[1]
    primer = (np.random.default_rng(0).random((4, 88)) < 0.1).astype("float32")
    hot = PianoRollSampler(model, SamplingConfig(temperature=2.0)).generate(primer, 8, num_samples=2, seed=1)
    kernel.assign(np.asarray(kernel) / 2.0)
    bias.assign(np.asarray(bias) / 2.0)
    halved = PianoRollSampler(model, SamplingConfig(temperature=1.0)).generate(primer, 8, num_samples=2, seed=1)
    np.testing.assert_array_equal(hot, halved)


def _counting_generation_loop(monkeypatch):
    """Patch the sampler's generation loop to count how often it runs as Python (i.e. is traced, when compiled)."""
    calls = []
    original = PianoRollSampler._generation_loop

    def counted(self, *args):
        calls.append(1)
        return original(self, *args)

    monkeypatch.setattr(PianoRollSampler, "_generation_loop", counted)
    return calls


def test_sample_rolls_compiles_once_per_model_and_config_on_tensorflow(monkeypatch):
    import keras

    from musickit.families.piano_roll_lstm.generation import sample_rolls
    from musickit.representations.piano_roll import PianoRoll

    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.function tracing; JAX compiles per sampler (weights are constants there), torch runs eagerly")
    traces = _counting_generation_loop(monkeypatch)
    model = PianoRollLSTM(lstm_units=4, num_layers=1, dense_units=0, frame_channels=2)  # with onsets
    representation = PianoRoll(steps_per_quarter=1, onset_channel=True)
    primer = np.zeros((2, 88, 2), "float32")
    config = SamplingConfig(temperature=1.5, max_polyphony=2)
    sample_rolls(model, representation, primer, 1, 1, 0, config)
    sample_rolls(model, representation, primer, 1, 1, 1, SamplingConfig(temperature=1.5, max_polyphony=2))  # equal
    assert len(traces) == 1
    # Other shapes (the final samples after the per-epoch ones) trace once more, then reuse that trace.
    assert sample_rolls(model, representation, primer, 2, 3, 0, config).shape == (3, 10, 88, 2)
    sample_rolls(model, representation, primer, 2, 3, 5, config)
    assert len(traces) == 2
    sample_rolls(model, representation, primer, 1, 1, 0, SamplingConfig(temperature=0.5))  # another config
    assert len(traces) == 3


def test_a_later_sampler_sees_the_current_weights():
    model = PianoRollLSTM(lstm_units=4, num_layers=1, dense_units=0)
    model(np.zeros((1, 1, 88), "float32"))
    bias = model.frame_head.weights[1]
    primer = np.zeros((1, 88), "float32")
    bias.assign(np.full(88, -30.0, "float32") + 60.0 * (np.arange(88) == 39))  # only key 39 sounds
    assert PianoRollSampler(model).generate(primer, 4, seed=0)[0, 1:].sum(axis=0)[39] == 4
    bias.assign(np.full(88, -30.0, "float32") + 60.0 * (np.arange(88) == 50))  # as after more training
    later = PianoRollSampler(model).generate(primer, 4, seed=0)[0, 1:].sum(axis=0)
    assert later[50] == 4 and later[39] == 0
