"""Frame sampling controls and stateful generation from a PianoRollLSTM."""

import numpy as np
import pytest

from musickit.errors import UsageError
from musickit.generation.piano_roll_sampling import FrameSamplingConfig, PianoRollSampler, sample_independent_frame
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
    for config, flag in [(FrameSamplingConfig(top_p=1.5), "--top-p"), (FrameSamplingConfig(temperature=0), "--temperature"),
                         (FrameSamplingConfig(key="H"), "--key"), (FrameSamplingConfig(scale="blues"), "--scale"),
                         (FrameSamplingConfig(repetition_penalty=0.5), "--repetition-penalty")]:  # fmt: skip
        with pytest.raises(UsageError, match=flag):
            config.validate()


def test_key_mask_allows_only_scale_pitches():
    bias = FrameSamplingConfig(key="C", scale="major").key_mask_bias(88, 21)
    allowed = {(index + 21) % 12 for index in np.nonzero(bias == 0)[0]}
    assert allowed == {0, 2, 4, 5, 7, 9, 11}


@pytest.mark.parametrize("head", ["independent", "autoregressive"])
def test_generation_is_reproducible_and_obeys_controls(head):
    model = PianoRollLSTM(lstm_units=8, num_layers=1, dense_units=8, head=head, head_hidden_units=8)
    config = FrameSamplingConfig(key="D", scale="pentatonic", max_polyphony=3)
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
    broken = PianoRollSampler(model, FrameSamplingConfig(repetition_penalty=1e12)).generate(primer, 32, seed=0)[0, 1:, 39]
    assert held.sum() == 32 and broken.sum() < 32
