"""Models that wrap one snippet encoder: the base class, and the style classifier that judges generated music.

The classifier is its own model (not the generator's encoder), so it grades every generator by the same
yardstick; :mod:`musickit.training.style_classifier` trains it.
"""

import keras


class SnippetEncoderModel(keras.Model):
    """Base of the models that wrap one :class:`SnippetEncoder` (style classifier, contrastive pre-trainer).

    It stores the encoder and serialises it inside its config, so a subclass
    only writes ``call``.
    """

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder

    def get_config(self):
        config = super().get_config()
        config["encoder"] = keras.saving.serialize_keras_object(self.encoder)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="musickit")
class SnippetStyleClassifier(SnippetEncoderModel):
    """The encoder's style head as a model: snippet ids in, style logits out (for ``fit``/``evaluate``).

    Example:

    >>> import numpy as np
    >>> from musickit.layers.snippet_encoder import ENCODER_PRESETS, SnippetEncoder
    >>> encoder = SnippetEncoder(50, snippet_length=8, num_styles=3, **ENCODER_PRESETS["tiny"])
    >>> tuple(SnippetStyleClassifier(encoder)(np.ones((2, 8), "int32")).shape)
    (2, 3)
    """

    def call(self, snippet_ids, training=None):
        return self.encoder.classify_style(snippet_ids, training=training)
