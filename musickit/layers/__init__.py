"""Reusable Keras layers: cached attention with relative/rotary positions, decoder blocks, conditioning.

Example:

>>> from musickit.layers import MusicTransformerBlock
>>> block = MusicTransformerBlock(num_heads=2, intermediate_dim=32, position_encoding="rotary")
"""

from musickit.layers.adapters import BottleneckAdapter
from musickit.layers.attention import CachedSelfAttention, causal_attention_mask, skew_relative_logits
from musickit.layers.conditioning import ConditionEmbedding, FeatureModulation
from musickit.layers.cross_attention_block import CrossAttentionDecoderBlock
from musickit.layers.frame_heads import AutoregressiveFrameHead
from musickit.layers.snippet_encoder import SnippetEncoder
from musickit.layers.transformer_block import MusicTransformerBlock

__all__ = [
    "AutoregressiveFrameHead",
    "BottleneckAdapter",
    "CachedSelfAttention",
    "ConditionEmbedding",
    "CrossAttentionDecoderBlock",
    "FeatureModulation",
    "MusicTransformerBlock",
    "SnippetEncoder",
    "causal_attention_mask",
    "skew_relative_logits",
]
