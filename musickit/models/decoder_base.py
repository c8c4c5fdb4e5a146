"""What every musickit decoder language model shares: tied embeddings, a block stack, the cached-decoding interface.

:class:`~musickit.models.music_transformer.MusicTransformer` and
:class:`~musickit.models.hierarchical.HierarchicalTransformer` are the same
decoder around different blocks: token embeddings tied to the output layer,
a stack of pre-norm blocks with a key/value cache, a final norm, and the
methods :mod:`musickit.generation.cached_decoding` drives
(:meth:`~DecoderLanguageModel.generation_context`,
:meth:`~DecoderLanguageModel.decode_with_cache`,
:meth:`~DecoderLanguageModel.empty_cache`). This base owns that part once;
a subclass names its block class and adds what it reads besides tokens
(condition embeddings, snippet memories).
"""

import warnings

import keras
from keras import ops
from keras_hub.layers import PositionEmbedding

from musickit.errors import UsageError

#: Decoder sizes, shared by the Music Transformer baseline and the hierarchical
#: transformer's decoder so the two compare at equal depth and width.
DECODER_PRESETS = {
    # Unit tests: builds and runs in milliseconds.
    "tiny": {"num_layers": 2, "num_heads": 2, "hidden_dim": 32, "intermediate_dim": 64, "max_sequence_length": 256},
    # The CPU recipe: trains on Bach chorales in minutes.
    "small": {"num_layers": 4, "num_heads": 4, "hidden_dim": 128, "intermediate_dim": 512, "max_sequence_length": 2048},
    # One GPU: the size of the Music Transformer's Maestro experiments.
    "base": {"num_layers": 6, "num_heads": 8, "hidden_dim": 512, "intermediate_dim": 2048, "max_sequence_length": 2048},
    # The hierarchical-generation proposal's baseline and decoder: 16 layers, 24 heads, 1536 wide, 4096 tokens.
    "paper": {
        "num_layers": 16,
        "num_heads": 24,
        "hidden_dim": 1536,
        "intermediate_dim": 6144,
        "max_sequence_length": 4096,
    },
}

#: The constructor arguments every decoder stores under its own name and saves in its config.
DECODER_SETTINGS = (
    "vocabulary_size",
    "num_layers",
    "num_heads",
    "hidden_dim",
    "intermediate_dim",
    "max_sequence_length",
    "position_encoding",
    "condition_sizes",
    "conditioning_mode",
    "dropout",
    "padding_id",
    "end_id",
)


