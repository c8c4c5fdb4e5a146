"""U-Net blocks for a diffusion denoiser over spectrograms: noise embedding, residual, attention blocks, note sketch.

All of them work on channels-last images ``(batch, height, width, channels)``
(for a log-mel: height = mel bins, width = frames) in ``keras.ops`` on every
backend, and reuse Keras' ``GroupNormalization`` and ``MultiHeadAttention``.

Example:

>>> import numpy as np
>>> embedding = SinusoidalEmbedding(16)(np.array([[0.5]], "float32"))
>>> tuple(embedding.shape)
(1, 16)
>>> block = ResidualBlock(8, groups=4)
>>> tuple(block(np.zeros((2, 8, 8, 4), "float32"), np.zeros((2, 16), "float32")).shape)
(2, 8, 8, 8)

References:
    Ho, Jain and Abbeel, "Denoising diffusion probabilistic models", 2020 (the U-Net of its code).
    Rombach et al., "High-resolution image synthesis with latent diffusion models", 2022 (cross-attention).
"""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="musickit")
class SinusoidalEmbedding(keras.layers.Layer):
    """Sines and cosines of a noise level at geometrically spaced frequencies (the transformer's position code).

    Args:
        dimension: output width (even).
        scale: the level (in [0, 1]) is multiplied by it first, so the
            fastest frequency still turns between neighbouring of 1000 levels.
        max_period: the slowest frequency's period.

    Call arguments:
        level: ``(batch, 1)`` noise levels.

    Example:

    >>> import numpy as np
    >>> SinusoidalEmbedding(8)(np.zeros((3, 1), "float32")).shape[-1]
    8
    """

    def __init__(self, dimension, scale=1000.0, max_period=10000.0, **kwargs):
        super().__init__(**kwargs)
        if dimension % 2:
            raise ValueError(f"dimension must be even, got {dimension}")
        self.dimension, self.scale, self.max_period = dimension, scale, max_period

    def call(self, level):
        half = self.dimension // 2
        frequencies = ops.exp(-math.log(self.max_period) * ops.arange(half, dtype="float32") / half)
        angles = ops.cast(level, "float32") * self.scale * frequencies[None, :]
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dimension)

    def get_config(self):
        return {**super().get_config(), "dimension": self.dimension, "scale": self.scale, "max_period": self.max_period}


