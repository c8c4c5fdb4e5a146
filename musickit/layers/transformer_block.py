"""A pre-norm decoder block: cached self-attention, feed-forward, conditioning at the block input."""

import keras

from musickit.layers.attention import CachedSelfAttention
from musickit.layers.conditioning import FeatureModulation

#: The constructor arguments of :class:`MusicTransformerBlock` that a block
#: wrapping one (:class:`~musickit.layers.cross_attention_block.CrossAttentionDecoderBlock`)
#: takes too and passes on unchanged, so both store and save them alike.
DECODER_BLOCK_SETTINGS = (
    "num_heads",
    "intermediate_dim",
    "position_encoding",
    "max_relative_distance",
    "conditioning_mode",
    "dropout",
    "layer_norm_epsilon",
)


@keras.saving.register_keras_serializable(package="musickit")
class MusicTransformerBlock(keras.layers.Layer):
    """Decoder-only transformer block with a key/value cache and optional conditioning.

    Pre-norm (as GPT-2): ``x + attention(modulate(norm(x)))`` then
    ``x + feedforward(modulate(norm(x)))``. The condition vector modulates
    the normalized input of both sub-layers, so every block sees it.

    Args:
        num_heads: int, attention heads.
        intermediate_dim: int, width of the feed-forward layer.
        position_encoding: ``"relative"``, ``"rotary"``, ``"absolute"`` or
            ``"none"``; see :class:`CachedSelfAttention`.
        max_relative_distance: int, relative distances learned.
        conditioning_mode: ``"film"``, ``"additive"``, or ``None`` for a
            block without conditioning weights.
        dropout: float, dropout after attention and feed-forward.
        activation: feed-forward activation.
        layer_norm_epsilon: float.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        inputs: ``(batch, time, hidden_dim)``.
        condition: optional ``(batch, hidden_dim)`` condition vector.
        attention_mask: optional boolean mask, see :class:`CachedSelfAttention`.
        cache, cache_update_index: the key/value cache of this block and the
            position to write to.
        training: bool.

    Returns:
        The block output, and the updated cache when one was given.

    Example:

    >>> import numpy as np
    >>> block = MusicTransformerBlock(num_heads=2, intermediate_dim=32)
    >>> tuple(block(np.zeros((1, 6, 16), "float32")).shape)
    (1, 6, 16)
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        position_encoding="relative",
        max_relative_distance=1024,
        conditioning_mode="film",
        dropout=0.0,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.position_encoding = position_encoding
        self.max_relative_distance = max_relative_distance
        self.conditioning_mode = conditioning_mode
        self.dropout = dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        if hidden_dim % self.num_heads:
            raise ValueError(f"hidden_dim {hidden_dim} is not divisible by num_heads {self.num_heads}")
        policy = self.dtype_policy
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="attention_norm"
        )
        # Without conditioning the block has no modulation weights (they would get no gradient).
        self.attention_modulation = self.feedforward_modulation = None
        if self.conditioning_mode is not None:
            self.attention_modulation = FeatureModulation(
                self.conditioning_mode, dtype=policy, name="attention_modulation"
            )
            self.feedforward_modulation = FeatureModulation(
                self.conditioning_mode, dtype=policy, name="feedforward_modulation"
            )
        self.attention = CachedSelfAttention(
            num_heads=self.num_heads,
            key_dim=hidden_dim // self.num_heads,
            position_encoding=self.position_encoding,
            max_relative_distance=self.max_relative_distance,
            dropout=self.dropout,
            dtype=policy,
            name="self_attention",
        )
        self.attention_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.feedforward_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="feedforward_norm"
        )
        self.feedforward_intermediate = keras.layers.Dense(
            self.intermediate_dim, activation=self.activation, dtype=policy, name="feedforward_intermediate"
        )
        self.feedforward_output = keras.layers.Dense(hidden_dim, dtype=policy, name="feedforward_output")
        self.feedforward_dropout = keras.layers.Dropout(self.dropout, dtype=policy)

        for layer in (self.attention_norm, self.feedforward_norm, self.attention, self.feedforward_intermediate):
            layer.build(input_shape)
        # Conditioning weights are built for the hidden size, since the model
        # embeds conditions at that width.
        if self.conditioning_mode is not None:
            self.attention_modulation.build(input_shape, (None, hidden_dim))
            self.feedforward_modulation.build(input_shape, (None, hidden_dim))
        self.feedforward_output.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))

    def _modulate(self, modulation, features, condition):
        if condition is None:
            return features
        if modulation is None:
            raise ValueError("this block was built with conditioning_mode=None and cannot take a condition")
        return modulation(features, condition)

    def call(self, inputs, condition=None, attention_mask=None, cache=None, cache_update_index=None, training=None):
        normalized = self._modulate(self.attention_modulation, self.attention_norm(inputs), condition)
        attended = self.attention(
            normalized,
            attention_mask=attention_mask,
            cache=cache,
            cache_update_index=cache_update_index,
            training=training,
        )
        if cache is not None:
            attended, cache = attended
        hidden = inputs + self.attention_dropout(attended, training=training)
        normalized = self._modulate(self.feedforward_modulation, self.feedforward_norm(hidden), condition)
        transformed = self.feedforward_output(self.feedforward_intermediate(normalized))
        outputs = hidden + self.feedforward_dropout(transformed, training=training)
        if cache is not None:
            return outputs, cache
        return outputs

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({name: getattr(self, name) for name in DECODER_BLOCK_SETTINGS})
        config["activation"] = self.activation
        return config
