"""Music Transformer: the decoder-only baseline over REMI or performance-event tokens.

A stack of :class:`~musickit.layers.MusicTransformerBlock` over token
embeddings, with relative (default), rotary or learned absolute positions,
optional style/emotion/tempo conditioning at every block, tied input/output
embeddings, and KerasHub-style cached decoding (:meth:`call_with_cache`,
:meth:`generate`).
"""

import inspect

import keras

from musickit.errors import UsageError
from musickit.layers.conditioning import ConditionEmbedding
from musickit.layers.transformer_block import MusicTransformerBlock
from musickit.models.decoder_base import DECODER_PRESETS, DecoderLanguageModel

#: The sizes ``from_preset`` knows; the hierarchical transformer's decoder uses the same ones.
PRESETS = DECODER_PRESETS


@keras.saving.register_keras_serializable(package="musickit")
class MusicTransformer(DecoderLanguageModel):
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
    block_class = MusicTransformerBlock

    def __init__(self, *args, **kwargs):
        # Every argument is DecoderLanguageModel's (listed above; its get_config saves them): this model
        # adds only the condition embedding, so its parameter list is not spelled out twice.
        super().__init__(*args, **kwargs)
        self.create_embeddings()
        self.condition_embedding = None
        if self.condition_sizes:
            self.condition_embedding = ConditionEmbedding(
                self.condition_sizes, self.hidden_dim, dtype=self.dtype_policy, name="conditions"
            )
        self.create_decoder_stack()

    # help(), inspect and the tuner's constructor_defaults see the base class's parameters.
    __init__.__signature__ = inspect.signature(DecoderLanguageModel.__init__)

    @classmethod
    def from_preset(cls, preset, vocabulary_size, **overrides):
        """Build a freshly initialised model from a named size (``tiny``, ``small``, ``base``, ``paper``).

        Presets are architectures, not trained weights; ``overrides`` change
        any constructor argument, e.g. ``position_encoding="rotary"``.
        """
        if preset not in PRESETS:
            raise UsageError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        return cls(vocabulary_size=vocabulary_size, **(PRESETS[preset] | overrides))

    def build_input_layers(self):
        if self.condition_embedding is not None and not self.condition_embedding.built:
            self.condition_embedding.build()

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

    def call(self, inputs, training=None):
        token_ids, conditions = self._split_inputs(inputs)
        return self.decode(token_ids, {"condition": self.embed_conditions(conditions)}, training=training)

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
        return self.decode_with_cache(token_ids, cache, cache_update_index, {"condition": condition})

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
        config["layer_norm_epsilon"] = self.layer_norm_epsilon
        return config
