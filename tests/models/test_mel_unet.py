"""The conditioned U-Net: zero output at init, one fit step, a .keras round trip, its layers' configs."""

import keras
import numpy as np
import pytest

from musickit.layers.unet import ResidualBlock, SinusoidalEmbedding, SpatialAttention
from musickit.models.mel_unet import MelUNet


def inputs(batch=2):
    generator = np.random.default_rng(0)
    return {
        "noisy_mel": generator.standard_normal((batch, 8, 16, 1)).astype("float32"),
        "noise_level": generator.uniform(size=(batch, 1)).astype("float32"),
        "note_tokens": generator.integers(0, 2, (batch, 5, 89)).astype("float32"),
    }


@pytest.mark.long
def test_unet_starts_at_zero_trains_and_round_trips(tmp_path):
    model = MelUNet(num_mels=8, frames=16, tokens=5, widths=(4, 8), groups=2, encoder_dim=8, num_heads=2)
    batch = inputs()
    assert np.abs(keras.ops.convert_to_numpy(model(batch))).max() == 0.0  # zero-initialised output
    # Three steps: eager on TensorFlow, where tracing the U-Net's graphs took two minutes and the steps no time
    # (eager JAX is slower than its compiled steps; PyTorch is eager anyway).
    eager = keras.backend.backend() == "tensorflow"
    model.compile(optimizer=keras.optimizers.Adam(1e-2, use_ema=True), loss="mse", run_eagerly=eager)
    target = np.ones((2, 8, 16, 1), "float32")
    losses = [model.train_on_batch(batch, target) for _ in range(3)]
    assert losses[-1] < losses[0]
    path = tmp_path / "unet.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    assert loaded.get_config() == model.get_config()
    outputs = [keras.ops.convert_to_numpy(network(batch)) for network in (loaded, model)]
    np.testing.assert_allclose(*outputs, atol=1e-5)


def test_layers_keep_their_arguments_and_the_embedding_is_sin_cos():
    embedding = keras.ops.convert_to_numpy(SinusoidalEmbedding(4, scale=1.0)(np.zeros((1, 1), "float32")))
    np.testing.assert_allclose(embedding, [[0.0, 0.0, 1.0, 1.0]])
    for layer in (SinusoidalEmbedding(6), ResidualBlock(8, groups=2), SpatialAttention(2, 4, groups=2)):
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
