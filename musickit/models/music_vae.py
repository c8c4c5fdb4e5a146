"""Transformer VAE over music tokens: a global latent and one latent per bar, read by every decoder block.

The encoder (bidirectional keras_hub ``TransformerEncoder`` blocks over the
tied token embedding) pools the segment into a global vector and each bar's
tokens into a bar vector; :class:`~musickit.layers.latent.GaussianLatent`
turns them into posteriors and reparameterised samples. The decoder is the
musickit decoder (:class:`~musickit.models.decoder_base.DecoderLanguageModel`)
built of :class:`~musickit.layers.latent.LatentInjectedBlock`: each token reads
``[z_global, z_bar(token)]`` at every block, where the token's bar is counted
from the tokens themselves (REMI ``Bar`` tokens, or performance time shifts).

With ``beats_per_bar > 1`` (REMI) each bar latent is written and read beat by
beat: the encoder pools each beat of the bar apart and the bar's posterior
reads the beats side by side, and a decoder token reads ``z_bar`` through the
projection of its own beat (its features are ``z_bar`` placed in its beat's
slot, zeros elsewhere). A bar's mean pools away when its notes sound; read
this way, what the latent says about beat 3 reaches the tokens of beat 3.

Cached decoding runs through the shared engine
(:func:`musickit.generation.cached_decoding.generate_rows`), so every sampler
and logits processor works. The running bar position of each sequence rides in
one extra slot of the key/value cache, so a one-token step knows its bar
without seeing the earlier tokens.

Training is plain ``fit()``: the KL cost (free bits per dimension, a weight
annealed by the model's own step counter, so the schedule is part of the
model's state on every backend) is added with ``add_loss``; compile with
:class:`~musickit.losses.sequence.SequenceCrossEntropy` for the reconstruction.
"""

import keras
import numpy as np
from keras import ops
from keras_hub.layers import PositionEmbedding, TransformerEncoder

from musickit.errors import UsageError
from musickit.layers.latent import (
    GaussianLatent,
    LatentInjectedBlock,
    bar_indices,
    bar_pooling,
    bars_from_positions,
    beat_indices,
    carried_marker_values,
)
from musickit.losses.vae import free_bits_kl, gaussian_kl, kl_weight
from musickit.models.decoder_base import DecoderLanguageModel

#: Sizes for ``MusicVAE.from_preset``: the decoder of ``DECODER_PRESETS`` plus the encoder and latents.
PRESETS = {
    "tiny": dict(num_layers=2, num_heads=2, hidden_dim=32, intermediate_dim=64, max_sequence_length=256),
    "small": dict(num_layers=3, num_heads=4, hidden_dim=128, intermediate_dim=384, max_sequence_length=512),
    "base": dict(num_layers=6, num_heads=8, hidden_dim=512, intermediate_dim=2048, max_sequence_length=1024),
}

#: The fewest rows a decode or a batch of the VAE's measures runs with (see :func:`padded_row_count`).
SMALLEST_ROW_COUNT = 4


def padded_row_count(rows):
    """The rows a batch of ``rows`` is padded to: the next power of two, at least :data:`SMALLEST_ROW_COUNT`.

    Compiled programs are specialised to their input shapes: calls of 1, 2, 3 or 4 rows (a reconstruction, an
    interpolation, prior samples, a gate) all run one program of 4 rows instead of compiling one each.

    >>> [padded_row_count(rows) for rows in (1, 4, 5, 64)]
    [4, 4, 8, 64]
    """
    return max(SMALLEST_ROW_COUNT, 1 << max(int(rows) - 1, 0).bit_length())


VAE_SETTINGS = (
    "encoder_layers",
    "num_bars",
    "global_latent_dim",
    "bar_latent_dim",
    "beats_per_bar",
    "bar_increments",
    "bar_offset",
    "free_bits",
    "kl_schedule",
    "kl_warmup_steps",
    "kl_anneal_steps",
    "kl_cycles",
    "kl_max_weight",
    "token_dropout",
    "use_latents",
    "bos_id",
    "mask_id",
    "seed",
    "fitted_prior",
    "prior_components",
)


