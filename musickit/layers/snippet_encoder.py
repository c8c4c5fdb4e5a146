"""The snippet encoder: a short token excerpt of a section in, a few memory vectors out.

It is the hierarchical transformer's encoder (its decoder reads the memories
through cross-attention), the body of the contrastive pre-trainer
(:mod:`musickit.training.contrastive`) and of the style classifier
(:class:`musickit.models.snippet_classifier.SnippetStyleClassifier`). The
registered name stays ``musickit>SnippetEncoder``, so ``.keras`` files saved
when it lived in ``musickit.models.hierarchical`` still load.
"""

import keras
from keras import ops
from keras_hub.layers import PositionEmbedding, TransformerEncoder

from musickit.errors import UsageError

ENCODER_PRESETS = {
    "tiny": {"num_layers": 1, "num_heads": 2, "hidden_dim": 32, "intermediate_dim": 64},
    "small": {"num_layers": 2, "num_heads": 4, "hidden_dim": 128, "intermediate_dim": 256},
    "base": {"num_layers": 4, "num_heads": 8, "hidden_dim": 512, "intermediate_dim": 2048},
    # The proposal's encoder: 6 layers, 8 heads, 1536 wide.
    "paper": {"num_layers": 6, "num_heads": 8, "hidden_dim": 1536, "intermediate_dim": 6144},
}


@keras.saving.register_keras_serializable(package="musickit")
class SnippetEncoder(keras.layers.Layer):
    """Transformer encoder that turns a token snippet into ``num_memory_vectors`` memory vectors.

    Token and learned position embeddings go through keras_hub
    ``TransformerEncoder`` blocks (pre-norm); ``num_memory_vectors`` learned
    queries then attend over the tokens (attention pooling), giving a fixed
    number of vectors per snippet whatever its length. :meth:`embed` pools
    them into one vector, used by the contrastive loss and the style head.

    Args:
        vocabulary_size: int.
        num_layers, num_heads, hidden_dim, intermediate_dim: encoder size
            (see ``ENCODER_PRESETS``: ``tiny`` .. ``paper``).
        snippet_length: int, longest snippet.
        num_memory_vectors: int, memory vectors per snippet.
        projection_dim: int, width of the contrastive projection head.
        num_styles: int, classes of the style classifier head (0: none).
        dropout: float.
        padding_id: int, id of padding tokens (masked out).
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        snippet_ids: integer ``(batch, snippet_length)``.
        training: bool.

    Returns:
        ``(batch, num_memory_vectors, hidden_dim)`` memories.

    Example:

    >>> import numpy as np
    >>> encoder = SnippetEncoder(vocabulary_size=50, snippet_length=16, num_memory_vectors=2, **ENCODER_PRESETS["tiny"])
    >>> tuple(encoder(np.ones((3, 16), "int32")).shape)
    (3, 2, 32)
    >>> tuple(encoder.embed(np.ones((3, 16), "int32")).shape)
    (3, 32)
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        snippet_length=256,
        num_memory_vectors=4,
        projection_dim=None,
        num_styles=0,
        dropout=0.1,
        padding_id=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.hidden_dim = int(hidden_dim)
        self.intermediate_dim = int(intermediate_dim)
        self.snippet_length = int(snippet_length)
        self.num_memory_vectors = int(num_memory_vectors)
        self.projection_dim = int(projection_dim or hidden_dim)
        self.num_styles = int(num_styles)
        self.dropout = dropout
        self.padding_id = int(padding_id)
        policy = self.dtype_policy
        self.token_embedding = keras.layers.Embedding(
            self.vocabulary_size, self.hidden_dim, dtype=policy, name="token_embedding"
        )
        self.position_embedding = PositionEmbedding(self.snippet_length, dtype=policy, name="position_embedding")
        self.encoder_blocks = [
            TransformerEncoder(
                self.intermediate_dim,
                self.num_heads,
                dropout=dropout,
                activation="gelu",
                normalize_first=True,
                dtype=policy,
                name=f"encoder_block_{index}",
            )
            for index in range(self.num_layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, dtype=policy, name="final_norm")
        self.pooling = keras.layers.MultiHeadAttention(
            self.num_heads, self.hidden_dim // self.num_heads, dtype=policy, name="pooling"
        )
        self.projection_head = keras.layers.Dense(self.projection_dim, dtype=policy, name="projection_head")
        self.style_head = (
            keras.layers.Dense(self.num_styles, dtype=policy, name="style_head") if self.num_styles else None
        )

    def build(self, input_shape=None):
        sequence = (None, self.snippet_length, self.hidden_dim)
        self.token_embedding.build((None, self.snippet_length))
        self.position_embedding.build(sequence)
        for block in self.encoder_blocks:
            block.build(sequence)
        self.final_norm.build(sequence)
        self.memory_queries = self.add_weight(
            shape=(self.num_memory_vectors, self.hidden_dim),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="memory_queries",
        )
        self.pooling.build((None, self.num_memory_vectors, self.hidden_dim), sequence)
        self.projection_head.build((None, self.hidden_dim))
        if self.style_head is not None:
            self.style_head.build((None, self.hidden_dim))
        self.built = True

    def call(self, snippet_ids, training=None):
        padding_mask = ops.not_equal(snippet_ids, self.padding_id)
        hidden = self.token_embedding(snippet_ids)
        hidden = hidden + self.position_embedding(hidden)
        for block in self.encoder_blocks:
            hidden = block(hidden, padding_mask=padding_mask, training=training)
        hidden = self.final_norm(hidden)
        batch = ops.shape(hidden)[0]
        queries = ops.broadcast_to(
            ops.cast(self.memory_queries, hidden.dtype)[None], (batch, self.num_memory_vectors, self.hidden_dim)
        )
        # An all-padding snippet would leave the pooling nothing to attend to: let it see position 0.
        keys_mask = ops.logical_or(padding_mask, ops.arange(ops.shape(snippet_ids)[1])[None, :] == 0)
        mask = ops.broadcast_to(keys_mask[:, None, :], (batch, self.num_memory_vectors, ops.shape(snippet_ids)[1]))
        return self.pooling(queries, hidden, attention_mask=mask, training=training)

    def embed(self, snippet_ids, training=None):
        """One ``(batch, hidden_dim)`` vector per snippet: the mean of its memories."""
        return ops.mean(self(snippet_ids, training=training), axis=1)

    def project(self, snippet_ids, training=None):
        """The contrastive projection ``(batch, projection_dim)`` (not normalised; the loss normalises)."""
        return self.projection_head(self.embed(snippet_ids, training=training))

    def classify_style(self, snippet_ids, training=None):
        """Style logits ``(batch, num_styles)`` from the style classifier head."""
        if self.style_head is None:
            raise UsageError("this encoder was built with num_styles=0 and has no style classifier head")
        return ops.cast(self.style_head(self.embed(snippet_ids, training=training)), "float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "snippet_length": self.snippet_length,
                "num_memory_vectors": self.num_memory_vectors,
                "projection_dim": self.projection_dim,
                "num_styles": self.num_styles,
                "dropout": self.dropout,
                "padding_id": self.padding_id,
            }
        )
        return config
