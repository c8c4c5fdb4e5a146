"""Snippet encoder, hierarchical decoder, cached generation, stage freezing, serialization."""

import json

import keras
import numpy as np
import pytest

from musickit.errors import UsageError
from musickit.layers.adapters import BottleneckAdapter
from musickit.layers.cross_attention_block import CrossAttentionDecoderBlock
from musickit.layers.snippet_encoder import ENCODER_PRESETS, SnippetEncoder
from musickit.models.hierarchical import HierarchicalTransformer
from musickit.training.staging import StagedTrainer, expand_stages, set_stage, trainable_blocks

VOCABULARY = 48


def _model(**overrides):
    options = {
        "snippet_length": 8,
        "num_memory_vectors": 2,
        "condition_sizes": {"style": 3},
        "end_id": 2,
        "dropout": 0.0,
        "num_styles": 3,
    }
    return HierarchicalTransformer.from_preset("tiny", vocabulary_size=VOCABULARY, **(options | overrides))


def _inputs(batch=2, length=10, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "token_ids": rng.integers(3, VOCABULARY, (batch, length)).astype("int32"),
        "snippet_ids": rng.integers(3, VOCABULARY, (batch, 4, 8)).astype("int32"),
        "snippet_mask": np.array([[True, True, False, False]] * batch),
        "section_ids": np.array([[0, 1, 0, 0]] * batch, "int32"),
        "style_id": np.resize(np.array([1, -1], "int32"), batch),
    }


def test_fresh_adapter_and_gate_leave_the_decoder_block_unchanged():
    features = np.random.default_rng(0).normal(size=(2, 5, 16)).astype("float32")
    block = CrossAttentionDecoderBlock(num_heads=2, intermediate_dim=32, adapter_dim=4, conditioning_mode=None)
    with_memory = block(features, memory=np.ones((2, 3, 16), "float32"))
    plain = block.decoder_block(features)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(with_memory), keras.ops.convert_to_numpy(plain), atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(BottleneckAdapter(4)(features)), features, atol=1e-6)


def test_memories_change_the_output_once_the_gate_opens():
    model = _model(gate_initial_value=1.0)
    inputs = _inputs()
    other = dict(inputs, snippet_ids=_inputs(seed=1)["snippet_ids"])
    first, second = (keras.ops.convert_to_numpy(model(x)) for x in (inputs, other))
    assert first.shape == (2, 10, VOCABULARY) and not np.allclose(first, second)
    # A masked-out snippet is never read.
    changed_masked = dict(inputs, snippet_ids=inputs["snippet_ids"].copy())
    changed_masked["snippet_ids"][:, 3] = 5
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(changed_masked)), first, atol=1e-5)


@pytest.mark.parametrize("copy_head", [False, True])
def test_cached_greedy_equals_full_recompute(copy_head):
    # With the copy head, 4 and 9 are section tokens: the prompt opens a section, generation may open more.
    model = _model(gate_initial_value=1.0, copy_head=copy_head, section_token_ids=(4, 9) if copy_head else ())
    snippets = {"A": [5, 6, 7, 8], "B": [9, 10, 11]}
    cached = model.generate([[4, 5, 6]], max_length=12, snippets=snippets, conditions={"style": 1}, stop_token_ids=None)
    full = model.generate(
        [[4, 5, 6]], max_length=12, snippets=snippets, conditions={"style": 1}, stop_token_ids=None, use_cache=False
    )
    assert cached == full and len(cached[0]) == 12


def test_beam_search_keeps_each_prompt_with_its_own_snippets():
    keras.utils.set_random_seed(1)
    model = _model(gate_initial_value=1.0)
    model.build()
    # Louder memories, so that two snippets lead a tiny untrained model to different pieces.
    model.memory_projection.kernel.assign(model.memory_projection.kernel * 30.0)
    first, second = (model.snippet_inputs({"A": ids}) for ids in ([5, 6, 7, 8], [30, 31, 40]))
    both = {name: np.concatenate([first[name], second[name]]) for name in first}
    swapped = {name: value[::-1].copy() for name, value in both.items()}
    options = {"max_length": 10, "sampler": "beam", "num_beams": 2, "stop_token_ids": None}
    outputs = model.generate([[4, 5], [4, 5]], snippets=both, **options)
    assert outputs[0] != outputs[1]  # the snippets matter...
    # ...and each row's beams read that row's memories, whatever its place in the batch.
    assert model.generate([[4, 5], [4, 5]], snippets=swapped, **options) == outputs[::-1]


def test_generation_rejects_bad_snippets_and_conditions():
    model = _model()
    with pytest.raises(UsageError, match="at least one snippet"):
        model.generate([[4]], max_length=8, snippets={})
    with pytest.raises(UsageError, match="snippet label 'E'"):
        model.generate([[4]], max_length=8, snippets={"E": [5]})
    with pytest.raises(UsageError, match="outside"):
        model.generate([[4]], max_length=8, snippets={"A": [5]}, conditions={"style": 7})


def test_encoder_heads_and_presets():
    encoder = SnippetEncoder(
        VOCABULARY, snippet_length=8, num_memory_vectors=3, num_styles=4, **ENCODER_PRESETS["tiny"]
    )
    ids = np.ones((5, 8), "int32")
    assert tuple(encoder(ids).shape) == (5, 3, 32)
    assert tuple(encoder.classify_style(ids).shape) == (5, 4)
    assert ENCODER_PRESETS["paper"] == {"num_layers": 6, "num_heads": 8, "hidden_dim": 1536, "intermediate_dim": 6144}