@keras.saving.register_keras_serializable(package="musickit")
class MusicVAE(DecoderLanguageModel):
    """Transformer VAE with a hierarchical (global + per-bar) latent over token segments.

    Args:
        vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
        max_sequence_length, position_encoding, dropout, layer_norm_epsilon,
        padding_id, end_id: the decoder's, as for
            :class:`~musickit.models.decoder_base.DecoderLanguageModel`.
        encoder_layers: int, bidirectional encoder blocks.
        num_bars: int, bars per segment (one latent each).
        global_latent_dim, bar_latent_dim: int, latent sizes.
        beats_per_bar: int, the beats a bar latent is pooled and read by (1: the
            whole bar at once; beats past the last share its slot).
        marker_beats: dict ``{token id: beat}`` of the tokens that set the beat
            (REMI: ``Bar`` 0, ``Position_p`` ``p // steps_per_quarter``); needed
            when ``beats_per_bar > 1``.
        bar_increments: dict ``{token id: share of a bar}`` (REMI: ``{bar_id: 1.0}``).
        bar_offset: float, subtracted from the running bar position (1 for
            REMI, whose first ``Bar`` token opens bar 0).
        free_bits: float, nats per latent dimension the KL cost never goes below.
        kl_schedule: ``"monotonic"``, ``"cyclical"`` or ``"constant"``
            (see :func:`~musickit.losses.vae.kl_weight`).
        kl_warmup_steps: int, reconstruction-only steps before the KL weight rises.
        kl_anneal_steps, kl_cycles, kl_max_weight: the schedule's length, cycles and top.
        token_dropout: float, share of decoder input tokens replaced by
            ``mask_id`` in training (word dropout: the decoder must lean on ``z``).
        use_latents: bool; ``False`` trains the decoder alone as a language
            model (the ``transformer`` stage).
        bos_id: int, the token the decoder starts from.
        mask_id: optional int, the token dropout writes.
        seed: optional int seed of the posterior samples and token dropout.
        fitted_prior: bool; ``True`` keeps a Gaussian over all the latents
            (``prior_mean``, ``prior_scale``: a mean and a Cholesky factor, saved
            with the weights) that :meth:`fit_prior` fits to the encoder's
            latents after training, and :meth:`sample_prior` samples it instead
            of ``N(0, I)``. Until fitted it is ``N(0, I)``.
        prior_components: int; with ``fitted_prior``, a positive number keeps
            that many of the training segments' posteriors instead of one
            Gaussian (``prior_mean`` and ``prior_scale`` then hold one mean and
            one diagonal scale per component): the prior is their equal
            mixture, the aggregate posterior itself.

    Call arguments:
        inputs: integer ``(batch, time)`` segment ids (padded with ``padding_id``).
        training: bool.

    Returns:
        ``(batch, time, vocabulary_size)`` float32 logits: the decoder,
        started from ``bos_id``, predicting each segment token from ``z``
        (the posterior sample in training, its mean otherwise).

    Example:

    >>> import numpy as np
    >>> model = MusicVAE.from_preset("tiny", vocabulary_size=12, num_bars=2, bar_increments={3: 1.0}, bos_id=1)
    >>> tuple(model(np.array([[3, 5, 6, 3, 7, 0]])).shape)
    (1, 6, 12)
    >>> latents = model.sample_prior(2, seed=0)
    >>> len(model.generate(latents, max_length=8, sampler="greedy")[0]) <= 8
    True

    References:
        - [Roberts et al., 2018, MusicVAE](https://arxiv.org/abs/1803.05428)
        - [Wu & Yang, 2021, MuseMorphose](https://arxiv.org/abs/2105.04090)
    """

    block_class = LatentInjectedBlock

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        max_sequence_length,
        encoder_layers=2,
        num_bars=4,
        global_latent_dim=16,
        bar_latent_dim=8,
        beats_per_bar=1,
        marker_beats=None,
        bar_increments=None,
        bar_offset=1.0,
        free_bits=0.1,
        kl_schedule="monotonic",
        kl_warmup_steps=0,
        kl_anneal_steps=1000,
        kl_cycles=4,
        kl_max_weight=1.0,
        token_dropout=0.0,
        use_latents=True,
        bos_id=1,
        mask_id=None,
        seed=None,
        fitted_prior=False,
        prior_components=0,
        position_encoding="relative",
        dropout=0.1,
        layer_norm_epsilon=1e-5,
        padding_id=0,
        end_id=None,
        **kwargs,
    ):
        kwargs.pop("condition_sizes", None)
        kwargs.pop("conditioning_mode", None)
        super().__init__(
            vocabulary_size,
            num_layers,
            num_heads,
            hidden_dim,
            intermediate_dim,
            max_sequence_length,
            position_encoding=position_encoding,
            dropout=dropout,
            layer_norm_epsilon=layer_norm_epsilon,
            padding_id=padding_id,
            end_id=end_id,
            **kwargs,
        )
        if not bar_increments:
            raise UsageError("bar_increments is empty: name the tokens that advance the bar, e.g. {bar_id: 1.0}")
        if int(beats_per_bar) > 1 and not marker_beats:
            raise UsageError("beats_per_bar > 1 needs marker_beats: the tokens that set the beat, e.g. {bar_id: 0}")
        if token_dropout and mask_id is None:
            raise UsageError("token_dropout needs a mask_id to write in place of the dropped tokens")
        self.encoder_layers = int(encoder_layers)
        self.num_bars = int(num_bars)
        self.global_latent_dim = int(global_latent_dim)
        self.bar_latent_dim = int(bar_latent_dim)
        self.beats_per_bar = int(beats_per_bar)
        self.marker_beats = {int(token): int(beat) for token, beat in (marker_beats or {}).items()}
        self.bar_increments = {int(token): float(share) for token, share in bar_increments.items()}
        self.bar_offset = float(bar_offset)
        self.free_bits = float(free_bits)
        self.kl_schedule = kl_schedule
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.kl_anneal_steps = int(kl_anneal_steps)
        self.kl_cycles = int(kl_cycles)
        self.kl_max_weight = float(kl_max_weight)
        self.token_dropout = float(token_dropout)
        self.use_latents = bool(use_latents)
        self.bos_id = int(bos_id)
        self.mask_id = None if mask_id is None else int(mask_id)
        self.seed = seed
        self.fitted_prior = bool(fitted_prior)
        self.prior_components = int(prior_components)
        if self.prior_components < 0 or (self.prior_components and not self.fitted_prior):
            raise UsageError(f"prior_components={prior_components}: use 0, or a positive number with fitted_prior=True")
        table = np.zeros(self.vocabulary_size, "float32")
        for token, share in self.bar_increments.items():
            table[token] = share
        self._increment_table = table
        beats = np.full(self.vocabulary_size, -1, "int32")
        for token, beat in self.marker_beats.items():
            beats[token] = min(max(beat, 0), self.beats_per_bar - 1)
        self._marker_table = beats

        self.create_embeddings()
        policy = self.dtype_policy
        self.encoder_position_embedding = PositionEmbedding(
            self.max_sequence_length, dtype=policy, name="encoder_position_embedding"
        )
        self.encoder_blocks = [
            TransformerEncoder(
                self.intermediate_dim,
                self.num_heads,
                dropout=self.dropout,
                activation="gelu",
                normalize_first=True,
                dtype=policy,
                name=f"encoder_block_{index}",
            )
            for index in range(self.encoder_layers)
        ]
        self.encoder_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="encoder_norm"
        )
        self.global_posterior = GaussianLatent(self.global_latent_dim, seed=seed, dtype=policy, name="global_posterior")
        bar_seed = None if seed is None else seed + 1
        self.bar_posterior = GaussianLatent(self.bar_latent_dim, seed=bar_seed, dtype=policy, name="bar_posterior")
        self.dropout_seed_generator = keras.random.SeedGenerator(None if seed is None else seed + 2)
        self.create_decoder_stack()

    @classmethod
    def from_preset(cls, preset, vocabulary_size, **overrides):
        """A fresh model of a named size (``tiny``, ``small``, ``base``), ``overrides`` on top."""
        if preset not in PRESETS:
            raise UsageError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        return cls(vocabulary_size=vocabulary_size, **(PRESETS[preset] | overrides))

    @property
    def latent_features(self):
        """Width of the latent vector each token reads: the global latent, then a bar-latent slot per beat."""
        return self.global_latent_dim + self.beats_per_bar * self.bar_latent_dim

    @property
    def latent_size(self):
        """Width of all of a segment's latents side by side: the global latent, then each bar's."""
        return self.global_latent_dim + self.num_bars * self.bar_latent_dim

    def build(self, input_shape=None):
        super().build(input_shape)
        sequence_shape = (None, None, self.hidden_dim)
        self.encoder_position_embedding.build(sequence_shape)
        for block in self.encoder_blocks:
            if not block.built:
                block.build(sequence_shape)
        self.encoder_norm.build(sequence_shape)
        self.global_posterior.build((None, self.hidden_dim))
        self.bar_posterior.build((None, self.num_bars, self.beats_per_bar * self.hidden_dim))
        for block in self.blocks:
            block.build_latent_projection(self.latent_features)
        if not hasattr(self, "training_step"):
            # The KL schedule reads this counter: it lives in the model's state, so it is
            # updated inside a compiled step on every backend and saved with the weights.
            self.training_step = self.add_weight(
                shape=(), initializer="zeros", dtype="float32", trainable=False, name="training_step"
            )
        if self.fitted_prior and not hasattr(self, "prior_mean"):
            size = self.latent_size
            # One Gaussian (a mean and a Cholesky factor), or a mixture of diagonal ones (unfitted: N(0, I)).
            mean_shape, scale_shape = (
                ((self.prior_components, size),) * 2 if self.prior_components else ((size,), (size, size))
            )
            self.prior_mean = self.add_weight(
                shape=mean_shape, initializer="zeros", dtype="float32", trainable=False, name="prior_mean"
            )
            self.prior_scale = self.add_weight(
                shape=scale_shape,
                initializer="ones" if self.prior_components else "identity",
                dtype="float32",
                trainable=False,
                name="prior_scale",
            )
        self.built = True

    def latent_layers(self):
        """The encoder, the posteriors and the blocks' latent projections: what the ``transformer`` stage leaves out."""
        return [
            self.encoder_position_embedding,
            *self.encoder_blocks,
            self.encoder_norm,
            self.global_posterior,
            self.bar_posterior,
            *(block.latent_projection for block in self.blocks),
        ]

    # -- encoder --------------------------------------------------------------------------------

    def token_bars(self, token_ids):
        """``(batch, time)`` bar index of each token (counted from the bar increments)."""
        return bar_indices(token_ids, self._increment_table, self.num_bars, self.bar_offset)

    def token_beats(self, token_ids):
        """``(batch, time)`` beat of each token within its bar (all 0 when ``beats_per_bar`` is 1)."""
        return beat_indices(token_ids, self._marker_table)

    def encode(self, segment_ids, sample=False, training=None):
        """The posterior of ``segment_ids``: a dict of ``global_latent``/``bar_latents`` (sampled or means),
        their ``*_mean`` and ``*_log_variance``."""
        if not self.built:
            self.build()
        segment_ids = ops.cast(segment_ids, "int32")
        mask = ops.not_equal(segment_ids, self.padding_id)
        hidden = self.token_embedding(segment_ids)
        hidden = hidden + self.encoder_position_embedding(hidden)
        for block in self.encoder_blocks:
            hidden = block(hidden, padding_mask=mask, training=training)
        hidden = self.encoder_norm(hidden)
        weights = ops.cast(ops.expand_dims(mask, -1), hidden.dtype)
        pooled = ops.sum(hidden * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        # Each beat of each bar pooled apart, then a bar's beats side by side: (batch, bars, beats * hidden).
        cells = self.token_bars(segment_ids) * self.beats_per_bar + self.token_beats(segment_ids)
        bar_features = bar_pooling(hidden, cells, mask, self.num_bars * self.beats_per_bar)
        bar_features = ops.reshape(bar_features, (-1, self.num_bars, self.beats_per_bar * self.hidden_dim))
        global_latent, global_mean, global_log_variance = self.global_posterior(pooled, sample=sample)
        bar_latents, bar_mean, bar_log_variance = self.bar_posterior(bar_features, sample=sample)
        return {
            "global_latent": global_latent,
            "bar_latents": bar_latents,
            "global_mean": global_mean,
            "global_log_variance": global_log_variance,
            "bar_mean": bar_mean,
            "bar_log_variance": bar_log_variance,
        }

    def kl_per_dimension(self, posterior):
        """``(batch, global_latent_dim + num_bars * bar_latent_dim)`` KL of each latent dimension."""
        global_kl = gaussian_kl(posterior["global_mean"], posterior["global_log_variance"])
        bar_kl = gaussian_kl(posterior["bar_mean"], posterior["bar_log_variance"])
        return ops.concatenate([global_kl, ops.reshape(bar_kl, (ops.shape(bar_kl)[0], -1))], axis=-1)

    # -- decoder --------------------------------------------------------------------------------

    def decoder_inputs(self, segment_ids):
        """The decoder's inputs for ``segment_ids``: ``bos_id`` then the segment shifted right by one."""
        segment_ids = ops.cast(segment_ids, "int32")
        start = ops.full((ops.shape(segment_ids)[0], 1), self.bos_id, dtype="int32")
        return ops.concatenate([start, segment_ids[:, :-1]], axis=1)

    def token_latents(self, bars, beats, global_latent, bar_latents):
        """``(batch, time, latent_features)``: each token's ``[z_global, z_bar in its beat's slot]``."""
        # float32 whatever the caller passed (numpy latents are often float64; PyTorch's einsum refuses to mix them)
        global_latent, bar_latents = ops.cast(global_latent, "float32"), ops.cast(bar_latents, "float32")
        chosen = ops.einsum("btk,bkd->btd", ops.one_hot(bars, self.num_bars, dtype="float32"), bar_latents)
        if self.beats_per_bar > 1:
            slots = ops.one_hot(beats, self.beats_per_bar, dtype="float32")  # (batch, time, beats)
            chosen = ops.expand_dims(slots, -1) * ops.expand_dims(chosen, -2)
            chosen = ops.reshape(chosen, (ops.shape(bars)[0], ops.shape(bars)[1], -1))
        repeated = ops.broadcast_to(
            ops.expand_dims(global_latent, 1), (ops.shape(chosen)[0], ops.shape(chosen)[1], self.global_latent_dim)
        )
        return ops.concatenate([ops.cast(repeated, "float32"), chosen], axis=-1)

    def decode_latents(self, decoder_ids, global_latent=None, bar_latents=None, training=None):
        """Teacher-forced logits of ``decoder_ids`` reading the given latents (``None``: a plain language model)."""
        if not self.built:
            self.build()
        decoder_ids = ops.cast(decoder_ids, "int32")
        latents = None
        if global_latent is not None:
            latents = self.token_latents(
                self.token_bars(decoder_ids), self.token_beats(decoder_ids), global_latent, bar_latents
            )
        inputs = decoder_ids
        if training and self.token_dropout > 0:
            # Word dropout (Bowman et al. 2016); the first token (bos) is kept, and bars are counted before it.
            noise = keras.random.uniform(ops.shape(decoder_ids), seed=self.dropout_seed_generator)
            drop = ops.logical_and(noise < self.token_dropout, ops.arange(ops.shape(decoder_ids)[1])[None, :] > 0)
            inputs = ops.where(drop, self.mask_id, decoder_ids)
        hidden = self.embedding_dropout(self._embed_tokens(inputs), training=training)
        for block in self.blocks:
            hidden = block(hidden, latents=latents, training=training)
        return self._logits(self.final_norm(hidden))

    def decode(self, token_ids, context=None, training=None):
        """Logits of ``token_ids`` (decoder inputs) reading ``context``'s latents: the engine's uncached path."""
        context = context or {}
        return self.decode_latents(token_ids, context.get("global_latent"), context.get("bar_latents"), training)

    def reconstruction_terms(self, segment_ids, training=None):
        """``(logits, kl_cost)``: teacher-forced logits and the weighted KL cost in nats per segment token.

        The KL cost is ``kl_weight(step) * free_bits_kl / tokens per segment``, so
        it sits on the scale of the per-token cross-entropy; in training the
        model's step counter advances. Without latents the cost is 0.
        """
        if not self.built:
            self.build()
        segment_ids = ops.cast(segment_ids, "int32")
        decoder_ids = self.decoder_inputs(segment_ids)
        if not self.use_latents:
            return self.decode_latents(decoder_ids, training=training), ops.zeros(())
        posterior = self.encode(segment_ids, sample=bool(training), training=training)
        logits = self.decode_latents(decoder_ids, posterior["global_latent"], posterior["bar_latents"], training)
        mask = ops.cast(ops.not_equal(segment_ids, self.padding_id), "float32")
        tokens = ops.maximum(ops.mean(ops.sum(mask, axis=1)), 1.0)
        cost = free_bits_kl(self.kl_per_dimension(posterior), self.free_bits) / tokens
        weight = kl_weight(
            self.training_step,
            self.kl_schedule,
            warmup_steps=self.kl_warmup_steps,
            anneal_steps=self.kl_anneal_steps,
            cycles=self.kl_cycles,
            max_weight=self.kl_max_weight,
        )
        if training:
            self.training_step.assign_add(1.0)
        return logits, weight * cost

    def call(self, inputs, training=None):
        logits, kl_cost = self.reconstruction_terms(inputs, training=training)
        if self.use_latents:
            self.add_loss(kl_cost)
        return logits

    # -- cached decoding through the engine ------------------------------------------------------

    def empty_cache(self, batch_size, max_length):
        """The blocks' key/value cache plus one slot holding each position's bar increment and beat marker."""
        head_dim = self.hidden_dim // self.num_heads
        shape = (batch_size, self.num_layers + 1, 2, max_length, self.num_heads, head_dim)
        return ops.zeros(shape, dtype=self.compute_dtype)

    def generation_context(self, inputs):
        """The latents the decoding steps read: ``{"global_latent", "bar_latents"}`` (none without latents)."""
        return {name: inputs.get(name) for name in ("global_latent", "bar_latents")}

    def decode_with_cache(self, token_ids, cache, cache_update_index, context=None):
        """One cached pass (prefill or a one-token step); the token's bar and beat come from the cache's extra slot.

        The slot keeps, per position, the token's bar increment and its marker beat plus one (0: no marker).
        """
        if not self.built:
            self.build()
        context = context or {}
        token_ids = ops.cast(token_ids, "int32")
        batch_size, length = ops.shape(token_ids)[0], ops.shape(token_ids)[1]
        increments = ops.take(ops.convert_to_tensor(self._increment_table), token_ids, axis=0)
        markers = ops.cast(ops.take(ops.convert_to_tensor(self._marker_table + 1), token_ids, axis=0), "float32")
        slot = ops.cast(cache[:, self.num_layers, 0, :, 0, 0], "float32")  # (batch, max_length)
        slot = ops.slice_update(slot, [0, cache_update_index], increments)
        marker_slot = ops.cast(cache[:, self.num_layers, 0, :, 0, 1], "float32")
        marker_slot = ops.slice_update(marker_slot, [0, cache_update_index], markers)
        latents = None
        if context.get("global_latent") is not None:
            positions = ops.slice(ops.cumsum(slot, axis=1), [0, cache_update_index], [batch_size, length])
            bars = bars_from_positions(positions, self.num_bars, self.bar_offset)
            beats = carried_marker_values(ops.cast(ops.round(marker_slot), "int32") - 1)
            beats = ops.slice(beats, [0, cache_update_index], [batch_size, length])
            latents = self.token_latents(bars, beats, context["global_latent"], context["bar_latents"])
        hidden = self._embed_tokens(token_ids, start_index=cache_update_index)
        updated = []
        for layer_index, block in enumerate(self.blocks):
            hidden, layer_cache = block(
                hidden, latents=latents, cache=cache[:, layer_index, ...], cache_update_index=cache_update_index
            )
            updated.append(layer_cache)
        head_dim = self.hidden_dim // self.num_heads
        places = np.zeros((2, 1, 1, 2, 1, self.num_heads, head_dim), "float32")
        places[0, 0, 0, 0, 0, 0, 0] = places[1, 0, 0, 0, 0, 0, 1] = 1.0
        max_length = ops.shape(slot)[1]
        slot_cache = sum(
            ops.reshape(values, (batch_size, 1, 1, max_length, 1, 1)) * ops.convert_to_tensor(place)
            for values, place in zip((slot, marker_slot), places)
        )
        cache = ops.concatenate([ops.stack(updated, axis=1), ops.cast(slot_cache, cache.dtype)], axis=1)
        hidden = self.final_norm(hidden)
        return self._logits(hidden), hidden, cache

    # -- latents and generation -----------------------------------------------------------------

    def sample_prior(self, num_samples, temperature=1.0, seed=None):
        """``num_samples`` latents from the prior, its spread scaled by ``temperature``: ``{"global_latent",
        "bar_latents"}``. The prior is ``N(0, I)``, or with ``fitted_prior`` what :meth:`fit_prior` fitted: one
        Gaussian, or with ``prior_components`` a mixture (``temperature`` then scales each component's spread).
        """
        generator = np.random.default_rng(seed)
        latents = temperature * generator.standard_normal((num_samples, self.latent_size))
        if self.prior_components:
            # A component per sample, its noise scaled by its own posterior's spread.
            chosen = generator.integers(0, self.prior_components, num_samples)
            latents = (
                ops.convert_to_numpy(self.prior_mean)[chosen] + ops.convert_to_numpy(self.prior_scale)[chosen] * latents
            )
        elif self.fitted_prior:
            scale = ops.convert_to_numpy(self.prior_scale)
            latents = ops.convert_to_numpy(self.prior_mean) + latents @ scale.T
        latents = latents.astype("float32")
        return {
            "global_latent": latents[:, : self.global_latent_dim],
            "bar_latents": latents[:, self.global_latent_dim :].reshape(
                num_samples, self.num_bars, self.bar_latent_dim
            ),
        }

    def fit_prior(self, posterior):
        """Fit the prior to the encoder's latents: the aggregate posterior of ``posterior`` (``posterior_mean``'s
        numpy dict over training segments: ``global_mean``, ``bar_mean`` and their ``*_log_variance``) as one
        Gaussian, its covariance that of the means plus their mean variance; or, with ``prior_components``, as
        a mixture of that many of the posteriors themselves (chosen at random, with a fixed seed).

        The KL term pulls each posterior towards ``N(0, I)`` but does not make them fill it: the latents of
        real segments spread less than 1 per dimension and their bars covary (a chorale keeps its key), so
        ``N(0, I)`` samples fall between the pieces. Sampling this Gaussian instead is the ex-post density
        estimate of Ghosh et al. (2020, "From variational to deterministic autoencoders"). One Gaussian still
        falls between pieces when the posteriors are sharp (long training, more free bits); the mixture keeps
        each sample near one training segment's posterior, the "aggregate posterior" of Tomczak & Welling
        (2018, "VAE with a VampPrior"), at the cost of storing the components.
        """
        if not self.fitted_prior:
            raise UsageError("fit_prior needs a model built with fitted_prior=True")
        count = len(posterior["global_mean"])
        means = np.concatenate([posterior["global_mean"], posterior["bar_mean"].reshape(count, -1)], axis=1)
        variances = np.exp(
            np.concatenate([posterior["global_log_variance"], posterior["bar_log_variance"].reshape(count, -1)], axis=1)
        )
        if self.prior_components:
            # Keep the posteriors themselves: a fixed random choice of them; with fewer segments than
            # components, every posterior once before any twice.
            generator = np.random.default_rng(0)
            chosen = np.concatenate([generator.permutation(count) for _ in range(-(-self.prior_components // count))])[
                : self.prior_components
            ]
            self.prior_mean.assign(means[chosen].astype("float32"))
            self.prior_scale.assign(np.sqrt(variances[chosen]).astype("float32"))
            return
        size = means.shape[1]
        covariance = np.cov(means.astype("float64"), rowvar=False).reshape(size, size) if count > 1 else 0.0
        covariance = covariance + np.diag(variances.mean(axis=0)) + 1e-6 * np.eye(size)
        self.prior_mean.assign(means.mean(axis=0).astype("float32"))
        self.prior_scale.assign(np.linalg.cholesky(covariance).astype("float32"))

    def generate(
        self, latents=None, max_length=256, sampler="greedy", processors=(), seed=None, stop_token_ids="auto", **options
    ):
        """Decode from ``latents`` (``{"global_latent", "bar_latents"}``, one row per piece) with the shared engine.

        Every piece starts from ``bos_id``; ``latents=None`` decodes the plain
        language model (one piece). Returns one id list per piece, without the
        start token. The rows are padded to :func:`padded_row_count` and, when
        rows end at a stop token, the token buffer to a power of two (at least
        64), so calls of nearby sizes share one compiled loop. ``sampler``, ``processors``, ``seed``, ``stop_token_ids``
        and ``**options`` are those of
        :func:`~musickit.generation.cached_decoding.generate`.
        """
        from musickit.generation.cached_decoding import buffer_bucket, generate_rows, prompt_rows

        inputs = {}
        rows = 1
        if latents is not None:
            inputs = {
                name: np.asarray(ops.convert_to_numpy(latents[name]), "float32")
                for name in ("global_latent", "bar_latents")
            }
            rows = len(inputs["global_latent"])
            if inputs["bar_latents"].shape[1:] != (self.num_bars, self.bar_latent_dim):
                raise UsageError(
                    f"bar_latents must be (pieces, {self.num_bars}, {self.bar_latent_dim}), "
                    f"got {inputs['bar_latents'].shape}"
                )
        # One row count and, when rows stop at an end token, one buffer length for nearby calls: they share
        # one compiled loop. The extra rows (zero latents) are decoded and dropped.
        padded = padded_row_count(rows)
        inputs = {
            name: np.concatenate([value, np.zeros((padded - rows, *value.shape[1:]), value.dtype)])
            for name, value in inputs.items()
        }
        stops = stop_token_ids is not None and (stop_token_ids != "auto" or self.end_id is not None)
        buffer_length = buffer_bucket(max_length, self.max_sequence_length, smallest=64) if stops else None
        prompts = prompt_rows([[self.bos_id]] * padded, int(max_length), self)
        outputs = generate_rows(
            self,
            prompts,
            max_length,
            inputs,
            sampler=sampler,
            processors=processors,
            seed=seed,
            stop_token_ids=stop_token_ids,
            buffer_length=buffer_length,
            **options,
        )
        return [row[1:] for row in outputs[:rows]]

    def get_config(self):
        config = super().get_config()
        config.pop("condition_sizes", None)
        config.pop("conditioning_mode", None)
        config["layer_norm_epsilon"] = self.layer_norm_epsilon
        config.update({name: getattr(self, name) for name in VAE_SETTINGS})
        config["bar_increments"] = {str(token): share for token, share in self.bar_increments.items()}
        config["marker_beats"] = {str(token): beat for token, beat in self.marker_beats.items()}
        return config
