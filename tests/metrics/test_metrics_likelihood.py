"""Frame NLL and perplexity on every backend, against NumPy by hand."""

import math

import keras
import numpy as np
import pytest

from musickit.metrics.likelihood import FrameNegativeLogLikelihood, nll_nats_per_frame, perplexity


def test_nll_matches_numpy_and_logits_agree():
    rng = np.random.default_rng(0)
    probabilities = rng.uniform(0.05, 0.95, size=(2, 5, 88)).astype("float32")
    targets = (rng.uniform(size=(2, 5, 88)) < 0.1).astype("float32")
    expected = -(targets * np.log(probabilities) + (1 - targets) * np.log(1 - probabilities)).sum(-1).mean()
    assert float(nll_nats_per_frame(probabilities, targets)) == pytest.approx(expected, rel=1e-5)
    logits = np.log(probabilities / (1 - probabilities))
    assert float(nll_nats_per_frame(logits, targets, from_logits=True)) == pytest.approx(expected, rel=1e-4)


def test_uniform_baseline_and_mask():
    half = np.full((1, 4, 88), 0.5)
    assert float(nll_nats_per_frame(half, np.zeros((1, 4, 88)))) == pytest.approx(88 * math.log(2), rel=1e-6)
    certain = np.concatenate([np.full((1, 2, 88), 1e-9), np.full((1, 2, 88), 0.5)], axis=1)
    mask = np.array([[1, 1, 0, 0]])  # the two padded frames are left out
    assert float(nll_nats_per_frame(certain, np.zeros((1, 4, 88)), mask=mask)) == pytest.approx(0.0, abs=1e-3)


def test_perplexity():
    assert float(perplexity(np.log([2.0, 8.0]))) == pytest.approx(4.0, rel=1e-5)  # exp(mean log) = geometric mean
    assert float(perplexity(np.log([2.0, 8.0, 1000.0]), mask=[1, 1, 0])) == pytest.approx(4.0, rel=1e-5)
    assert float(perplexity(0.0)) == pytest.approx(1.0)


def test_streaming_metric_in_a_compiled_model_and_saved_file(tmp_path):
    inputs = keras.Input((4, 3))
    outputs = keras.layers.Dense(88, activation="sigmoid", kernel_initializer="zeros")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[FrameNegativeLogLikelihood()])
    results = model.evaluate(np.zeros((2, 4, 3)), np.zeros((2, 4, 88)), return_dict=True, verbose=0)
    assert results["frame_nll"] == pytest.approx(88 * math.log(2), rel=1e-4)  # zero weights: every key at 0.5
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    restored_results = restored.evaluate(np.zeros((2, 4, 3)), np.zeros((2, 4, 88)), return_dict=True, verbose=0)
    assert restored_results["frame_nll"] == pytest.approx(results["frame_nll"], rel=1e-6)
    config = FrameNegativeLogLikelihood(name="nll", from_logits=True).get_config()
    assert FrameNegativeLogLikelihood.from_config(config).from_logits is True
