"""MusicTransformerBlock: cache consistency with conditioning, and config round trip."""

import keras
import numpy as np
from keras import ops

from musickit.layers.transformer_block import MusicTransformerBlock


def test_block_with_condition_matches_its_cached_steps():
    keras.utils.set_random_seed(2)
    block = MusicTransformerBlock(num_heads=2, intermediate_dim=16, max_relative_distance=6, conditioning_mode="film")
    inputs = keras.random.normal((2, 6, 8))
    condition = keras.random.normal((2, 8))
    block.build((None, None, 8))
    block.attention_modulation.projection.kernel.assign(np.full((8, 16), 0.1, "float32"))
    full = ops.convert_to_numpy(block(inputs, condition=condition))
    unconditioned = ops.convert_to_numpy(block(inputs))
    assert not np.allclose(full, unconditioned)
    cache = ops.zeros((2, 2, 6, 2, 4))
    # Prefill four tokens, then two single steps (tensor indices: one compiled op per shape on JAX).
    output, cache = block(inputs[:, :4], condition=condition, cache=cache, cache_update_index=ops.convert_to_tensor(0))
    steps = [ops.convert_to_numpy(output)[:, :4]]
    for index in (4, 5):
        step = ops.convert_to_tensor(index)
        output, cache = block(inputs[:, index : index + 1], condition=condition, cache=cache, cache_update_index=step)
        steps.append(ops.convert_to_numpy(output))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, rtol=1e-4, atol=1e-5)


def test_block_config_round_trip():
    block = MusicTransformerBlock(
        num_heads=4, intermediate_dim=32, position_encoding="rotary", conditioning_mode="additive"
    )
    config = MusicTransformerBlock.from_config(block.get_config()).get_config()
    assert config["position_encoding"] == "rotary" and config["conditioning_mode"] == "additive"
    assert config["num_heads"] == 4 and config["intermediate_dim"] == 32
