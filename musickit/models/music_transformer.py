"""Music Transformer: the decoder-only baseline over REMI or performance-event tokens.

A stack of :class:`~musickit.layers.MusicTransformerBlock` over token
embeddings, with relative (default), rotary or learned absolute positions,
optional style/emotion/tempo conditioning at every block, tied input/output
embeddings, and KerasHub-style cached decoding (:meth:`call_with_cache`,
:meth:`generate`).
"""

import keras
from keras import ops
from keras_hub.layers import PositionEmbedding

from musickit.errors import UsageError
from musickit.layers.conditioning import ConditionEmbedding
from musickit.layers.transformer_block import MusicTransformerBlock

PRESETS = {
    # Unit tests: builds and runs in milliseconds.
    "tiny": {"num_layers": 2, "num_heads": 2, "hidden_dim": 32, "intermediate_dim": 64, "max_sequence_length": 256},
    # The CPU recipe: trains on Bach chorales in minutes.
    "small": {"num_layers": 4, "num_heads": 4, "hidden_dim": 128, "intermediate_dim": 512, "max_sequence_length": 2048},
    # One GPU: the size of the Music Transformer's Maestro experiments.
    "base": {"num_layers": 6, "num_heads": 8, "hidden_dim": 512, "intermediate_dim": 2048, "max_sequence_length": 2048},
    # The baseline of the hierarchical-generation proposal: 16 layers, 24 heads, 1536 wide, 4096 tokens.
    "paper": {"num_layers": 16, "num_heads": 24, "hidden_dim": 1536, "intermediate_dim": 6144, "max_sequence_length": 4096},
}


