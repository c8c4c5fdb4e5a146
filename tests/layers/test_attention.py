"""CachedSelfAttention: skewing equals the direct relative gather, and cached steps equal the full pass."""

import keras
import numpy as np
import pytest
from keras import ops

from musickit.layers.attention import CachedSelfAttention, causal_attention_mask, skew_relative_logits

ENCODINGS = ["relative", "rotary", "absolute"]


def _numpy(tensor):
    return np.asarray(ops.convert_to_numpy(tensor))


def test_skewing_puts_each_distance_under_its_key():
    # relative[i, m] is query i against distance m - (length - 1); write the distance itself.
    length = 4
    distances = np.tile(np.arange(length) - (length - 1), (length, 1)).astype("float32")
    skewed = _numpy(skew_relative_logits(distances[None, None]))[0, 0]
    for query in range(length):
        for key in range(query + 1):
            assert skewed[query, key] == key - query


def test_skewed_relative_logits_match_the_gathered_ones():
    keras.utils.set_random_seed(0)
    layer = CachedSelfAttention(num_heads=2, key_dim=4, position_encoding="relative", max_relative_distance=8)
    layer.build((1, 6, 8))
    query = keras.random.normal((1, 6, 2, 4))
    skewed = _numpy(layer._relative_logits(query, 6, 0, full_sequence=True))
    gathered = _numpy(layer._relative_logits(query, 6, 0, full_sequence=False))
    lower = np.tril(np.ones((6, 6), bool))
    np.testing.assert_allclose(skewed[..., lower], gathered[..., lower], rtol=1e-5, atol=1e-5)


def test_relative_logits_depend_on_distance_only():
    # Two queries equal in content at positions 2 and 5 see the same logits for keys at equal distances.
    layer = CachedSelfAttention(num_heads=1, key_dim=4, position_encoding="relative", max_relative_distance=8)
    layer.build((1, 8, 4))
    query = np.ones((1, 8, 1, 4), "float32")
    logits = _numpy(layer._relative_logits(query, 8, 0, full_sequence=True))[0, 0]
    np.testing.assert_allclose(logits[2, 0:3], logits[5, 3:6], rtol=1e-6)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_cached_steps_equal_the_full_sequence(encoding):
    keras.utils.set_random_seed(1)
    layer = CachedSelfAttention(num_heads=2, key_dim=4, position_encoding=encoding, max_relative_distance=8)
    inputs = keras.random.normal((2, 7, 8))
    full = _numpy(layer(inputs))
    cache = ops.zeros((2, 2, 8, 2, 4))
    # Prefill three tokens, then one token at a time.
    outputs, cache = layer(
        inputs[:, :3], cache=cache, cache_update_index=0, attention_mask=causal_attention_mask(3, 8, 0)
    )
    steps = [_numpy(outputs)]
    for index in range(3, 7):
        # A tensor index, as in the decoding loop (and one compiled op per shape on JAX).
        step = ops.convert_to_tensor(index)
        output, cache = layer(inputs[:, index : index + 1], cache=cache, cache_update_index=step)
        steps.append(_numpy(output))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, rtol=1e-4, atol=1e-5)


def test_future_tokens_do_not_change_the_past():
    layer = CachedSelfAttention(num_heads=2, key_dim=4)
    inputs = np.random.default_rng(0).normal(size=(1, 6, 8)).astype("float32")
    changed = inputs.copy()
    changed[:, 4:] += 1.0
    np.testing.assert_allclose(_numpy(layer(inputs))[:, :4], _numpy(layer(changed))[:, :4], rtol=1e-5, atol=1e-6)


def test_config_round_trip_and_bad_encoding():
    layer = CachedSelfAttention(num_heads=3, key_dim=5, position_encoding="rotary", dropout=0.1)
    restored = CachedSelfAttention.from_config(layer.get_config())
    assert (restored.num_heads, restored.key_dim, restored.position_encoding, restored.dropout) == (3, 5, "rotary", 0.1)
    with pytest.raises(ValueError, match="position_encoding"):
        CachedSelfAttention(num_heads=2, key_dim=4, position_encoding="alibi")
