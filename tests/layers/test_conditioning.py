"""Conditioning: embeddings, FiLM/additive modulation and prefix tokens."""

import keras
import numpy as np
import pytest
from keras import ops

from musickit.layers.conditioning import ConditionEmbedding, FeatureModulation


def test_condition_embedding_sums_one_vector_per_condition():
    layer = ConditionEmbedding({"style": 3, "tempo": 2}, hidden_dim=4)
    layer.build()
    style_table = np.arange(12, dtype="float32").reshape(3, 4)
    tempo_table = np.ones((2, 4), "float32")
    layer.embeddings["style"].embeddings.assign(style_table)
    layer.embeddings["tempo"].embeddings.assign(tempo_table)
    vector = ops.convert_to_numpy(layer({"style": np.array([2]), "tempo": np.array([1])}))
    np.testing.assert_allclose(vector, [[9.0, 10.0, 11.0, 12.0]])
    only_style = ops.convert_to_numpy(layer({"style": np.array([0])}))
    np.testing.assert_allclose(only_style, [[0.0, 1.0, 2.0, 3.0]])
    assert layer({}) is None
    with pytest.raises(ValueError, match="unknown conditions"):
        layer({"mood": np.array([0])})


@pytest.mark.parametrize("mode", ["film", "additive"])
def test_modulation_starts_as_identity_and_then_follows_the_condition(mode):
    layer = FeatureModulation(mode)
    features = np.full((1, 3, 2), 2.0, "float32")
    condition = np.array([[1.0]], "float32")
    np.testing.assert_allclose(ops.convert_to_numpy(layer(features, condition)), features)
    kernel = np.ones((1, 4 if mode == "film" else 2), "float32")
    layer.projection.kernel.assign(kernel)
    # FiLM: 2 * (1 + 1) + 1 = 5; additive: 2 + 1 = 3.
    expected = 5.0 if mode == "film" else 3.0
    np.testing.assert_allclose(ops.convert_to_numpy(layer(features, condition)), np.full((1, 3, 2), expected))
    np.testing.assert_allclose(ops.convert_to_numpy(layer(features, None)), features)


def test_unknown_condition_id_contributes_nothing():
    # UNKNOWN_ID (-1) is "no label": that row gets no vector from that condition, the others theirs.
    embedding = ConditionEmbedding({"style": 2, "tempo": 3}, hidden_dim=4)
    both = ops.convert_to_numpy(embedding({"style": np.array([1, -1]), "tempo": np.array([2, 2])}))
    tempo_only = ops.convert_to_numpy(embedding({"tempo": np.array([2, 2])}))
    style_only = ops.convert_to_numpy(embedding({"style": np.array([1, 1])}))
    np.testing.assert_allclose(both[1], tempo_only[1], rtol=1e-6)
    np.testing.assert_allclose(both[0], tempo_only[0] + style_only[0], rtol=1e-5)
    assert np.abs(style_only[0]).max() > 0


def test_serialization_keeps_arguments():
    layer = ConditionEmbedding({"style": 5}, hidden_dim=8, name="conditions")
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert restored.condition_sizes == {"style": 5} and restored.hidden_dim == 8
    assert FeatureModulation.from_config(FeatureModulation("additive").get_config()).mode == "additive"
