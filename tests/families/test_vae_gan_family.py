"""The VAE-GAN family's pure parts: presets, bar segments, gates, interpolation measures."""

import json

import numpy as np
import pytest

from musickit.errors import UsageError
from musickit.families import get_family
from musickit.families.vae_gan.bars import beat_settings, token_bars, within_bars
from musickit.families.vae_gan.comparison import fit_steps, judged_segments, training_steps
from musickit.families.vae_gan.config import VaeGanConfig
from musickit.families.vae_gan.gates import check_gate, collapse_measures, greedy_samples, longest_run
from musickit.families.vae_gan.measures import interpolate_latents, monotonicity, slerp
from musickit.families.vae_gan.pipeline import StageGateError, cut_segments, make_tokenizer, segment_batches


def test_presets_round_trip_and_the_registry_knows_the_family():
    smoke, cpu, gpu = (VaeGanConfig.preset(name) for name in ("smoke", "cpu", "gpu"))
    assert cpu == VaeGanConfig()
    assert smoke.vae_epochs < cpu.vae_epochs < gpu.vae_epochs and not smoke.enforce_gates and cpu.enforce_gates
    for config in (smoke, cpu, gpu):
        assert VaeGanConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert cpu.replace(last_stage="vae").stages_to_run == ("transformer", "vae")
    assert get_family("vae_gan").MODEL_NAME == "vae_gan"
    with pytest.raises(UsageError, match="--stage must be one of"):
        cpu.replace(last_stage="gan")


def test_segments_are_cut_at_bar_tokens():
    tokenizer = make_tokenizer(VaeGanConfig.preset("smoke"))
    bar, pitch = tokenizer.bar_id, tokenizer.token_to_id("Pitch_60")
    style = tokenizer.style_token_id("bach")
    ids = [style, bar, pitch, pitch, bar, pitch, bar, pitch, pitch, pitch, bar, pitch]
    assert token_bars(ids, {bar: 1.0}, 1.0).tolist() == [-1, 0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3]
    segments = cut_segments(ids, tokenizer, bars_per_segment=2, hop_bars=2, max_tokens=5)
    assert [segment.tolist() for segment in segments] == [
        [bar, pitch, pitch, bar, pitch],
        [bar, pitch, pitch, pitch, bar],
    ]
    performance = make_tokenizer(VaeGanConfig.preset("smoke", tokenizer="performance774"))
    assert performance.vocabulary_size == 774


def test_remi_bars_are_read_by_beats_and_performance_bars_whole():
    tokenizer = make_tokenizer(VaeGanConfig.preset("smoke"))  # 4 grid steps a quarter
    beats, markers = beat_settings(tokenizer, 4)
    position = tokenizer.token_to_id
    assert beats == 4 and markers[tokenizer.bar_id] == 0
    assert [markers[position(f"Position_{step}")] for step in (0, 3, 4, 12, 15)] == [0, 0, 1, 3, 3]
    assert tokenizer.token_to_id("Pitch_60") not in markers
    eighths = beat_settings(tokenizer, 8)[1]  # a 4/4 bar's eighths: two grid steps each
    assert [eighths[position(f"Position_{step}")] for step in (0, 1, 2, 7, 15)] == [0, 0, 1, 3, 7]
    assert beat_settings(tokenizer, 1) == (1, {})
    assert beat_settings(make_tokenizer(VaeGanConfig.preset("smoke", tokenizer="performance")), 4) == (1, {})


def test_collapse_measures_and_the_gate():
    assert longest_run([1, 2, 2, 2, 3, 3]) == 3
    collapsed = collapse_measures([[7] * 40])
    assert collapsed["max_token_run"] == 40 and collapsed["distinct_ratio"] == 1 / 40
    config = VaeGanConfig()
    with pytest.raises(StageGateError, match="repeats one token 40 times"):
        check_gate("transformer", collapsed, config, error=StageGateError)
    assert not check_gate("transformer", collapsed, config.replace(enforce_gates=False))
    healthy = collapse_measures([list(range(30))]) | {"active_units_fraction": 0.01}
    with pytest.raises(StageGateError, match="posterior collapse"):
        check_gate("vae", healthy, config, error=StageGateError)
    assert check_gate("transformer", healthy, config)


def test_greedy_decodes_are_read_to_the_end_of_the_segments_bars():
    class TwoBarDecoder:  # writes two bars, then runs on past them repeating one token
        num_bars, bar_increments, bar_offset = 2, {3: 1.0}, 1.0

        def generate(self, latents, max_length, sampler, stop_token_ids):
            assert sampler == "greedy" and stop_token_ids is None
            return [[3, 5, 6, 3, 7, 3] + [9] * (max_length - 6)]

    decodes = greedy_samples(TwoBarDecoder(), None, max_length=40)
    assert decodes == [[3, 5, 6, 3, 7]]
    assert collapse_measures(decodes)["max_token_run"] == 1
    # Performance events count bars by time shifts: token 4 is half a bar, so the second shift reaches bar 1.
    assert within_bars([4, 8, 4, 8, 4, 8], {4: 0.5}, offset=0.0, bars=1).tolist() == [4, 8]


