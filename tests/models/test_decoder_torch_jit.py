"""On torch, jit_compile=True (dynamo, which keeps recompiling musickit's decoders) is turned off with a warning."""

import keras
import pytest

from musickit.models.music_transformer import MusicTransformer


def test_jit_compile_true_is_kept_off_torch_only():
    model = MusicTransformer.from_preset("tiny", vocabulary_size=20)
    if keras.backend.backend() == "torch":
        with pytest.warns(UserWarning, match="dynamo"):
            model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=True)
        assert model.jit_compile is False
    else:
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=True)
        assert model.jit_compile is True
