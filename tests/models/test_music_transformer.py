"""MusicTransformer: presets, forward/cached agreement, masked-loss training, .keras round trip, mixed precision."""

import keras
import numpy as np
import pytest
from keras import ops

from musickit.errors import UsageError
from musickit.losses.sequence import SequenceCrossEntropy
from musickit.models.music_transformer import PRESETS, MusicTransformer


def tiny(**overrides):
    options = {"vocabulary_size": 24, "max_sequence_length": 16, "dropout": 0.0} | overrides
    return MusicTransformer.from_preset("tiny", **options)


def test_presets_describe_the_sizes_the_issue_asks_for():
    assert set(PRESETS) == {"tiny", "small", "base", "paper"}
    # The paper preset is only ever configured here, never built or trained.
    paper = MusicTransformer.from_preset("paper", vocabulary_size=400).get_config()
    assert (paper["num_layers"], paper["num_heads"], paper["hidden_dim"], paper["max_sequence_length"]) == (
        16,
        24,
        1536,
        4096,
    )
    with pytest.raises(UsageError, match="unknown preset"):
        MusicTransformer.from_preset("huge", vocabulary_size=10)
    with pytest.raises(UsageError, match="position_encoding"):
        tiny(position_encoding="sinusoidal")


def test_call_with_cache_matches_call_with_conditions():
    keras.utils.set_random_seed(3)
    model = tiny(condition_sizes={"style": 3}, conditioning_mode="film")
    model.build()
    for block in model.blocks:  # make the (zero-initialised) FiLM projections matter
        block.attention_modulation.projection.kernel.assign(np.full((32, 64), 0.05, "float32"))
    tokens = np.array([[1, 5, 7, 9, 2, 3], [4, 4, 6, 8, 10, 12]], "int32")
    style = np.array([0, 2], "int32")
    full = ops.convert_to_numpy(model({"token_ids": tokens, "style": style}))
    assert not np.allclose(full, ops.convert_to_numpy(model({"token_ids": tokens, "style": np.array([1, 1])})))
    condition = model.embed_conditions({"style": style})
    logits, _, _ = model.call_with_cache(tokens, model.empty_cache(2, 6), ops.convert_to_tensor(0), condition=condition)
    np.testing.assert_allclose(ops.convert_to_numpy(logits), full, rtol=1e-4, atol=1e-4)


@pytest.mark.usefixtures("eager_fits")
def test_training_step_uses_only_weighted_tokens():
    keras.utils.set_random_seed(4)
    model = tiny()
    # TensorFlow: XLA-compiling the train step would cost more than the test; JAX runs op by op
    # without jit, which is slower still, so it keeps its compiled step.
    jit_compile = keras.config.backend() == "jax"
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=SequenceCrossEntropy(), jit_compile=jit_compile)
    tokens = np.tile(np.arange(1, 9, dtype="int32"), (4, 1))
    targets = np.roll(tokens, -1, axis=1)
    weights = np.ones_like(tokens, dtype="float32")
    weights[:, :3] = 0.0  # the prompt part
    changed = targets.copy()
    changed[:, 0] = 23  # a target under zero weight
    before = model.test_on_batch(tokens, targets, sample_weight=weights)
    # Changing a target where the weight is zero does not change the loss.
    np.testing.assert_allclose(model.test_on_batch(tokens, changed, sample_weight=weights), before, rtol=1e-5)
    for _ in range(3):
        model.train_on_batch(tokens, targets, sample_weight=weights)
    assert model.test_on_batch(tokens, targets, sample_weight=weights) < before


def test_keras_file_round_trip(tmp_path):
    model = tiny(position_encoding="rotary", condition_sizes={"style": 2, "tempo": 3}, end_id=2)
    inputs = {"token_ids": np.array([[1, 2, 3, 4]], "int32"), "style": np.array([1]), "tempo": np.array([2])}
    expected = ops.convert_to_numpy(model(inputs))
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, MusicTransformer) and restored.end_id == 2
    assert restored.get_config()["condition_sizes"] == {"style": 2, "tempo": 3}
    np.testing.assert_allclose(ops.convert_to_numpy(restored(inputs)), expected, rtol=1e-5, atol=1e-5)


def test_mixed_precision_keeps_float32_logits():
    model = tiny(dtype="mixed_bfloat16")
    logits = model(np.array([[1, 2, 3]], "int32"))
    assert model.blocks[0].compute_dtype == "bfloat16"
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    assert np.isfinite(ops.convert_to_numpy(logits)).all()