@keras.saving.register_keras_serializable(package="musickit")
class ResidualBlock(keras.layers.Layer):
    """GroupNorm -> swish -> 3x3 conv, plus the projected noise embedding, GroupNorm -> swish -> 3x3 conv, plus skip.

    Args:
        filters: output channels (a 1x1 convolution matches the skip when they change).
        groups: group normalisation groups (must divide both channel counts).

    Call arguments:
        features: ``(batch, height, width, channels)``.
        embedding: ``(batch, embedding_dimension)`` noise embedding.
    """

    def __init__(self, filters, groups=8, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.groups = filters, groups

    def build(self, features_shape, embedding_shape=None):
        channels = features_shape[-1]
        self.first_norm = keras.layers.GroupNormalization(min(self.groups, channels), name="first_norm")
        self.first_norm.build(features_shape)
        self.first_convolution = keras.layers.Conv2D(self.filters, 3, padding="same", name="first_convolution")
        self.first_convolution.build(features_shape)
        self.embedding_projection = keras.layers.Dense(self.filters, name="embedding_projection")
        self.embedding_projection.build(embedding_shape)
        inner_shape = (*features_shape[:-1], self.filters)
        self.second_norm = keras.layers.GroupNormalization(self.groups, name="second_norm")
        self.second_norm.build(inner_shape)
        self.second_convolution = keras.layers.Conv2D(self.filters, 3, padding="same", name="second_convolution")
        self.second_convolution.build(inner_shape)
        self.skip = None
        if channels != self.filters:
            self.skip = keras.layers.Conv2D(self.filters, 1, name="skip")
            self.skip.build(features_shape)

    def call(self, features, embedding):
        hidden = self.first_convolution(ops.silu(self.first_norm(features)))
        hidden = hidden + self.embedding_projection(embedding)[:, None, None, :]
        hidden = self.second_convolution(ops.silu(self.second_norm(hidden)))
        return hidden + (self.skip(features) if self.skip is not None else features)

    def compute_output_shape(self, features_shape, embedding_shape=None):
        return (*features_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "groups": self.groups}


@keras.saving.register_keras_serializable(package="musickit")
class SpatialAttention(keras.layers.Layer):
    """Attention from every position of an image to itself (self) or to a sequence (cross), with a residual.

    Self-attention normalises the image with ``GroupNormalization``;
    cross-attention normalises it with ``LayerNormalization`` and attends to
    ``context`` (e.g. encoded note tokens). Both use Keras'
    ``MultiHeadAttention`` over the flattened ``height * width`` positions.

    Args:
        num_heads: attention heads.
        key_dim: width of each head.
        groups: group-norm groups (self-attention).

    Call arguments:
        features: ``(batch, height, width, channels)``.
        context: ``(batch, tokens, width)`` or ``None`` for self-attention.

    Example:

    >>> import numpy as np
    >>> layer = SpatialAttention(num_heads=2, key_dim=4)
    >>> tuple(layer(np.zeros((1, 4, 6, 8), "float32"), np.ones((1, 5, 3), "float32")).shape)
    (1, 4, 6, 8)
    """

    def __init__(self, num_heads=4, key_dim=16, groups=8, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.key_dim, self.groups = num_heads, key_dim, groups

    def build(self, features_shape, context_shape=None):
        channels = features_shape[-1]
        sequence_shape = (features_shape[0], None, channels)
        if context_shape is None:
            self.norm = keras.layers.GroupNormalization(min(self.groups, channels), name="norm")
            self.norm.build(features_shape)
        else:
            self.norm = keras.layers.LayerNormalization(name="norm")
            self.norm.build(sequence_shape)
        self.attention = keras.layers.MultiHeadAttention(self.num_heads, self.key_dim, name="attention")
        self.attention.build(sequence_shape, context_shape if context_shape is not None else sequence_shape)

    def call(self, features, context=None):
        shape = ops.shape(features)
        height, width, channels = features.shape[1], features.shape[2], features.shape[3]
        if context is None:
            sequence = ops.reshape(self.norm(features), (shape[0], height * width, channels))
            attended = self.attention(sequence, sequence)
        else:
            sequence = self.norm(ops.reshape(features, (shape[0], height * width, channels)))
            attended = self.attention(sequence, context)
        return features + ops.reshape(attended, (shape[0], height, width, channels))

    def compute_output_shape(self, features_shape, context_shape=None):
        return features_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim, "groups": self.groups}


@keras.saving.register_keras_serializable(package="musickit")
class NoteSketch(keras.layers.Layer):
    """Frame-aligned conditioning: a window's note tokens projected onto the mel axis, one image per channel.

    Cross-attention tells the U-Net *which* notes a window holds; it learns slowly *where* each sits in time.
    A learned linear map from each token's keys (sounding and struck) to ``num_mels * channels`` values, laid
    out frame by frame, gives the first convolution an image aligned with the mel it denoises: a key's
    harmonics land on the mel bins they light, at the frames they sound, and an onset on its frame.

    Args:
        num_mels: the image's height.
        channels: images made (stacked on the last axis).
        frames_per_token: frames each token covers (its image is repeated over them).
        context_tokens: tokens of context before and after the window (left out of the image).

    Call arguments:
        tokens: ``(batch, context + frames / frames_per_token + context, features)``.

    Returns:
        ``(batch, num_mels, frames, channels)``.

    Example:

    >>> import numpy as np
    >>> sketch = NoteSketch(num_mels=8, channels=2, frames_per_token=2, context_tokens=1)
    >>> tuple(sketch(np.zeros((3, 6, 5), "float32")).shape)  # 4 window tokens of 2 frames each
    (3, 8, 8, 2)
    """

    def __init__(self, num_mels, channels=4, frames_per_token=1, context_tokens=0, **kwargs):
        super().__init__(**kwargs)
        self.num_mels, self.channels = int(num_mels), int(channels)
        self.frames_per_token, self.context_tokens = int(frames_per_token), int(context_tokens)

    def build(self, tokens_shape):
        self.projection = keras.layers.Dense(self.num_mels * self.channels, name="projection")
        self.projection.build(tokens_shape)

    def call(self, tokens):
        count = tokens.shape[1] - 2 * self.context_tokens
        window = tokens[:, self.context_tokens : self.context_tokens + count]
        image = self.projection(window)  # (batch, tokens, mels * channels)
        if self.frames_per_token > 1:
            image = ops.repeat(image, self.frames_per_token, axis=1)
        image = ops.reshape(image, (ops.shape(tokens)[0], count * self.frames_per_token, self.num_mels, self.channels))
        return ops.transpose(image, (0, 2, 1, 3))

    def compute_output_shape(self, tokens_shape):
        frames = (tokens_shape[1] - 2 * self.context_tokens) * self.frames_per_token
        return (tokens_shape[0], self.num_mels, frames, self.channels)

    def get_config(self):
        return {
            **super().get_config(),
            "num_mels": self.num_mels,
            "channels": self.channels,
            "frames_per_token": self.frames_per_token,
            "context_tokens": self.context_tokens,
        }