def test_stages_freeze_what_they_should():
    model = _model()
    model.build()
    set_stage(model, "A")
    trainable = {id(variable) for variable in model.trainable_variables}
    assert not any(id(v) in trainable for v in model.encoder.weights)
    assert not any(id(v) in trainable for v in model.token_embedding.weights)
    for block in model.blocks:
        assert not any(id(v) in trainable for v in block.decoder_block.weights)
        assert all(id(v) in trainable for v in block.cross_attention.weights + block.adapter.weights)
        assert id(block.cross_attention_gate) in trainable
    set_stage(model, "B", unfrozen_blocks=1)
    assert trainable_blocks(model) == [1]  # the top block first
    assert not model.token_embedding.trainable and not model.encoder.trainable
    set_stage(model, "B", unfrozen_blocks=2)
    assert trainable_blocks(model) == [0, 1] and model.token_embedding.trainable and not model.encoder.trainable
    set_stage(model, "C")
    # Everything trains but the encoder's contrastive and style heads, which are not on the decoder's path.
    heads = {id(v) for v in model.encoder.projection_head.weights + model.encoder.style_head.weights}
    assert len(heads) == 4 and {id(v) for v in model.trainable_variables} == {id(v) for v in model.weights} - heads
    assert expand_stages("A,B,C", 2) == ["A", "B1", "B2", "C"]
    with pytest.raises(UsageError, match="unknown training stage"):
        expand_stages("A,X", 2)


@pytest.mark.usefixtures("eager_fits")
def test_staged_training_resumes_after_finished_stages(tmp_path):
    model = _model()
    inputs = _inputs(batch=4)
    targets = np.roll(inputs["token_ids"], -1, axis=1)
    data = [(inputs, targets, np.ones_like(targets, "float32"))]
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensors(data[0])
    # XLA compilation would dominate these one-step fits on a CPU.
    model.build()
    trainer = StagedTrainer(model, tmp_path, learning_rate=1e-2, jit_compile=False)
    frozen = keras.ops.convert_to_numpy(model.blocks[0].decoder_block.weights[0]).copy()
    histories = trainer.run(dataset, "A", epochs=1, verbose=0)
    assert list(histories) == ["A"] and (tmp_path / "stage_A.weights.h5").is_file()
    # Stage A moved nothing of the decoder.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.blocks[0].decoder_block.weights[0]), frozen)
    resumed = StagedTrainer(model, tmp_path, jit_compile=False).run(dataset, "A,C", epochs=1, verbose=0, resume=True)
    assert list(resumed) == ["C"]
    assert json.loads((tmp_path / "stages.json").read_text())["finished"] == ["A", "C"]


@pytest.mark.parametrize("copy_head", [False, True])
def test_keras_file_round_trip(tmp_path, copy_head):
    model = _model(gate_initial_value=0.5, copy_head=copy_head, section_token_ids=(4, 9) if copy_head else ())
    inputs = _inputs()
    expected = keras.ops.convert_to_numpy(model(inputs))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(inputs)), expected, atol=1e-5)
    assert loaded.get_config()["encoder"]["config"]["num_memory_vectors"] == 2


@pytest.mark.usefixtures("eager_fits")
def test_copy_head_learns_to_bring_a_section_back_and_not_to_copy_it_into_another():
    # Pieces "A a1..a6 B b1..b6 A a1..a6" of random notes, with 4 and 9 the section tokens: nothing predicts the
    # first A or B (chance: log 38 = 3.6 nats a note), the copy head predicts the returning A. Twelve steps open
    # its gate there and keep it shut in B; a decoder alone could not learn random notes that fast.
    keras.utils.set_random_seed(0)
    model = _model(copy_head=True, section_token_ids=(4, 9), condition_sizes={}, num_styles=0)
    rng = np.random.default_rng(0)
    first, second = (rng.integers(10, VOCABULARY, (48, 6)).astype("int32") for _ in range(2))
    section_a, section_b = np.full((48, 1), 4, "int32"), np.full((48, 1), 9, "int32")
    token_ids = np.concatenate([section_a, first, section_b, second, section_a, first], axis=1)
    inputs = {name: np.repeat(value[:1], 48, axis=0) for name, value in _inputs().items() if name != "style_id"}
    inputs["token_ids"] = token_ids[:, :-1]
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    model.fit(inputs, token_ids[:, 1:], batch_size=16, epochs=4, verbose=0)
    log_probabilities = keras.ops.convert_to_numpy(model(inputs))
    # nats per note; targets 1-6 are the first A, 8-13 B, 15-20 the returning A (target t is predicted at t - 1)
    chosen = -np.take_along_axis(log_probabilities, token_ids[:, 1:, None], axis=-1)[..., 0]
    first_a, b, returning_a = chosen[:, 0:6].mean(), chosen[:, 7:13].mean(), chosen[:, 14:20].mean()
    chance = np.log(VOCABULARY - 10)
    assert returning_a < 1.5 < chance - 0.5 < min(first_a, b)
