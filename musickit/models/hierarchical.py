"""Hierarchical transformer: a snippet encoder and a decoder that writes a whole piece in a given form.

A :class:`~musickit.layers.snippet_encoder.SnippetEncoder` compresses a short excerpt of each section (A, B,
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

from musickit.errors import UsageError
from musickit.generation.cached_decoding import condition_ids, generate_rows, prompt_rows
from musickit.layers.copy_head import CopyHead
from musickit.layers.cross_attention_block import CrossAttentionDecoderBlock
from musickit.layers.snippet_encoder import ENCODER_PRESETS, SnippetEncoder
from musickit.models.decoder_base import DECODER_PRESETS, DecoderLanguageModel
from musickit.representations.conditions import SECTION_LETTERS


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
        copy_head: bool, mix a :class:`~musickit.layers.copy_head.CopyHead`
            (a learned pointer over the tokens already written; with section
            tokens, over the earlier statements of the section being written)
            into the next-token distribution, so a returning section can be
            copied from its first statement in the context. The outputs are
            then log-probabilities, which serve as logits.
        section_token_ids, bar_token_id, position_token_ids: the ids of the
            section tokens (``SECTION_A`` ...), of the ``Bar`` token and of the
            ``Position`` tokens in order: the copy head learns how much to copy
            from an earlier statement of the section being written, at the same
            time of its bar, from the same token (see :func:`copy_relations`).
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
        copy_head=False,
        section_token_ids=(),
        bar_token_id=None,
        position_token_ids=(),
        dropout=0.1,
        padding_id=0,
        end_id=None,
        **kwargs,
    ):
        super().__init__(
            vocabulary_size,
            num_layers,
            num_heads,
            hidden_dim,
            intermediate_dim,
            max_sequence_length,
            position_encoding=position_encoding,
            condition_sizes=condition_sizes,
            conditioning_mode=conditioning_mode,
            # Not a setting of this model (its config has no such key): passing it fails as it always did.
            dropout=dropout,
            layer_norm_epsilon=1e-5,
            padding_id=padding_id,
            end_id=end_id,
            **kwargs,
        )
        self.encoder = keras.saving.deserialize_keras_object(encoder) if isinstance(encoder, dict) else encoder
        self.max_sections = int(max_sections)
        self.adapter_dim = int(adapter_dim)
        self.gate_initial_value = float(gate_initial_value)
        self.create_embeddings()
        policy = self.dtype_policy
        # Encoder width -> decoder width, plus which section each memory summarises.
        self.memory_projection = keras.layers.Dense(self.hidden_dim, dtype=policy, name="memory_projection")
        self.section_embedding = keras.layers.Embedding(
            self.max_sections, self.hidden_dim, dtype=policy, name="section_embedding"
        )
        self.condition_embeddings = {
            name: keras.layers.Embedding(size, self.hidden_dim, dtype=policy, name=f"{name}_embedding")
            for name, size in sorted(self.condition_sizes.items())
        }
        self.create_decoder_stack()
        self.section_token_ids = tuple(int(token) for token in section_token_ids)
        self.bar_token_id = None if bar_token_id is None else int(bar_token_id)
        self.position_token_ids = tuple(int(token) for token in position_token_ids)
        self._time_markers = time_markers(
            self.vocabulary_size, self.section_token_ids, self.bar_token_id, self.position_token_ids
        )
        relations = len(COPY_RELATIONS) if self.section_token_ids else 0
        # Created last, so a model without it initialises every other layer as it always did.
        self.copy_head = (
            CopyHead(self.hidden_dim, num_relations=relations, dtype=policy, name="copy_head") if copy_head else None
        )

    def block_arguments(self, index):
        return super().block_arguments(index) | {
            "adapter_dim": self.adapter_dim,
            "gate_initial_value": self.gate_initial_value,
        }

    @classmethod
    def from_preset(
        cls,
        preset,
        vocabulary_size,
        encoder_preset=None,
        snippet_length=256,
        num_memory_vectors=4,
        num_styles=0,
        **overrides,
    ):
        """A fresh model of a named size (``tiny``, ``small``, ``base``, ``paper``) for decoder and encoder."""
        encoder_preset = encoder_preset or preset
        if preset not in DECODER_PRESETS or encoder_preset not in ENCODER_PRESETS:
            raise UsageError(f"unknown preset {preset!r}/{encoder_preset!r}; choose one of {sorted(DECODER_PRESETS)}")
        encoder = SnippetEncoder(
            vocabulary_size,
            snippet_length=snippet_length,
            num_memory_vectors=num_memory_vectors,
            num_styles=num_styles,
            padding_id=overrides.get("padding_id", 0),
            name="snippet_encoder",
            **ENCODER_PRESETS[encoder_preset],
        )
        return cls(vocabulary_size=vocabulary_size, encoder=encoder, **(DECODER_PRESETS[preset] | overrides))

    def build_input_layers(self):
        if not self.encoder.built:
            self.encoder.build()
        self.memory_projection.build((None, None, self.encoder.hidden_dim))
        self.section_embedding.build((None, None))
        for embedding in self.condition_embeddings.values():
            embedding.build((None,))
        if self.copy_head is not None and not self.copy_head.built:
            self.copy_head.build((None, None, self.hidden_dim))

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

    # -- the copy head: the same mixture teacher-forced and step by step ------------------------------

    def decode(self, token_ids, context=None, training=None):
        if self.copy_head is None:
            return super().decode(token_ids, context, training)
        hidden = self.decoder_states(token_ids, context, training)
        token_ids = ops.cast(token_ids, "int32")
        # Position j offers the token after it (token_ids[j + 1]) to every later position t > j.
        next_ids = ops.concatenate([token_ids[:, 1:], ops.full_like(token_ids[:, :1], self.padding_id)], axis=1)
        length = ops.shape(token_ids)[1]
        earlier = ops.arange(length)[None, :, None] > ops.arange(length)[None, None, :]
        allowed = ops.logical_and(earlier, ops.not_equal(next_ids, self.padding_id)[:, None, :])
        relations = copy_relations(token_ids, self.section_token_ids, self._time_markers, 0, length)
        allowed = self.copy_sources(allowed, relations)
        return self.copy_head(self._logits(hidden), hidden, self.copy_head.keys(hidden), next_ids, allowed, relations)

    @staticmethod
    def copy_sources(allowed, relations):
        """The positions the copy head may copy from: with section tokens, earlier statements of the section only.

        Copying from anywhere (a neural cache) fed every section its own recent notes: in a cpu-preset run's
        pieces one pitch sounded 12.6 quarters at a stretch against the chorales' 5.8, and the notes got longer
        (mean overlap 0.74 against 0.77; benchmarks/RESULTS.md, issue 17). A first statement is the decoder's
        alone.
        """
        if relations is None:
            return allowed
        return ops.logical_and(allowed, relations[..., 0] > 0)

    def empty_cache(self, batch_size, max_length):
        """The blocks' key/value cache; with a copy head one more slot holds its keys and the token ids."""
        cache = super().empty_cache(batch_size, max_length)
        if self.copy_head is None:
            return cache
        return ops.concatenate([cache, ops.zeros_like(cache[:, :1])], axis=1)

    def decode_with_cache(self, token_ids, cache, cache_update_index, context=None):
        if self.copy_head is None:
            return super().decode_with_cache(token_ids, cache, cache_update_index, context)
        logits, hidden, block_cache = super().decode_with_cache(
            token_ids, cache[:, : self.num_layers], cache_update_index, context
        )
        # The extra slot: keys in [:, 0] (hidden_dim = heads x head_dim), each position's id in [:, 1, :, 0, :2] as
        # two base-64 digits (exact in every float dtype, bfloat16 included), for vocabularies of up to 4096 ids.
        slot = cache[:, self.num_layers]
        batch_size, max_length = ops.shape(slot)[0], ops.shape(slot)[2]
        keys = ops.reshape(slot[:, 0], (batch_size, max_length, self.hidden_dim))
        keys = ops.slice_update(keys, [0, cache_update_index, 0], ops.cast(self.copy_head.keys(hidden), keys.dtype))
        token_ids = ops.cast(token_ids, "int32")
        digits = ops.stack([token_ids // 64, token_ids % 64], axis=-1)
        stored = ops.slice_update(
            ops.cast(slot[:, 1, :, 0, :2], "int32"), [0, cache_update_index, 0], digits
        )  # (batch, max_length, 2)
        ids = stored[..., 0] * 64 + stored[..., 1]
        next_ids = ops.concatenate([ids[:, 1:], ops.full_like(ids[:, :1], self.padding_id)], axis=1)
        queries = cache_update_index + ops.arange(ops.shape(token_ids)[1])
        earlier = queries[None, :, None] > ops.arange(max_length)[None, None, :]
        allowed = ops.logical_and(earlier, ops.not_equal(next_ids, self.padding_id)[:, None, :])
        relations = copy_relations(
            ids, self.section_token_ids, self._time_markers, cache_update_index, ops.shape(token_ids)[1]
        )
        allowed = self.copy_sources(allowed, relations)
        log_probabilities = self.copy_head(logits, hidden, keys, next_ids, allowed, relations)
        head_dim = self.hidden_dim // self.num_heads
        stored = ops.cast(ops.reshape(stored, (batch_size, max_length, 1, 2)), slot.dtype)
        values = ops.slice_update(ops.zeros_like(slot[:, 1]), [0, 0, 0, 0], stored)
        slot = ops.stack([ops.reshape(keys, (batch_size, max_length, self.num_heads, head_dim)), values], axis=1)
        cache = ops.concatenate([block_cache, ops.expand_dims(ops.cast(slot, block_cache.dtype), 1)], axis=1)
        return log_probabilities, hidden, cache

    def call_with_cache(self, token_ids, cache, cache_update_index, context=None):
        """One cached forward pass, as keras_hub's CausalLM: ``(logits, hidden_states, cache)``."""
        return self.decode_with_cache(token_ids, cache, cache_update_index, context)

    # -- parameter groups for staged training ---------------------------------------------------------

    def cross_attention_layers(self):
        """What stage A trains: cross-attention, gates, adapters, memory projection, section and condition
        embeddings."""
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

    def generate(
        self,
        prompt_ids,
        max_length,
        snippets=None,
        conditions=None,
        sampler="greedy",
        processors=(),
        seed=None,
        stop_token_ids="auto",
        use_cache=True,
        buffer_length=None,
        **sampler_options,
    ):
        """Continue each prompt token by token, reading the memories of ``snippets``.

        Args:
            prompt_ids: list of id sequences (e.g. ``[STYLE_bach, SECTION_A, Bar]``).
            max_length: total length, prompt included.
            snippets: ``{"A": ids, "B": ids, ...}`` shared by all prompts, or a
                dict of arrays as :meth:`snippet_inputs` returns.
            conditions: ``{"style": class id, ...}`` (a scalar or one per prompt; -1: unknown).
            sampler, processors, seed, stop_token_ids, use_cache, **sampler_options:
                as in :func:`musickit.generation.cached_decoding.generate` (beam
                search included: the memories follow each row's beams).
            buffer_length: as in :func:`musickit.generation.cached_decoding.generate_rows`: one buffer
                length for the sections of a piece, so they share one compiled function.

        Returns:
            One list of ids per prompt, up to and including the end token. The
            memories are encoded once per call (inside the compiled function,
            by :meth:`generation_context`); every step only reads them.
        """
        rows = prompt_rows(prompt_ids, int(max_length), self)
        if not snippets:
            raise UsageError("the hierarchical model needs at least one snippet, e.g. snippets={'A': ids}")
        if "snippet_ids" in snippets:
            inputs = {name: np.asarray(value) for name, value in snippets.items()}
            if len(inputs["snippet_ids"]) != len(rows):
                raise UsageError(f"{len(inputs['snippet_ids'])} snippet rows for {len(rows)} prompts")
        else:
            inputs = self.snippet_inputs(snippets, batch_size=len(rows))
        checked = condition_ids(conditions, self.condition_sizes, len(rows), allow_unknown=True)
        inputs.update({f"{name}_id": ids for name, ids in checked.items()})
        return generate_rows(
            self,
            rows,
            max_length,
            inputs,
            sampler=sampler,
            processors=processors,
            seed=seed,
            stop_token_ids=stop_token_ids,
            use_cache=use_cache,
            buffer_length=buffer_length,
            **sampler_options,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "max_sections": self.max_sections,
                "adapter_dim": self.adapter_dim,
                "gate_initial_value": self.gate_initial_value,
                "copy_head": self.copy_head is not None,
                "section_token_ids": list(self.section_token_ids),
                "bar_token_id": self.bar_token_id,
                "position_token_ids": list(self.position_token_ids),
            }
        )
        return config


#: The most section statements a sequence is read as holding (later ones count as the last); a piece has a few.
MAX_STATEMENTS = 16
#: The relations :func:`copy_relations` gives the copy head, in order.
COPY_RELATIONS = ("earlier_statement", "same_time", "same_time_and_token")
_NOT_A_MARKER = -100


def time_markers(vocabulary_size, section_token_ids, bar_token_id, position_token_ids):
    """``(vocabulary_size,)`` int table read by :func:`copy_relations`: a ``Position_p`` token's ``p``, -2 for the
    bar line, -1 for a section token, and a sentinel for every other token (they do not move the time)."""
    table = np.full(vocabulary_size, _NOT_A_MARKER, "int32")
    table[list(position_token_ids)] = np.arange(len(position_token_ids))
    if bar_token_id is not None:
        table[bar_token_id] = -2
    table[list(section_token_ids)] = -1
    return table


def copy_relations(token_ids, section_token_ids, markers, query_start, query_length):
    """``(batch, queries, time, 3)`` float: how each position ``j`` relates to each query ``t`` (the
    :data:`COPY_RELATIONS`), or ``None`` without section tokens.

    - ``earlier_statement``: ``j`` lies in an earlier statement of ``t``'s section (a statement runs from a
      section token to the next one; tokens before the first one, the style, belong to none);
    - ``same_time``: and at the same bar of its statement and the same ``Position`` as ``t``;
    - ``same_time_and_token``: and it is the same token: what followed it there is what a reprise plays next.

    ``markers`` is :func:`time_markers`' table; queries are positions ``query_start`` ..
    ``query_start + query_length - 1``.

    >>> import numpy as np
    >>> # 9 | A Bar P0 5 | B Bar P0 6 | A Bar P0 5, with A=1, B=2, Bar=3, Position_0=4
    >>> markers = time_markers(10, (1, 2), 3, [4])
    >>> ids = np.array([[9, 1, 3, 4, 5, 2, 3, 4, 6, 1, 3, 4, 5]])
    >>> relations = keras.ops.convert_to_numpy(copy_relations(ids, (1, 2), markers, 11, 2))[0].astype(int)
    >>> relations[..., 0].tolist()  # the returning A's Position_0 and note 5 are related to the first A
    [[0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]]
    >>> relations[..., 1].tolist()  # ... at the same time: Position_0 of its first bar and the note there
    [[0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]]
    >>> relations[..., 2].tolist()  # ... and the same token
    [[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]]
    """
    if not section_token_ids:
        return None
    token_ids = ops.cast(token_ids, "int32")
    batch_size, length = ops.shape(token_ids)[0], ops.shape(token_ids)[1]
    letters = ops.zeros_like(token_ids)
    for number, token in enumerate(section_token_ids, start=1):
        letters = ops.where(ops.equal(token_ids, token), number, letters)
    is_section = letters > 0
    statement = ops.minimum(ops.cumsum(ops.cast(is_section, "int32"), axis=1), MAX_STATEMENTS - 1)
    membership = ops.one_hot(statement, MAX_STATEMENTS, dtype="float32")  # (batch, time, statements)
    # Each statement's letter (the one section token inside it; 0 for the opening) and bars before it.
    statement_letters = ops.einsum("bts,bt->bs", membership, ops.cast(letters, "float32"))
    label = ops.cast(ops.einsum("bts,bs->bt", membership, statement_letters), "int32")
    marker = ops.take(ops.convert_to_tensor(markers), token_ids, axis=0)
    bars = ops.cumsum(ops.cast(ops.equal(marker, -2), "float32"), axis=1)
    bars_before = ops.einsum("bts,bt->bs", membership, bars * ops.cast(is_section, "float32"))
    bar_in_statement = ops.cast(bars - ops.einsum("bts,bs->bt", membership, bars_before), "int32")
    # The time inside the bar: the last marker (bar line, Position, section token) at or before each position.
    positions = ops.arange(length)
    is_marker = ops.not_equal(marker, _NOT_A_MARKER)
    candidates = ops.where(
        ops.logical_and(positions[None, None, :] <= positions[None, :, None], is_marker[:, None, :]),
        positions[None, None, :],
        -1,
    )
    last_marker = ops.max(candidates, axis=-1)  # (batch, time)
    step = ops.where(last_marker >= 0, ops.take_along_axis(marker, ops.maximum(last_marker, 0), axis=1), -3)
    time = bar_in_statement * 1000 + step

    def queries(values):
        return ops.slice(values, [0, query_start], [batch_size, query_length])[:, :, None]

    earlier = ops.logical_and(
        ops.logical_and(ops.equal(queries(label), label[:, None, :]), queries(label) > 0),
        ops.not_equal(queries(statement), statement[:, None, :]),
    )
    same_time = ops.logical_and(earlier, ops.equal(queries(time), time[:, None, :]))
    same_token = ops.logical_and(same_time, ops.equal(queries(token_ids), token_ids[:, None, :]))
    return ops.cast(ops.stack([earlier, same_time, same_token], axis=-1), "float32")