class DecoderLanguageModel(keras.Model):
    """Base of the decoder-only language models: embeddings, blocks, logits, and cached decoding.

    This constructor checks and stores the settings; a subclass sets
    :attr:`block_class` (a block taking ``condition``, ``cache`` and
    ``cache_update_index`` call arguments, such as
    :class:`~musickit.layers.transformer_block.MusicTransformerBlock`) and
    :attr:`position_encodings`, and in its own constructor calls
    :meth:`create_embeddings`, creates what it embeds besides tokens, then
    calls :meth:`create_decoder_stack`. It may extend :meth:`block_arguments`,
    builds its own layers in :meth:`build_input_layers`, and defines
    ``embed_conditions`` (class ids to one ``(batch, hidden_dim)`` vector, or
    ``None``). The attribute names (``token_embedding``, ``blocks``,
    ``final_norm`` ...) are those saved ``.keras`` files and the
    staged-training freezing rely on.

    A *context* is a dict of keyword arguments every block receives, e.g.
    ``{"condition": vector}`` or ``{"memory": ..., "memory_mask": ...,
    "condition": ...}``; :meth:`generation_context` computes it once per
    ``generate`` call, before the decoding loop.

    Args:
        vocabulary_size: int, number of token ids.
        num_layers: int, number of decoder blocks.
        num_heads: int, attention heads per block.
        hidden_dim: int, model width.
        intermediate_dim: int, feed-forward width.
        max_sequence_length: int, longest sequence the model attends over.
        position_encoding: one of :attr:`position_encodings`; ``"absolute"``
            adds a learned position embedding to the tokens instead of
            encoding positions in the attention.
        condition_sizes: optional dict from condition name to its number of classes.
        conditioning_mode: ``"film"`` or ``"additive"``.
        dropout: float.
        layer_norm_epsilon: float, for the final norm and the blocks.
        padding_id: int, the id used for padding.
        end_id: optional int, the end-of-sequence id that stops generation.
        **kwargs: passed to ``keras.Model``.

    Example:

    >>> from musickit.models.music_transformer import MusicTransformer
    >>> model = MusicTransformer.from_preset("tiny", vocabulary_size=20)
    >>> isinstance(model, DecoderLanguageModel)
    True
    >>> tuple(model.empty_cache(batch_size=3, max_length=8).shape)  # (batch, layers, key/value, time, heads, head_dim)
    (3, 2, 2, 8, 2, 16)
    """

    #: The block the stack is made of; a subclass sets it.
    block_class = None
    #: The values ``position_encoding`` accepts, in the order error messages list them.
    position_encodings = ("relative", "rotary", "absolute")

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
        if position_encoding not in self.position_encodings:
            *others, last = (repr(name) for name in self.position_encodings)
            raise UsageError(f"position_encoding must be {', '.join(others)} or {last}, got {position_encoding!r}")
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

    def compile(self, *args, jit_compile="auto", **kwargs):
        """``keras.Model.compile``; on torch, ``jit_compile=True`` is turned off with one warning.

        Keras compiles the torch train step with ``torch.compile`` (dynamo). Through
        Keras' layer machinery dynamo guards on every layer's ``__call__`` (one code
        object shared by all layers, each call a different ``self`` type and argument
        dtype: token ids, then float activations) and on Python-side layer state, so
        it keeps recompiling (and spends minutes per step on a CPU, issue 12) instead
        of settling on one graph. Eager torch (what ``"auto"`` picks) is the fast path.
        """
        if keras.backend.backend() == "torch" and jit_compile is True:
            warnings.warn(
                "jit_compile=True on torch makes dynamo recompile musickit's decoders; training eagerly", stacklevel=2
            )
            jit_compile = False
        return super().compile(*args, jit_compile=jit_compile, **kwargs)

    # -- layers: a subclass's constructor creates them in its own order ----------------------------

    # The subclass, not this constructor, creates the layers, so each keeps
    # the order it always had: unseeded initializers draw their seeds as they
    # are created (what keras.utils.set_random_seed reproduces), and the
    # order of ``weights`` (which optimizer slots follow) is the tracking order.

    def create_embeddings(self):
        """Create the tied token embedding and, for ``"absolute"`` positions, the position embedding."""
        policy = self.dtype_policy
        # Tied input/output embeddings (keras.layers.ReversibleEmbedding) halve
        # the parameters a small vocabulary model spends outside the blocks.
        self.token_embedding = keras.layers.ReversibleEmbedding(
            self.vocabulary_size,
            self.hidden_dim,
            tie_weights=True,
            reverse_dtype="float32",
            embeddings_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=policy,
            name="token_embedding",
        )
        self.position_embedding = None
        if self.position_encoding == "absolute":
            self.position_embedding = PositionEmbedding(
                self.max_sequence_length, dtype=policy, name="position_embedding"
            )

    def create_decoder_stack(self):
        """Create the embedding dropout, ``num_layers`` blocks of :attr:`block_class` and the final norm."""
        policy = self.dtype_policy
        self.embedding_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.blocks = [self.block_class(**self.block_arguments(index)) for index in range(self.num_layers)]
        self.final_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="final_norm"
        )

    def build_input_layers(self):
        """Build what the subclass embeds besides tokens (conditions, memories); called first by :meth:`build`."""

    def block_arguments(self, index):
        """Constructor arguments of block ``index``; a subclass adds its block's own."""
        return {
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            # Absolute positions are added to the tokens; the attention then needs none of its own.
            "position_encoding": "none" if self.position_encoding == "absolute" else self.position_encoding,
            "max_relative_distance": self.max_sequence_length,
            "conditioning_mode": self.conditioning_mode if self.condition_sizes else None,
            "dropout": self.dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "dtype": self.dtype_policy,
            "name": f"block_{index}",
        }

    def build(self, input_shape=None):
        # Sub-layers get fixed shapes, so the model builds the same whichever
        # entry point (call, call_with_cache, generate, loading) comes first.
        self.build_input_layers()
        sequence_shape = (None, None, self.hidden_dim)
        shapes = [(self.token_embedding, (None, None)), (self.position_embedding, sequence_shape)]
        shapes += [(block, sequence_shape) for block in self.blocks] + [(self.final_norm, sequence_shape)]
        for layer, shape in shapes:
            if layer is not None and not layer.built:
                layer.build(shape)
        self.built = True

    # -- forward passes -------------------------------------------------------------------------

    def generation_context(self, inputs):
        """The context every decoding step reads, from the checked per-row ``inputs`` of a ``generate`` call.

        :func:`~musickit.generation.cached_decoding.generate_rows` computes it
        once per call, inside the compiled function and before the loop; here
        it is the condition vector that ``embed_conditions`` makes of ``inputs``.
        """
        return {"condition": self.embed_conditions(inputs)}

    def _embed_tokens(self, token_ids, start_index=0):
        embedded = self.token_embedding(token_ids)
        if self.position_embedding is not None:
            embedded = embedded + self.position_embedding(embedded, start_index=start_index)
        return embedded

    def _logits(self, normalized):
        return ops.cast(self.token_embedding(normalized, reverse=True), "float32")

    def decoder_states(self, token_ids, context=None, training=None):
        """``(batch, time, hidden_dim)`` final normalised states for ``token_ids``, every block reading ``context``."""
        context = context or {}
        hidden = self.embedding_dropout(self._embed_tokens(token_ids), training=training)
        for block in self.blocks:
            hidden = block(hidden, **context, training=training)
        return self.final_norm(hidden)

    def decode(self, token_ids, context=None, training=None):
        """``(batch, time, vocabulary_size)`` float32 logits for ``token_ids``, every block reading ``context``."""
        return self._logits(self.decoder_states(token_ids, context, training))

    def decode_with_cache(self, token_ids, cache, cache_update_index, context=None):
        """:meth:`decode` for ``token_ids`` placed at ``cache_update_index``, reading and updating the key/value cache.

        Args:
            token_ids: ``(batch, time)`` ids; ``time`` is the prompt for the
                prefill pass and 1 for each decoding step.
            cache: ``(batch, num_layers, 2, max_length, num_heads, head_dim)``,
                as :meth:`empty_cache` makes it.
            cache_update_index: int or int tensor, position of ``token_ids[:, 0]``.
            context: optional dict of block keyword arguments.

        Returns:
            ``(logits, hidden_states, cache)`` as in keras_hub's CausalLM.
        """
        if not self.built:
            self.build()
        context = context or {}
        hidden = self._embed_tokens(token_ids, start_index=cache_update_index)
        updated_caches = []
        for layer_index, block in enumerate(self.blocks):
            hidden, layer_cache = block(
                hidden, **context, cache=cache[:, layer_index, ...], cache_update_index=cache_update_index
            )
            updated_caches.append(layer_cache)
        hidden = self.final_norm(hidden)
        return self._logits(hidden), hidden, ops.stack(updated_caches, axis=1)

    def empty_cache(self, batch_size, max_length):
        """A zero key/value cache for ``batch_size`` sequences of ``max_length`` tokens."""
        head_dim = self.hidden_dim // self.num_heads
        shape = (batch_size, self.num_layers, 2, max_length, self.num_heads, head_dim)
        return ops.zeros(shape, dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({name: getattr(self, name) for name in DECODER_SETTINGS})
        return config