def test_spherical_interpolation_ends_at_both_latents_and_monotonicity():
    first, second = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    np.testing.assert_allclose(slerp(first, second, 0.0), first, atol=1e-9)
    np.testing.assert_allclose(slerp(first, second, 1.0), second, atol=1e-9)
    middle = slerp(first, second, 0.5)
    assert middle[0] == pytest.approx(middle[1] / 2)  # the angle is halved, the norm moves with it
    latents = interpolate_latents(
        {"global_latent": first[None], "bar_latents": first[None, None]},
        {"global_latent": second[None], "bar_latents": second[None, None]},
        steps=3,
    )
    assert latents["global_latent"].shape == (3, 2) and latents["bar_latents"].shape == (3, 1, 2)
    assert monotonicity([1, 2, 3]) == 1.0 and monotonicity([3, 2, 1]) == -1.0 and monotonicity([1, 1, 1]) == 0.0


def test_the_plain_transformer_trains_as_long_and_reads_the_segments_shifted():
    config = VaeGanConfig(transformer_epochs=2, vae_epochs=3, gan_steps=7)
    assert training_steps(config, steps_per_epoch=10) == 57
    segments = np.array([[5, 6, 7, 0], [8, 9, 0, 0]], "int32")
    inputs, targets, weights = next(iter(segment_batches(segments, batch_size=2, padding_id=0, start_id=1)))
    assert inputs.numpy().tolist() == [[1, 5, 6, 7], [1, 8, 9, 0]]
    assert targets.numpy().tolist() == segments.tolist()
    assert weights.numpy().tolist() == [[1, 1, 1, 0], [1, 1, 0, 0]]


def test_the_plain_transformer_fits_its_steps_in_epochs_and_a_shorter_last_one():
    import keras
    import tensorflow as tf

    batches = tf.data.Dataset.from_tensor_slices((np.ones((4, 2)), np.ones((4, 1)))).batch(2).repeat()
    for steps_per_epoch, fits in ((2, [(2, 2), (1, 1)]), (None, [(1, 5)]), (9, [(1, 5)])):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        calls = []  # (epochs, steps per epoch) of each fit
        keras_fit = model.fit

        def recording_fit(data, epochs, steps_per_epoch, verbose, keras_fit=keras_fit, calls=calls):
            calls.append((epochs, steps_per_epoch))
            return keras_fit(data, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=verbose)

        model.fit = recording_fit
        fit_steps(model, batches, steps=5, steps_per_epoch=steps_per_epoch, verbose=0)
        assert calls == fits and int(model.optimizer.iterations) == 5


def test_transposed_batches_move_pitch_tokens_together_and_stay_in_range():
    # Pitch tokens are ids 10..20; 5 and 3 are other tokens, 0 pads. The second segment's 20 can only go down.
    segments = np.array([[5, 10, 11, 3, 12, 0], [5, 20, 3, 0, 0, 0]], "int32")
    batches = segment_batches(segments, 2, 0, shuffle_seed=0, repeat=True, transpose=2, pitch_ids=range(10, 21))
    shifts = set()
    for inputs, targets, _ in batches.take(20):
        assert inputs.numpy().tolist() == targets.numpy().tolist()  # the VAE reconstructs what it reads
        for row in inputs.numpy():
            original = segments[1] if row[4] == 0 else segments[0]  # only the first segment has a 5th token
            moved = row - original
            pitch = (original >= 10) & (original <= 20)
            assert not moved[~pitch].any() and len(set(moved[pitch])) == 1
            assert -2 <= moved[pitch][0] <= 2 and row[pitch].max() <= 20
            shifts.add(int(moved[pitch][0]))
    assert shifts == {-2, -1, 0, 1, 2}


def test_judged_segments_take_one_segment_a_piece_before_a_second_one():
    class Data:
        tokenizer = make_tokenizer(VaeGanConfig.preset("smoke"))
        pad = tokenizer.pad_id
        segments = {"test": np.array([[10, pad], [11, pad], [12, 13], [14, pad]], "int32")}
        pieces = {"test": np.array([0, 0, 0, 1])}

    chosen = judged_segments(Data, "test", count=2, seed=3)
    assert len(chosen) == 2 and [14] in chosen  # the second piece's only segment, beside one of the first's
    assert sorted(map(tuple, judged_segments(Data, "test", count=9))) == [(10,), (11,), (12, 13), (14,)]
