"""A decoder block that also reads snippet memories: self-attention, feed-forward, cross-attention, adapter.

The block is a :class:`~musickit.layers.transformer_block.MusicTransformerBlock`
(cached causal self-attention with relative positions, feed-forward,
conditioning) followed by a pre-norm cross-attention sub-layer over the
snippet memories and a :class:`~musickit.layers.adapters.BottleneckAdapter`.
Keeping the decoder block whole makes staged training a matter of flags: a
decoder pre-trained as a language model is frozen while the cross-attention
and the adapters learn (stage A), then unfrozen (stages B and C).

The cross-attention output passes through a ``tanh`` gate (Flamingo's gated
cross-attention) starting at ``gate_initial_value``; at 0 a fresh block is
exactly the decoder block it wraps.
"""

import keras
from keras import ops
from keras_hub.layers import CachedMultiHeadAttention

from musickit.layers.adapters import BottleneckAdapter
from musickit.layers.transformer_block import DECODER_BLOCK_SETTINGS, MusicTransformerBlock


@keras.saving.register_keras_serializable(package="musickit")
class CrossAttentionDecoderBlock(keras.layers.Layer):
    """Decoder block with cached self-attention, cross-attention to memories, and an adapter.

    Args:
        num_heads: int, heads of both attentions.
        intermediate_dim: int, feed-forward width.
        position_encoding: self-attention positions, see
            :class:`~musickit.layers.attention.CachedSelfAttention`.
        max_relative_distance: int.
        conditioning_mode: ``"film"``, ``"additive"`` or ``None``.
        adapter_dim: int, adapter bottleneck width (0: no adapter).
        gate_initial_value: float, initial cross-attention gate before ``tanh``.
        dropout: float.
        layer_norm_epsilon: float.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        inputs: ``(batch, time, hidden_dim)``.
        memory: optional ``(batch, memories, hidden_dim)``; without it the
            block is a plain decoder block (for language-model pre-training).
        memory_mask: optional boolean ``(batch, memories)``, True on real memories.
        condition: optional ``(batch, hidden_dim)`` condition vector.
        cache, cache_update_index: the self-attention key/value cache.
        training: bool.

    Example:

    >>> import numpy as np
    >>> block = CrossAttentionDecoderBlock(num_heads=2, intermediate_dim=32, adapter_dim=4)
    >>> outputs = block(np.zeros((1, 6, 16), "float32"), memory=np.ones((1, 3, 16), "float32"))
    >>> tuple(outputs.shape)
    (1, 6, 16)

    References:
        - [Alayrac et al., 2022, Flamingo](https://arxiv.org/abs/2204.14198) (gated cross-attention)
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        position_encoding="relative",
        max_relative_distance=1024,
        conditioning_mode="film",
        adapter_dim=16,
        gate_initial_value=0.0,
        dropout=0.0,
        layer_norm_epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.position_encoding = position_encoding
        self.max_relative_distance = int(max_relative_distance)
        self.conditioning_mode = conditioning_mode
        self.adapter_dim = int(adapter_dim)
        self.gate_initial_value = float(gate_initial_value)
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        policy = self.dtype_policy
        self.decoder_block = MusicTransformerBlock(**self._decoder_settings(), dtype=policy, name="decoder_block")
        self.cross_attention_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="cross_attention_norm"
        )
        self.adapter = BottleneckAdapter(self.adapter_dim, dtype=policy, name="adapter") if self.adapter_dim else None
        self.cross_attention_dropout = keras.layers.Dropout(dropout, dtype=policy)

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        self.cross_attention = CachedMultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=hidden_dim // self.num_heads,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name="cross_attention",
        )
        self.decoder_block.build(input_shape)
        self.cross_attention_norm.build(input_shape)
        self.cross_attention.build(input_shape, input_shape, input_shape)
        if self.adapter is not None:
            self.adapter.build(input_shape)
        self.cross_attention_gate = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.gate_initial_value), name="cross_attention_gate"
        )

    def _decoder_settings(self):
        """The arguments this block shares with the decoder block it wraps (saved once, in this block's config)."""
        return {name: getattr(self, name) for name in DECODER_BLOCK_SETTINGS}

    def cross_attention_layers(self):
        """The layers and weights stage A trains: cross-attention, its norm and gate, and the adapter."""
        return [self.cross_attention, self.cross_attention_norm] + ([self.adapter] if self.adapter else [])

    def call(
        self, inputs, memory=None, memory_mask=None, condition=None, cache=None, cache_update_index=None, training=None
    ):
        hidden = self.decoder_block(
            inputs, condition=condition, cache=cache, cache_update_index=cache_update_index, training=training
        )
        if cache is not None:
            hidden, cache = hidden
        if memory is not None:
            memory = ops.cast(memory, hidden.dtype)
            mask = None
            if memory_mask is not None:
                # (batch, memories) -> (batch, time, memories): every query sees the same memories.
                mask = ops.broadcast_to(
                    ops.expand_dims(ops.cast(memory_mask, "bool"), 1),
                    (ops.shape(hidden)[0], ops.shape(hidden)[1], ops.shape(memory)[1]),
                )
            attended = self.cross_attention(
                self.cross_attention_norm(hidden), memory, attention_mask=mask, training=training
            )
            if memory_mask is not None:
                # A sequence without any snippet must not attend to padding: its cross-attention is zero.
                has_memory = ops.any(ops.cast(memory_mask, "bool"), axis=-1)
                attended = attended * ops.cast(has_memory, attended.dtype)[:, None, None]
            gate = ops.tanh(ops.cast(self.cross_attention_gate, attended.dtype))
            hidden = hidden + gate * self.cross_attention_dropout(attended, training=training)
        if self.adapter is not None:
            hidden = self.adapter(hidden)
        if cache is not None:
            return hidden, cache
        return hidden

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(self._decoder_settings())
        config.update({"adapter_dim": self.adapter_dim, "gate_initial_value": self.gate_initial_value})
        return config
