"""MusicVAE: latents reach the decoder, fit() trains it with the KL schedule, cached decoding, .keras round trip."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from musickit.errors import UsageError
from musickit.layers.latent import bar_indices, bar_pooling, beat_indices
from musickit.losses.sequence import SequenceCrossEntropy
from musickit.losses.vae import free_bits_kl, gaussian_kl, kl_weight
from musickit.models.music_vae import MusicVAE
from musickit.models.parameter_matching import count_parameters
from tests.conftest import give_latent_projections_weights

BAR = 3  # the toy vocabulary's bar token
BEAT_ONE = 10  # in the beat tests, a position token that opens the second beat
SEGMENTS = np.array([[3, 5, 6, 3, 7, 8, 0, 0], [3, 9, 3, 5, 5, 6, 7, 0]])
BEAT_SEGMENTS = np.array([[3, 5, 10, 6, 3, 7, 10, 8], [3, 9, 3, 5, 10, 5, 6, 7]])


def tiny_model(**changes):
    settings = dict(
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=32,
        encoder_layers=1,
        num_bars=2,
        global_latent_dim=4,
        bar_latent_dim=2,
        bar_increments={BAR: 1.0},
        bos_id=1,
        kl_anneal_steps=4,
        seed=1,
    )
    return MusicVAE(vocabulary_size=12, **(settings | changes))


def test_bar_indices_count_bar_tokens_and_time_shares():
    assert keras.ops.convert_to_numpy(bar_indices(SEGMENTS[:1], np.eye(12)[BAR], 2, offset=1.0)).tolist() == [
        [0, 0, 0, 1, 1, 1, 1, 1]
    ]
    quarter = np.zeros(12, "float32")
    quarter[4] = 0.25  # a time shift of a quarter of a bar (performance events: offset 0)
    assert keras.ops.convert_to_numpy(bar_indices(np.array([[4, 4, 4, 4, 5, 4]]), quarter, 3)).tolist() == [
        [0, 0, 0, 1, 1, 1]
    ]
    pooled = bar_pooling(np.arange(4.0).reshape(1, 4, 1), np.array([[0, 0, 1, 1]]), np.array([[1, 1, 1, 0]]), 2)
    assert keras.ops.convert_to_numpy(pooled).ravel().tolist() == [0.5, 2.0]


def test_beats_are_set_by_markers_and_reset_by_the_bar():
    markers = np.full(12, -1, "int32")
    markers[BAR], markers[BEAT_ONE] = 0, 1
    assert keras.ops.convert_to_numpy(beat_indices(BEAT_SEGMENTS, markers)).tolist() == [
        [0, 0, 1, 1, 0, 0, 1, 1],
        [0, 0, 0, 0, 1, 1, 1, 1],
    ]
    assert keras.ops.convert_to_numpy(beat_indices(np.array([[5, 5, 10, 5]]), markers)).tolist() == [[0, 0, 1, 1]]


def test_a_bar_latent_read_by_beats_sits_in_its_beat_slot():
    model = tiny_model(beats_per_bar=2, marker_beats={BAR: 0, BEAT_ONE: 1})
    model.build()
    assert model.latent_features == 4 + 2 * 2
    bars, beats = np.array([[0, 0, 1]]), np.array([[0, 1, 1]])
    bar_latents = np.array([[[1.0, 2.0], [3.0, 4.0]]], "float32")
    features = keras.ops.convert_to_numpy(model.token_latents(bars, beats, np.zeros((1, 4), "float32"), bar_latents))
    assert features[0, :, 4:].tolist() == [[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.0], [0.0, 0.0, 3.0, 4.0]]
    # The encoder pools each beat apart: its bar posterior reads two beats of hidden_dim features side by side.
    assert tuple(model.bar_posterior.mean_projection.kernel.shape) == (2 * 16, 2)
    with pytest.raises(UsageError, match="marker_beats"):
        tiny_model(beats_per_bar=2)


def test_kl_free_bits_and_schedules_by_hand():
    kl = gaussian_kl(np.array([[2.0, 0.0]], "float32"), np.zeros((1, 2), "float32"))
    assert keras.ops.convert_to_numpy(kl).tolist() == [[2.0, 0.0]]  # mean^2 / 2
    assert float(free_bits_kl(kl, free_bits=0.5)) == 2.5
    assert float(kl_weight(3, "monotonic", warmup_steps=2, anneal_steps=4)) == 0.25
    assert float(kl_weight(1, "monotonic", warmup_steps=2, anneal_steps=4)) == 0.0
    cyclical = [float(kl_weight(step, "cyclical", anneal_steps=8, cycles=2)) for step in (0, 1, 2, 3, 4, 5, 9)]
    assert cyclical == [0.0, 0.5, 1.0, 1.0, 0.0, 0.5, 1.0]


@pytest.mark.usefixtures("eager_fits")
@pytest.mark.long
def test_fit_trains_with_the_kl_term_and_the_step_counter():
    model = tiny_model(token_dropout=0.2, mask_id=2)
    model.build()  # every layer now, not by a first eager call (on JAX one compiled program per operation)
    nll = keras.metrics.SparseCategoricalCrossentropy(from_logits=True, name="nll")
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=SequenceCrossEntropy(), weighted_metrics=[nll])
    # predict_on_batch: one compiled program (on JAX an eager call compiles each operation on its own)
    before = keras.ops.convert_to_numpy(model.predict_on_batch(SEGMENTS)).copy()
    history = model.fit(SEGMENTS, SEGMENTS, sample_weight=(SEGMENTS != 0).astype("float32"), epochs=3, verbose=0)
    assert float(keras.ops.convert_to_numpy(model.training_step)) == 3.0  # the KL schedule's clock
    assert not np.allclose(before, keras.ops.convert_to_numpy(model.predict_on_batch(SEGMENTS)))
    # The KL cost, added by call, is in the training loss: weight 0 at step 0, then 0.25 and 0.5 (monotonic,
    # 4 annealing steps); free bits keep it at least 0.1 nats for each of the 8 latent dimensions.
    loss, reconstruction = history.history["loss"], history.history["nll"]
    assert loss[0] == pytest.approx(reconstruction[0], rel=1e-4)
    assert loss[2] - reconstruction[2] > 0.5 * 0.8 / 8  # weight x free-bits floor / tokens per segment (<= 8)


def test_the_decoder_starts_as_the_language_model_and_reads_the_latents_once_trained():
    model = tiny_model()
    decoder_ids = model.decoder_inputs(SEGMENTS)
    first = model.decode_latents(decoder_ids, np.zeros((2, 4), "float32"), np.zeros((2, 2, 2), "float32"))
    second = model.decode_latents(decoder_ids, np.ones((2, 4), "float32"), np.zeros((2, 2, 2), "float32"))
    # The latent projections start at zero: the VAE stage begins from the language model the first stage trained.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(first), keras.ops.convert_to_numpy(second))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(first), keras.ops.convert_to_numpy(model.decode_latents(decoder_ids)), atol=1e-6
    )
    give_latent_projections_weights(model)
    first = model.decode_latents(decoder_ids, np.zeros((2, 4), "float32"), np.zeros((2, 2, 2), "float32"))
    second = model.decode_latents(decoder_ids, np.ones((2, 4), "float32"), np.zeros((2, 2, 2), "float32"))
    assert not np.allclose(keras.ops.convert_to_numpy(first), keras.ops.convert_to_numpy(second))
    bars_only = np.zeros((2, 2, 2), "float32")
    bars_only[:, 1] = 3.0  # the second bar's latent changes only tokens of the second bar
    third = model.decode_latents(decoder_ids, np.zeros((2, 4), "float32"), bars_only)
    changed = ~np.isclose(keras.ops.convert_to_numpy(first), keras.ops.convert_to_numpy(third)).all(axis=-1)
    assert changed[0].tolist() == [False, False, False, False, True, True, True, True]


@pytest.mark.parametrize("beats", [1, 2], ids=["whole-bars", "beats"])
def test_cached_generation_matches_full_recompute_and_round_trip(tmp_path, beats):
    markers = {BAR: 0, BEAT_ONE: 1} if beats > 1 else None
    model = tiny_model(beats_per_bar=beats, marker_beats=markers)
    model.build()
    give_latent_projections_weights(model)  # the latents (and, with beats, each beat's slot) change the logits
    latents = model.sample_prior(2, seed=3)
    cached = model.generate(latents, max_length=12, stop_token_ids=None)
    assert cached == model.generate(latents, max_length=12, stop_token_ids=None, use_cache=False)
    assert [len(row) for row in cached] == [11, 11]
    # Decoding from a teacher-forced prefix, one token at a time, gives the full pass's logits.
    full = keras.ops.convert_to_numpy(model.decode_latents(BEAT_SEGMENTS, *latents.values()))
    cache = model.empty_cache(2, BEAT_SEGMENTS.shape[1])
    for index in range(BEAT_SEGMENTS.shape[1]):
        logits, _, cache = model.decode_with_cache(BEAT_SEGMENTS[:, index : index + 1], cache, index, latents)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(logits)[:, 0], full[:, index], atol=1e-4)
    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(SEGMENTS)), keras.ops.convert_to_numpy(model(SEGMENTS)), atol=1e-5
    )
    assert loaded.generate(latents, max_length=12, stop_token_ids=None) == cached


def test_a_bare_script_loads_a_saved_vae_through_load_model_file(tmp_path):
    # load_model_file registers every model class itself: a script importing nothing else of musickit loads a run.
    model = tiny_model()
    model.build()
    path = tmp_path / "vae.keras"
    model.save(path)
    script = "import sys; from musickit.runs.folder import load_model_file; print(type(load_model_file(sys.argv[1])))"
    environment = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(__file__)))}
    command = [sys.executable, "-c", script, str(path)]
    completed = subprocess.run(command, env=environment, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().endswith("MusicVAE'>")


def test_a_fitted_prior_samples_the_latents_gaussian_and_is_saved(tmp_path):
    model = tiny_model(fitted_prior=True)  # 4 global + 2 bars x 2 = 8 latent dimensions
    model.build()
    standard = model.sample_prior(4000, seed=0)  # unfitted: N(0, I)
    assert abs(standard["global_latent"].std() - 1.0) < 0.05
    # Posterior means along one direction: global dimension 0 and bar 1's dimension 1 move together (spread 2),
    # every other one sits at 3; each posterior adds its own variance 0.25 on every dimension.
    direction = np.random.default_rng(0).standard_normal(5000)
    posterior = {
        "global_mean": np.stack([2.0 * direction, *([np.full(5000, 3.0)] * 3)], axis=1),
        "bar_mean": np.stack([np.full((5000, 2), 3.0), np.stack([np.full(5000, 3.0), 2.0 * direction], 1)], 1),
        "global_log_variance": np.full((5000, 4), np.log(0.25)),
        "bar_log_variance": np.full((5000, 2, 2), np.log(0.25)),
    }
    model.fit_prior(posterior)
    samples = model.sample_prior(20000, seed=1)
    flat = np.concatenate([samples["global_latent"], samples["bar_latents"].reshape(20000, -1)], axis=1)
    assert np.allclose(flat.mean(axis=0), [0, 3, 3, 3, 3, 3, 3, 0], atol=0.05)
    covariance = np.cov(flat, rowvar=False)
    assert covariance[0, 0] == pytest.approx(4.25, rel=0.05) and covariance[0, 7] == pytest.approx(4.0, rel=0.05)
    assert covariance[1, 1] == pytest.approx(0.25, rel=0.05) and abs(covariance[1, 7]) < 0.05
    cooler = model.sample_prior(20000, temperature=0.5, seed=1)["global_latent"]
    assert cooler[:, 0].std() == pytest.approx(0.5 * np.sqrt(4.25), rel=0.05)
    path = str(tmp_path / "fitted.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    assert np.allclose(loaded.sample_prior(3, seed=2)["bar_latents"], model.sample_prior(3, seed=2)["bar_latents"])
    with pytest.raises(UsageError, match="fitted_prior=True"):
        tiny_model().fit_prior(posterior)


def test_a_mixture_prior_samples_near_the_training_posteriors_and_is_saved(tmp_path):
    model = tiny_model(fitted_prior=True, prior_components=4)
    model.build()
    # A baseline is matched to the learned weights: not the 4 components' means and scales over the 4 global
    # and 2 x 2 bar dimensions, nor the KL schedule's step counter.
    assert count_parameters(model) - count_parameters(model, trainable_only=True) == 2 * 4 * 8 + 1
    assert abs(model.sample_prior(4000, seed=0)["global_latent"].std() - 1.0) < 0.05  # unfitted: N(0, I)
    # Two training segments: one at 5 on every dimension (spread 0.1), one at -5 (spread 0.2).
    posterior = {
        "global_mean": np.array([[5.0] * 4, [-5.0] * 4]),
        "bar_mean": np.array([[[5.0] * 2] * 2, [[-5.0] * 2] * 2]),
        "global_log_variance": np.log(np.array([[0.01] * 4, [0.04] * 4])),
        "bar_log_variance": np.log(np.array([[[0.01] * 2] * 2, [[0.04] * 2] * 2])),
    }
    model.fit_prior(posterior)  # 4 components from 2 posteriors: each kept twice
    assert sorted(np.asarray(model.prior_mean)[:, 0]) == [-5, -5, 5, 5]
    samples = model.sample_prior(20000, seed=1)
    flat = np.concatenate([samples["global_latent"], samples["bar_latents"].reshape(20000, -1)], axis=1)
    upper = flat[:, 0] > 0
    assert 0.48 < upper.mean() < 0.52  # each posterior as often as the other
    assert np.all(np.sign(flat) == np.where(upper, 1, -1)[:, None])  # a sample stays with its component
    assert flat[upper].std(axis=0) == pytest.approx(np.full(8, 0.1), rel=0.05)
    assert flat[~upper].std(axis=0) == pytest.approx(np.full(8, 0.2), rel=0.05)
    cooler = model.sample_prior(20000, temperature=0.5, seed=1)["global_latent"]
    assert cooler[cooler[:, 0] > 0, 0].std() == pytest.approx(0.05, rel=0.05)
    path = str(tmp_path / "mixture.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    assert loaded.prior_components == 4
    assert np.allclose(loaded.sample_prior(3, seed=2)["bar_latents"], model.sample_prior(3, seed=2)["bar_latents"])
    with pytest.raises(UsageError, match="prior_components"):
        tiny_model(prior_components=4)


def test_bad_settings_are_one_line_errors():
    with pytest.raises(UsageError, match="bar_increments"):
        tiny_model(bar_increments={})
    with pytest.raises(UsageError, match="mask_id"):
        tiny_model(token_dropout=0.1)
    with pytest.raises(UsageError, match="bar_latents"):
        tiny_model().generate({"global_latent": np.zeros((1, 4)), "bar_latents": np.zeros((1, 3, 2))}, max_length=4)