@keras.saving.register_keras_serializable(package="musickit")
class MusicTransformer(keras.Model):
    """Decoder-only transformer language model over music tokens.

    Args:
        vocabulary_size: int, number of token ids (tokenizer plus any
            condition prefix tokens).
        num_layers: int, number of decoder blocks.
        num_heads: int, attention heads per block.
        hidden_dim: int, model width.
        intermediate_dim: int, feed-forward width.
        max_sequence_length: int, longest sequence (prompt plus piece) the
            model can attend over; sets the relative-position table and the
            absolute position embedding.
        position_encoding: ``"relative"`` (Music Transformer), ``"rotary"`` or
            ``"absolute"``.
        condition_sizes: optional dict from condition name (``"style"``,
            ``"emotion"``, ``"tempo"``) to its number of classes; enables
            conditioning at every block.
        conditioning_mode: ``"film"`` or ``"additive"``.
        dropout: float.
        layer_norm_epsilon: float.
        padding_id: int, the id used for padding.
        end_id: optional int, the end-of-sequence id that stops generation.
        **kwargs: passed to ``keras.Model`` (``name``, ``dtype`` such as
            ``"mixed_bfloat16"``).

    Call arguments:
        inputs: integer ``(batch, time)`` token ids, or a dict with
            ``"token_ids"`` and one ``(batch,)`` class-id tensor per condition.
        training: bool.

    Returns:
        ``(batch, time, vocabulary_size)`` float32 logits for the next token.

    Example:

    >>> import numpy as np
    >>> model = MusicTransformer.from_preset("tiny", vocabulary_size=40, end_id=2)
    >>> tuple(model(np.ones((1, 10), "int32")).shape)
    (1, 10, 40)
    >>> tokens = model.generate([[1, 5, 6]], max_length=12, sampler="greedy")
    >>> len(tokens[0]) <= 12
    True

    References:
        - [Huang et al., 2018, Music Transformer](https://arxiv.org/abs/1809.04281)
    """

    presets = PRESETS

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        max_sequence_length,
        position_encoding="relative",
        condition_sizes=None,
        conditioning_mode="film",
        dropout=0.1,
        layer_norm_epsilon=1e-5,
        padding_id=0,
        end_id=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if position_encoding not in ("relative", "rotary", "absolute"):
            raise UsageError(f"position_encoding must be 'relative', 'rotary' or 'absolute', got {position_encoding!r}")
        self.vocabulary_size = int(vocabulary_size)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.hidden_dim = int(hidden_dim)
        self.intermediate_dim = int(intermediate_dim)
        self.max_sequence_length = int(max_sequence_length)
        self.position_encoding = position_encoding
        self.condition_sizes = dict(condition_sizes or {})
        self.conditioning_mode = conditioning_mode
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.padding_id = int(padding_id)
        self.end_id = None if end_id is None else int(end_id)

        policy = self.dtype_policy
        # Tied input/output embeddings (keras.layers.ReversibleEmbedding) halve
        # the parameters a small vocabulary model spends outside the blocks.
        self.token_embedding = keras.layers.ReversibleEmbedding(
            self.vocabulary_size, self.hidden_dim, tie_weights=True, reverse_dtype="float32",
            embeddings_initializer=keras.initializers.RandomNormal(stddev=0.02), dtype=policy, name="token_embedding",
        )  # fmt: skip
        self.position_embedding = None
        if position_encoding == "absolute":
            self.position_embedding = PositionEmbedding(self.max_sequence_length, dtype=policy, name="position_embedding")
        self.condition_embedding = None
        if self.condition_sizes:
            self.condition_embedding = ConditionEmbedding(self.condition_sizes, self.hidden_dim, dtype=policy, name="conditions")
        self.embedding_dropout = keras.layers.Dropout(dropout, dtype=policy)
        self.blocks = [
            MusicTransformerBlock(
                num_heads=self.num_heads,
                intermediate_dim=self.intermediate_dim,
                position_encoding="none" if position_encoding == "absolute" else position_encoding,
                max_relative_distance=self.max_sequence_length,
                conditioning_mode=conditioning_mode if self.condition_sizes else None,
                dropout=dropout,
                layer_norm_epsilon=layer_norm_epsilon,
                dtype=policy,
                name=f"block_{index}",
            )
            for index in range(self.num_layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, dtype=policy, name="final_norm")

    @classmethod
    def from_preset(cls, preset, vocabulary_size, **overrides):
        """Build a freshly initialised model from a named size (``tiny``, ``small``, ``base``, ``paper``).

        Presets are architectures, not trained weights; ``overrides`` change
        any constructor argument, e.g. ``position_encoding="rotary"``.
        """
        if preset not in PRESETS:
            raise UsageError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        return cls(vocabulary_size=vocabulary_size, **(PRESETS[preset] | overrides))

    def build(self, input_shape=None):
        # Sub-layers get fixed shapes, so the model builds the same whichever
        # entry point (call, call_with_cache, generate, loading) comes first.
        sequence_shape = (None, None, self.hidden_dim)
        shapes = [(self.token_embedding, (None, None)), (self.position_embedding, sequence_shape)]
        shapes += [(block, sequence_shape) for block in self.blocks] + [(self.final_norm, sequence_shape)]
        for layer, shape in shapes:
            if layer is not None and not layer.built:
                layer.build(shape)
        if self.condition_embedding is not None and not self.condition_embedding.built:
            self.condition_embedding.build()
        self.built = True

    # -- forward passes -------------------------------------------------------------------------

    def _split_inputs(self, inputs):
        if isinstance(inputs, dict):
            conditions = {name: value for name, value in inputs.items() if name != "token_ids"}
            return inputs["token_ids"], conditions
        return inputs, {}

    def embed_conditions(self, conditions):
        """The ``(batch, hidden_dim)`` condition vector for a dict of class ids, or ``None``."""
        if not conditions:
            return None
        if self.condition_embedding is None:
            raise UsageError(f"this model was built without conditioning but got conditions {sorted(conditions)}")
        return self.condition_embedding(conditions)

    def _embed_tokens(self, token_ids, start_index=0):
        embedded = self.token_embedding(token_ids)
        if self.position_embedding is not None:
            embedded = embedded + self.position_embedding(embedded, start_index=start_index)
        return embedded

    def _logits(self, hidden):
        return ops.cast(self.token_embedding(self.final_norm(hidden), reverse=True), "float32")

    def call(self, inputs, training=None):
        token_ids, conditions = self._split_inputs(inputs)
        condition = self.embed_conditions(conditions)
        hidden = self.embedding_dropout(self._embed_tokens(token_ids), training=training)
        for block in self.blocks:
            hidden = block(hidden, condition=condition, training=training)
        return self._logits(hidden)

    def call_with_cache(self, token_ids, cache, cache_update_index, condition=None):
        """Forward ``token_ids`` placed at ``cache_update_index``, reading and updating the key/value cache.

        Args:
            token_ids: ``(batch, time)`` ids; ``time`` is the whole buffer for
                the prefill pass and 1 for each decoding step.
            cache: ``(batch, num_layers, 2, max_length, num_heads, head_dim)``.
            cache_update_index: int or int tensor, position of ``token_ids[:, 0]``.
            condition: optional ``(batch, hidden_dim)`` vector from
                :meth:`embed_conditions`.

        Returns:
            ``(logits, hidden_states, cache)`` as in keras_hub's CausalLM.
        """
        if not self.built:
            self.build()
        hidden = self._embed_tokens(token_ids, start_index=cache_update_index)
        updated_caches = []
        for layer_index, block in enumerate(self.blocks):
            hidden, layer_cache = block(
                hidden, condition=condition, cache=cache[:, layer_index, ...], cache_update_index=cache_update_index
            )
            updated_caches.append(layer_cache)
        cache = ops.stack(updated_caches, axis=1)
        hidden = self.final_norm(hidden)
        logits = ops.cast(self.token_embedding(hidden, reverse=True), "float32")
        return logits, hidden, cache

    def empty_cache(self, batch_size, max_length):
        """A zero key/value cache for ``batch_size`` sequences of ``max_length`` tokens."""
        head_dim = self.hidden_dim // self.num_heads
        shape = (batch_size, self.num_layers, 2, max_length, self.num_heads, head_dim)
        return ops.zeros(shape, dtype=self.compute_dtype)

    # -- generation -----------------------------------------------------------------------------

    def generate(
        self,
        prompt_ids,
        max_length,
        sampler="greedy",
        processors=(),
        seed=None,
        conditions=None,
        padding_side="right",
        stop_token_ids="auto",
        use_cache=True,
        **sampler_options,
    ):
        """Continue prompts token by token; see :func:`musickit.generation.cached_decoding.generate`."""
        from musickit.generation.cached_decoding import generate

        return generate(
            self,
            prompt_ids,
            max_length,
            sampler=sampler,
            processors=processors,
            seed=seed,
            conditions=conditions,
            padding_side=padding_side,
            stop_token_ids=stop_token_ids,
            use_cache=use_cache,
            **sampler_options,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "max_sequence_length": self.max_sequence_length,
                "position_encoding": self.position_encoding,
                "condition_sizes": self.condition_sizes,
                "conditioning_mode": self.conditioning_mode,
                "dropout": self.dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "padding_id": self.padding_id,
                "end_id": self.end_id,
            }
        )
        return config
