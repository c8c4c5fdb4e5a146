"""CachedSelfAttention against a straightforward NumPy attention, for every position mode and entry point.

The layer runs ``keras.ops.dot_product_attention`` with one fused Q/K/V
projection; the reference below spells out projections, rotary angles,
relative logits, the causal mask and the softmax by hand. float32 must agree
to rounding; ``mixed_bfloat16`` within bf16 tolerance.
"""

import keras
import numpy as np
import pytest
from keras import ops

from musickit.layers import attention
from musickit.layers.attention import CachedSelfAttention, causal_attention_mask

ENCODINGS = ["relative", "rotary", "none"]
HEADS, KEY_DIM, HIDDEN, LENGTH, MAX_DISTANCE = 2, 4, 8, 6, 8


def _numpy(tensor):
    return np.asarray(ops.convert_to_numpy(ops.cast(tensor, "float32")))


def _rotate(features, positions, max_wavelength=10000):
    """Rotary embedding as in RoFormer, halves rotated (keras_hub's layout): features ``(batch, time, heads, dim)``."""
    dim = features.shape[-1]
    inverse_frequencies = 1.0 / max_wavelength ** (np.arange(0, dim, 2) / dim)
    angles = np.outer(positions, inverse_frequencies)
    angles = np.concatenate([angles, angles], axis=-1)[None, :, None, :]
    first, second = features[..., : dim // 2], features[..., dim // 2 :]
    rotated = np.concatenate([-second, first], axis=-1)
    return features * np.cos(angles) + rotated * np.sin(angles)


def reference_attention(layer, inputs, positions, keys_so_far=None):
    """Attention of ``inputs`` at ``positions`` over earlier keys/values plus their own, by hand, in float64."""
    weights = {
        weight.path.split("/")[-2] + "/" + weight.name: _numpy(weight).astype("float64") for weight in layer.weights
    }

    def project(name):
        return np.einsum("btd,dhk->bthk", inputs, weights[f"{name}/kernel"]) + weights[f"{name}/bias"]

    query, key, value = project("query"), project("key"), project("value")
    if layer.position_encoding == "rotary":
        query, key = _rotate(query, positions), _rotate(key, positions)
    if keys_so_far is not None:
        key = np.concatenate([keys_so_far[0], key], axis=1)
        value = np.concatenate([keys_so_far[1], value], axis=1)
    key_positions = np.arange(key.shape[1])
    scores = np.einsum("bthk,bshk->bhts", query, key)
    if layer.position_encoding == "relative":
        table = next(value for name, value in weights.items() if name.endswith("relative_embeddings"))
        distance = np.clip(np.asarray(positions)[:, None] - key_positions[None, :], 0, MAX_DISTANCE - 1)
        rows = MAX_DISTANCE - 1 - distance  # (query, key)
        relative = np.einsum("bthk,htsk->bhts", query, table[:, rows, :])
        scores = scores + relative
    scores = scores / np.sqrt(KEY_DIM)
    allowed = key_positions[None, :] <= np.asarray(positions)[:, None]
    scores = np.where(allowed, scores, -np.inf)
    probabilities = np.exp(scores - scores.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    attended = np.einsum("bhts,bshk->bthk", probabilities, value)
    outputs = (
        np.einsum("bthk,hkd->btd", attended, weights["attention_output/kernel"]) + weights["attention_output/bias"]
    )
    return outputs, (key, value)


@pytest.fixture(params=[True, False], ids=["fused", "explicit"])
def kernel(request, monkeypatch):
    """Run a test through keras.ops.dot_product_attention and through the explicit form (the CPU default)."""
    monkeypatch.setattr(attention, "USE_FUSED_ATTENTION", request.param)
    return request.param


def _layer(encoding, dtype="float32"):
    keras.utils.set_random_seed(3)
    layer = CachedSelfAttention(
        HEADS, KEY_DIM, position_encoding=encoding, max_relative_distance=MAX_DISTANCE, dtype=dtype
    )
    layer.build((None, None, HIDDEN))
    return layer


def _inputs():
    return np.random.default_rng(0).normal(size=(2, LENGTH, HIDDEN))


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_training_pass_equals_the_reference(encoding, kernel):
    layer, inputs = _layer(encoding), _inputs()
    expected, _ = reference_attention(layer, inputs, np.arange(LENGTH))
    np.testing.assert_allclose(_numpy(layer(inputs.astype("float32"), training=True)), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_prefill_and_cached_steps_equal_the_reference(encoding, kernel):
    layer, inputs = _layer(encoding), _inputs()
    cache = ops.zeros((2, 2, MAX_DISTANCE, HEADS, KEY_DIM))
    prompt = 3
    outputs, cache = layer(
        inputs[:, :prompt].astype("float32"),
        cache=cache,
        cache_update_index=0,
        attention_mask=causal_attention_mask(prompt, MAX_DISTANCE, 0),
    )
    expected, keys_so_far = reference_attention(layer, inputs[:, :prompt], np.arange(prompt))
    np.testing.assert_allclose(_numpy(outputs), expected, rtol=1e-4, atol=1e-5)
    for index in range(prompt, LENGTH):
        step_inputs = inputs[:, index : index + 1]
        output, cache = layer(
            step_inputs.astype("float32"), cache=cache, cache_update_index=ops.convert_to_tensor(index)
        )
        expected, keys_so_far = reference_attention(layer, step_inputs, np.array([index]), keys_so_far)
        np.testing.assert_allclose(_numpy(output), expected, rtol=1e-4, atol=1e-5)
    # The cache holds every key and value at its position (the layout call_with_cache relies on).
    np.testing.assert_allclose(_numpy(cache)[:, 0, :LENGTH], keys_so_far[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_numpy(cache)[:, 1, :LENGTH], keys_so_far[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_mixed_bfloat16_stays_within_bf16_tolerance(encoding, kernel):
    layer = _layer(encoding, dtype="mixed_bfloat16")
    inputs = _inputs()
    expected, _ = reference_attention(layer, inputs, np.arange(LENGTH))
    outputs = layer(inputs.astype("float32"))
    assert ops.convert_to_numpy(outputs).dtype.name == "bfloat16"
    np.testing.assert_allclose(_numpy(outputs), expected, rtol=0.05, atol=0.05)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_dropout_path_equals_the_fused_path_without_dropout(encoding):
    # Attention dropout needs the explicit softmax; at rate 0 it must agree with the fused kernel.
    layer, inputs = _layer(encoding), _inputs().astype("float32")
    query, key, value = layer._project_query_key_value(inputs)
    mask = ops.reshape(causal_attention_mask(LENGTH, LENGTH), (1, 1, LENGTH, LENGTH))
    relative = layer._relative_logits(query, LENGTH, 0, True) if encoding == "relative" else None
    explicit = layer._explicit_attention(query, key, value, mask, relative, training=False)
    fused = layer._fused_attention(query, key, value, mask, relative, causal=True)
    np.testing.assert_allclose(_numpy(explicit), _numpy(fused), rtol=1e-4, atol=1e-5)


def test_weights_keep_the_saved_layout():
    # Fusing Q/K/V happens at call time; the variables (what .keras files store) are unchanged.
    layer = _layer("relative")
    names = sorted(weight.path.split("/", 1)[1] for weight in layer.weights)
    assert names == sorted(
        ["relative_embeddings"]
        + [f"{part}/{kind}" for part in ("query", "key", "value", "attention_output") for kind in ("kernel", "bias")]
    )
