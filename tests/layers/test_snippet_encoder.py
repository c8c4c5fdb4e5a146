"""The snippet encoder as a layer: shapes, config round trip, and configs saved under its old module."""

import keras
import numpy as np

from musickit.layers.snippet_encoder import ENCODER_PRESETS, SnippetEncoder


def test_memories_and_embedding_shapes():
    encoder = SnippetEncoder(50, snippet_length=8, num_memory_vectors=3, **ENCODER_PRESETS["tiny"])
    ids = np.array([[5, 6, 7, 0, 0, 0, 0, 0], [9] * 8], "int32")
    assert tuple(encoder(ids).shape) == (2, 3, 32) and tuple(encoder.embed(ids).shape) == (2, 32)


def test_a_config_saved_when_it_lived_in_models_hierarchical_still_loads():
    encoder = SnippetEncoder(50, snippet_length=8, num_styles=2, **ENCODER_PRESETS["tiny"])
    saved = keras.saving.serialize_keras_object(encoder)
    assert saved["registered_name"] == "musickit>SnippetEncoder"  # the name .keras files store
    saved["module"] = "musickit.models.hierarchical"  # what files written before the move hold
    loaded = keras.saving.deserialize_keras_object(saved)
    assert isinstance(loaded, SnippetEncoder) and loaded.get_config() == encoder.get_config()
