"""The conditioned U-Net: zero output at init, one fit step, a .keras round trip, its layers' configs."""

import keras
import numpy as np
import pytest

from musickit.layers.unet import NoteSketch, ResidualBlock, SinusoidalEmbedding, SpatialAttention
from musickit.models.mel_unet import MelUNet


def forward(network, batch):
    """The network's output as numpy: one compiled program on JAX (called eagerly, JAX compiles each of about 250
    operations on its own); a plain call elsewhere (TensorFlow would trace a graph)."""
    if keras.backend.backend() == "jax":
        return network.predict_on_batch(batch)
    return keras.ops.convert_to_numpy(network(batch))


def inputs(batch=2):
    generator = np.random.default_rng(0)
    return {
        "noisy_mel": generator.standard_normal((batch, 8, 16, 1)).astype("float32"),
        "noise_level": generator.uniform(size=(batch, 1)).astype("float32"),
        "note_tokens": generator.integers(0, 2, (batch, 6, 177)).astype("float32"),
    }


@pytest.mark.usefixtures("eager_fits")
@pytest.mark.long
def test_unet_starts_at_zero_trains_and_round_trips(tmp_path):
    # Self-attention in the middle only (as the tiny preset), cross-attention at level 1 and in the middle: fewer
    # layers to compile on JAX, and both the per-level and the middle-only placements are checked.
    # The note sketch too (4 window tokens of 4 frames, one of context each side), and the encoder's tokens pooled.
    model = MelUNet(
        num_mels=8,
        frames=16,
        tokens=6,
        widths=(4, 8),
        groups=2,
        encoder_dim=8,
        num_heads=2,
        attention_from_level=2,
        sketch_channels=2,
        frames_per_token=4,
        context_tokens=1,
        token_pool=2,
    )
    attention = [layer.name for layer in model.layers if isinstance(layer, SpatialAttention)]
    assert attention == [
        "down_1_0_cross_attention",
        "middle_self_attention",
        "middle_cross_attention",
        "up_1_0_cross_attention",
        "up_1_1_cross_attention",
    ]
    # Three steps: eager on TensorFlow, where tracing the U-Net's graphs took two minutes and the steps no time
    # (eager JAX is slower than its compiled steps; PyTorch is eager anyway). Compiled first: compile would drop
    # the predict program the zero check makes, and the last check runs it again.
    eager = keras.backend.backend() == "tensorflow"
    model.compile(optimizer=keras.optimizers.Adam(1e-2, use_ema=True), loss="mse", run_eagerly=eager)
    batch = inputs()
    assert np.abs(forward(model, batch)).max() == 0.0  # zero-initialised output
    target = np.ones((2, 8, 16, 1), "float32")
    losses = [model.train_on_batch(batch, target) for _ in range(3)]
    assert losses[-1] < losses[0]
    path = tmp_path / "unet.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    assert loaded.get_config() == model.get_config()
    outputs = [forward(network, batch) for network in (loaded, model)]
    np.testing.assert_allclose(*outputs, atol=1e-5)


def test_layers_keep_their_arguments_and_the_embedding_is_sin_cos():
    embedding = keras.ops.convert_to_numpy(SinusoidalEmbedding(4, scale=1.0)(np.zeros((1, 1), "float32")))
    np.testing.assert_allclose(embedding, [[0.0, 0.0, 1.0, 1.0]])
    layers = (
        SinusoidalEmbedding(6),
        ResidualBlock(8, groups=2),
        SpatialAttention(2, 4, groups=2),
        NoteSketch(8, 2, 4, 1),
    )
    for layer in layers:
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_note_sketch_lays_each_window_token_over_its_frames_and_skips_the_context():
    sketch = NoteSketch(num_mels=2, channels=1, frames_per_token=2, context_tokens=1)
    tokens = np.zeros((1, 4, 3), "float32")  # context, two window tokens, context
    tokens[0, 0, 0] = tokens[0, 3, 0] = 5.0  # only in the context: must not show
    tokens[0, 2, 1] = 1.0  # the second window token: frames 2 and 3
    sketch.build(tokens.shape)
    sketch.projection.set_weights([np.array([[1.0, 1.0], [2.0, 3.0], [0.0, 0.0]], "float32"), np.zeros(2, "float32")])
    image = keras.ops.convert_to_numpy(sketch(tokens))[0, :, :, 0]  # (mels, frames)
    np.testing.assert_array_equal(image, [[0, 0, 2, 2], [0, 0, 3, 3]])


def test_a_sketch_needs_a_consistent_token_layout():
    with pytest.raises(ValueError, match="the note sketch needs the layout"):
        MelUNet(num_mels=8, frames=16, tokens=5, widths=(4, 8), groups=2, sketch_channels=2, frames_per_token=4)
