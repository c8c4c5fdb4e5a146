"""Hierarchical transformer: a snippet encoder and a decoder that writes a whole piece in a given form.

A :class:`SnippetEncoder` compresses a short excerpt of each section (A, B,
C, D) into a few memory vectors. The :class:`HierarchicalTransformer`
decoder attends to those memories through cross-attention in every block
(:class:`~musickit.layers.cross_attention_block.CrossAttentionDecoderBlock`)
while it writes the piece token by token, with the section tokens
(``SECTION_A`` ...) of the target saying where each section starts, and
style/emotion/tempo conditioning at every block.

Generation uses the shared engine of :mod:`musickit.generation.cached_decoding`
(its keras_hub samplers, logits processors, argument checks and per-backend
compilation); the snippet memories are computed once per call, before the
decoding loop, and every step only reads them.
"""

import keras
import numpy as np
from keras import ops
from keras_hub.layers import PositionEmbedding, TransformerEncoder

from musickit.errors import UsageError
from musickit.layers.cross_attention_block import CrossAttentionDecoderBlock
from musickit.models.decoder_base import DECODER_PRESETS, DecoderLanguageModel
from musickit.representations.conditions import SECTION_LETTERS

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
        self.token_embedding = keras.layers.Embedding(self.vocabulary_size, self.hidden_dim, dtype=policy,
                                                      name="token_embedding")  # fmt: skip
        self.position_embedding = PositionEmbedding(self.snippet_length, dtype=policy, name="position_embedding")
        self.encoder_blocks = [
            TransformerEncoder(self.intermediate_dim, self.num_heads, dropout=dropout, activation="gelu",
                               normalize_first=True, dtype=policy, name=f"encoder_block_{index}")
            for index in range(self.num_layers)
        ]  # fmt: skip
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, dtype=policy, name="final_norm")
        self.pooling = keras.layers.MultiHeadAttention(self.num_heads, self.hidden_dim // self.num_heads, dtype=policy,
                                                       name="pooling")  # fmt: skip
        self.projection_head = keras.layers.Dense(self.projection_dim, dtype=policy, name="projection_head")
        self.style_head = keras.layers.Dense(self.num_styles, dtype=policy, name="style_head") if self.num_styles else None

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
        queries = ops.broadcast_to(ops.cast(self.memory_queries, hidden.dtype)[None],
                                   (batch, self.num_memory_vectors, self.hidden_dim))  # fmt: skip
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
    >>> encoder = SnippetEncoder(50, snippet_length=8, num_styles=3, **ENCODER_PRESETS["tiny"])
    >>> tuple(SnippetStyleClassifier(encoder)(np.ones((2, 8), "int32")).shape)
    (2, 3)
    """

    def call(self, snippet_ids, training=None):
        return self.encoder.classify_style(snippet_ids, training=training)


@keras.saving.register_keras_serializable(package="musickit")
class HierarchicalTransformer(DecoderLanguageModel):
    """Encoder-decoder over music tokens: snippet memories in, a whole piece in the requested form out.

    Args:
        vocabulary_size: int.
        num_layers, num_heads, hidden_dim, intermediate_dim, max_sequence_length:
            the decoder (``DECODER_PRESETS``).
        encoder: a :class:`SnippetEncoder` (its config when loading).
        max_sections: int, snippets per piece (A..D).
        adapter_dim: int, adapter bottleneck in every block.
        gate_initial_value: float, initial cross-attention gate.
        position_encoding: ``"relative"`` or ``"rotary"`` (decoder self-attention).
        condition_sizes: dict from condition name (``"style"``, ``"emotion"``,
            ``"tempo"``) to its number of classes; the input ``"<name>_id"``
            gives the class, ``-1`` for unknown (no conditioning for that row).
        conditioning_mode: ``"film"`` or ``"additive"``.
        dropout: float.
        padding_id: int.
        end_id: optional int that stops generation.
        **kwargs: passed to ``keras.Model``.

    Call arguments:
        inputs: a dict with ``"token_ids"`` ``(batch, time)``,
            ``"snippet_ids"`` ``(batch, sections, snippet_length)``,
            ``"snippet_mask"`` ``(batch, sections)``, ``"section_ids"``
            ``(batch, sections)`` (A=0 .. D=3), and optional ``"style_id"``
            etc.: exactly what :func:`musickit.data.pipelines.section_snippet_pairs` yields.

    Returns:
        ``(batch, time, vocabulary_size)`` float32 next-token logits.

    Example:

    >>> import numpy as np
    >>> model = HierarchicalTransformer.from_preset("tiny", vocabulary_size=40, snippet_length=8, end_id=2)
    >>> inputs = {"token_ids": np.ones((1, 10), "int32"), "snippet_ids": np.ones((1, 2, 8), "int32"),
    ...           "snippet_mask": np.ones((1, 2), bool), "section_ids": np.array([[0, 1]])}
    >>> tuple(model(inputs).shape)
    (1, 10, 40)
    >>> tokens = model.generate([[1, 5]], max_length=12, snippets={"A": [5, 6, 7], "B": [8, 9]})
    >>> tokens[0][:2]
    [1, 5]

    References:
        - [Alayrac et al., 2022, Flamingo](https://arxiv.org/abs/2204.14198) (gated cross-attention)
        - [Houlsby et al., 2019](https://arxiv.org/abs/1902.00751) (adapters)
    """

    block_class = CrossAttentionDecoderBlock
    # Learned absolute positions are the Music Transformer's ablation; this decoder keeps them in the attention.
    position_encodings = ("relative", "rotary")

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        max_sequence_length,
        encoder,
        max_sections=4,
        adapter_dim=16,
        gate_initial_value=0.0,
        position_encoding="relative",
        condition_sizes=None,
        conditioning_mode="film",
        dropout=0.1,
        padding_id=0,
        end_id=None,
        **kwargs,
    ):
        super().__init__(
            vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim, max_sequence_length,
            position_encoding=position_encoding, condition_sizes=condition_sizes, conditioning_mode=conditioning_mode,
            # Not a setting of this model (its config has no such key): passing it fails as it always did.
            dropout=dropout, layer_norm_epsilon=1e-5, padding_id=padding_id, end_id=end_id, **kwargs,
        )  # fmt: skip
        self.encoder = keras.saving.deserialize_keras_object(encoder) if isinstance(encoder, dict) else encoder
        self.max_sections = int(max_sections)
        self.adapter_dim = int(adapter_dim)
        self.gate_initial_value = float(gate_initial_value)
        self.create_embeddings()
        policy = self.dtype_policy
        # Encoder width -> decoder width, plus which section each memory summarises.
        self.memory_projection = keras.layers.Dense(self.hidden_dim, dtype=policy, name="memory_projection")
        self.section_embedding = keras.layers.Embedding(self.max_sections, self.hidden_dim, dtype=policy,
                                                        name="section_embedding")  # fmt: skip
        self.condition_embeddings = {
            name: keras.layers.Embedding(size, self.hidden_dim, dtype=policy, name=f"{name}_embedding")
            for name, size in sorted(self.condition_sizes.items())
        }
        self.create_decoder_stack()

    def block_arguments(self, index):
        return super().block_arguments(index) | {"adapter_dim": self.adapter_dim,
                                                 "gate_initial_value": self.gate_initial_value}  # fmt: skip

    @classmethod
    def from_preset(cls, preset, vocabulary_size, encoder_preset=None, snippet_length=256, num_memory_vectors=4,
                    num_styles=0, **overrides):  # fmt: skip
        """A fresh model of a named size (``tiny``, ``small``, ``base``, ``paper``) for decoder and encoder."""
        encoder_preset = encoder_preset or preset
        if preset not in DECODER_PRESETS or encoder_preset not in ENCODER_PRESETS:
            raise UsageError(f"unknown preset {preset!r}/{encoder_preset!r}; choose one of {sorted(DECODER_PRESETS)}")
        encoder = SnippetEncoder(
            vocabulary_size, snippet_length=snippet_length, num_memory_vectors=num_memory_vectors,
            num_styles=num_styles, padding_id=overrides.get("padding_id", 0), name="snippet_encoder",
            **ENCODER_PRESETS[encoder_preset],
        )  # fmt: skip
        return cls(vocabulary_size=vocabulary_size, encoder=encoder, **(DECODER_PRESETS[preset] | overrides))

    def build_input_layers(self):
        if not self.encoder.built:
            self.encoder.build()
        self.memory_projection.build((None, None, self.encoder.hidden_dim))
        self.section_embedding.build((None, None))
        for embedding in self.condition_embeddings.values():
            embedding.build((None,))

    # -- the pieces of a forward pass, shared by call, call_with_cache and generate ----------------

    def encode_snippets(self, snippet_ids, snippet_mask, section_ids, training=None):
        """Memories ``(batch, sections * num_memory_vectors, hidden_dim)`` and their mask."""
        shape = ops.shape(snippet_ids)
        batch, sections, length = shape[0], shape[1], shape[2]
        memories = self.encoder(ops.reshape(snippet_ids, (batch * sections, length)), training=training)
        vectors = self.encoder.num_memory_vectors
        memories = ops.reshape(memories, (batch, sections, vectors, self.encoder.hidden_dim))
        memories = self.memory_projection(memories) + ops.expand_dims(self.section_embedding(section_ids), 2)
        memory = ops.reshape(memories, (batch, sections * vectors, self.hidden_dim))
        memory_mask = ops.repeat(ops.cast(snippet_mask, "bool"), vectors, axis=1)
        return memory, memory_mask

    def embed_conditions(self, conditions):
        """The ``(batch, hidden_dim)`` condition vector from ``{"style_id": ids, ...}`` (-1: unknown), or ``None``."""
        vectors = []
        for name, embedding in self.condition_embeddings.items():
            ids = conditions.get(f"{name}_id")
            if ids is None:
                continue
            ids = ops.cast(ids, "int32")
            known = ops.cast(ops.expand_dims(ids >= 0, -1), self.compute_dtype)
            # Clipped as well as masked: Keras' symbolic build on PyTorch probes the model with ids of 1,
            # which a one-class condition does not have (real ids are checked in generate and the pipeline).
            ids = ops.clip(ids, 0, self.condition_sizes[name] - 1)
            vectors.append(embedding(ids) * known)
        if not vectors:
            return None
        return ops.sum(ops.stack(vectors, axis=0), axis=0)

    def context(self, inputs, training=None):
        """``{"memory", "memory_mask", "condition"}`` for a batch: what every decoding step reads."""
        memory, memory_mask = self.encode_snippets(
            inputs["snippet_ids"], inputs["snippet_mask"], inputs["section_ids"], training=training
        )
        return {"memory": memory, "memory_mask": memory_mask, "condition": self.embed_conditions(inputs)}

    def call(self, inputs, training=None):
        if not isinstance(inputs, dict):
            return self.decode(inputs, training=training)  # token ids alone: language-model pre-training
        if "snippet_ids" not in inputs:
            return self.decode(inputs["token_ids"], {"condition": self.embed_conditions(inputs)}, training=training)
        return self.decode(inputs["token_ids"], self.context(inputs, training=training), training=training)

    def generation_context(self, inputs):
        """The :meth:`context` of the snippets and conditions ``generate`` was given (encoded once per call)."""
        return self.context(inputs)

    def call_with_cache(self, token_ids, cache, cache_update_index, context=None):
        """One cached forward pass, as keras_hub's CausalLM: ``(logits, hidden_states, cache)``."""
        return self.decode_with_cache(token_ids, cache, cache_update_index, context)

    # -- parameter groups for staged training ---------------------------------------------------------

    def cross_attention_layers(self):
        """What stage A trains: cross-attention, gates, adapters, memory projection, section and condition embeddings."""
        layers = [self.memory_projection, self.section_embedding, *self.condition_embeddings.values()]
        for block in self.blocks:
            layers += block.cross_attention_layers()
        return layers

    # -- generation -----------------------------------------------------------------------------------

    def snippet_inputs(self, snippets, batch_size=1):
        """Arrays for :meth:`generate` from ``{"A": ids, "B": ids}`` (cut or padded to the snippet length)."""
        length = self.encoder.snippet_length
        snippet_ids = np.full((batch_size, self.max_sections, length), self.padding_id, "int32")
        snippet_mask = np.zeros((batch_size, self.max_sections), bool)
        section_ids = np.zeros((batch_size, self.max_sections), "int32")
        for slot, label in enumerate(sorted(snippets)):
            if label not in SECTION_LETTERS[: self.max_sections] or slot >= self.max_sections:
                raise UsageError(f"snippet label {label!r} is not one of {SECTION_LETTERS[: self.max_sections]}")
            ids = np.asarray(snippets[label], "int64").reshape(-1)[:length]
            if ((ids < 0) | (ids >= self.vocabulary_size)).any():
                raise UsageError(f"snippet {label} holds ids outside 0..{self.vocabulary_size - 1}")
            snippet_ids[:, slot, : len(ids)] = ids
            snippet_mask[:, slot] = len(ids) > 0
            section_ids[:, slot] = SECTION_LETTERS.index(label)
        return {"snippet_ids": snippet_ids, "snippet_mask": snippet_mask, "section_ids": section_ids}

    def generate(self, prompt_ids, max_length, snippets=None, conditions=None, sampler="greedy", processors=(),
                 seed=None, stop_token_ids="auto", use_cache=True, **sampler_options):  # fmt: skip
        """Continue prompts token by token, reading the snippet memories; see :mod:`musickit.models.hierarchical_generation`."""
        from musickit.models.hierarchical_generation import generate

        return generate(self, prompt_ids, max_length, snippets=snippets, conditions=conditions, sampler=sampler,
                        processors=processors, seed=seed, stop_token_ids=stop_token_ids, use_cache=use_cache,
                        **sampler_options)  # fmt: skip

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "max_sections": self.max_sections,
                "adapter_dim": self.adapter_dim,
                "gate_initial_value": self.gate_initial_value,
            }
        )
        return config
