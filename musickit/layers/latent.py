"""Latent-variable layers for sequence VAEs: a Gaussian posterior, bar indices, bar pooling, injected blocks.

A transformer VAE over music tokens (MusicVAE's conductor, MuseMorphose's
per-bar latents) needs four pieces beside the decoder blocks:

- :class:`GaussianLatent`: mean and log-variance from a feature vector, and a
  reparameterised sample drawn with a ``keras.random.SeedGenerator`` (so the
  draw is part of the layer's state on every backend);
- :func:`bar_indices`: which bar each token lies in, from per-token bar
  increments (1 for a REMI ``Bar`` token, a fraction of a bar for a
  performance ``TIME_SHIFT``);
- :func:`beat_indices`: which beat of its bar each token lies in, from the
  bar's marker tokens (a REMI ``Position`` token sets the beat, ``Bar`` resets
  it), so a bar latent can be written and read beat by beat;
- :func:`bar_pooling`: the mean of the tokens of each bar (or of each beat);
- :class:`LatentInjectedBlock`: a
  :class:`~musickit.layers.transformer_block.MusicTransformerBlock` whose input
  gets a projection of the token's latent vector added (MuseMorphose's
  "in-attention"), so every block reads the latents.
"""

import keras
from keras import ops

from musickit.layers.transformer_block import DECODER_BLOCK_SETTINGS, MusicTransformerBlock

#: Log-variances are clipped to this range so a fresh or diverging encoder cannot overflow ``exp``.
LOG_VARIANCE_RANGE = (-10.0, 6.0)


@keras.saving.register_keras_serializable(package="musickit")
class GaussianLatent(keras.layers.Layer):
    """Diagonal Gaussian posterior ``q(z | x)`` with the reparameterisation trick.

    Args:
        latent_dim: int, size of ``z``.
        seed: optional int seed of the layer's ``SeedGenerator``.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        features: ``(..., features)`` tensor.
        sample: bool; ``True`` draws ``mean + exp(log_variance / 2) * noise``,
            ``False`` returns the mean (what evaluation and reconstruction use).

    Returns:
        ``(z, mean, log_variance)``, each ``(..., latent_dim)``.

    Example:

    >>> import numpy as np
    >>> layer = GaussianLatent(4, seed=0)
    >>> z, mean, log_variance = layer(np.ones((2, 8), "float32"), sample=False)
    >>> tuple(z.shape), bool(np.allclose(keras.ops.convert_to_numpy(z), keras.ops.convert_to_numpy(mean)))
    ((2, 4), True)

    References:
        - [Kingma & Welling, 2014, Auto-Encoding Variational Bayes](https://arxiv.org/abs/1312.6114)
    """

    def __init__(self, latent_dim, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.mean_projection = keras.layers.Dense(self.latent_dim, dtype=self.dtype_policy, name="mean")
        # Starting at log-variance -4 keeps the first samples close to the mean, so the decoder can learn to read z.
        self.log_variance_projection = keras.layers.Dense(
            self.latent_dim,
            kernel_initializer="zeros",
            bias_initializer=keras.initializers.Constant(-4.0),
            dtype=self.dtype_policy,
            name="log_variance",
        )

    def build(self, input_shape):
        self.mean_projection.build(input_shape)
        self.log_variance_projection.build(input_shape)

    def call(self, features, sample=True):
        mean = ops.cast(self.mean_projection(features), "float32")
        log_variance = ops.clip(ops.cast(self.log_variance_projection(features), "float32"), *LOG_VARIANCE_RANGE)
        if not sample:
            return mean, mean, log_variance
        noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_variance) * noise, mean, log_variance

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape[:-1]) + (self.latent_dim,)
        return shape, shape, shape

    def get_config(self):
        config = super().get_config()
        config.update({"latent_dim": self.latent_dim, "seed": self.seed})
        return config


def bar_indices(token_ids, increments, num_bars, offset=0.0):
    """The bar each token lies in: ``floor(cumsum(increments[token]) - offset)``, clipped to ``[0, num_bars)``.

    ``increments`` is a ``(vocabulary_size,)`` float tensor: 1 for a REMI
    ``Bar`` token (with ``offset=1``: the first ``Bar`` opens bar 0), a
    time shift's share of a bar for performance events (``offset=0``).

    >>> import numpy as np
    >>> increments = np.array([0.0, 1.0, 0.0], "float32")  # id 1 is the bar token
    >>> keras.ops.convert_to_numpy(bar_indices(np.array([[1, 2, 2, 1, 2]]), increments, 4, offset=1.0)).tolist()
    [[0, 0, 0, 1, 1]]
    """
    steps = ops.take(ops.convert_to_tensor(increments, "float32"), ops.cast(token_ids, "int32"), axis=0)
    return bars_from_positions(ops.cumsum(steps, axis=-1), num_bars, offset)


def bars_from_positions(positions, num_bars, offset=0.0):
    """Bar index of running bar positions (a cumulative sum of increments), clipped to ``[0, num_bars)``."""
    # A small epsilon: increments such as 0.25 + 0.75 must reach the next bar despite float rounding.
    return ops.clip(ops.cast(ops.floor(positions - offset + 1e-4), "int32"), 0, num_bars - 1)


def beat_indices(token_ids, marker_beats):
    """The beat each token lies in: the beat of the last marker token at or before it (0 before any marker).

    ``marker_beats`` is a ``(vocabulary_size,)`` integer table: the beat a
    marker token sets (REMI: ``Bar`` sets 0, ``Position_p`` sets ``p //
    steps_per_quarter``) and -1 for every other token. It is causal: a token's
    beat depends only on the tokens up to it, so a decoder can count it while
    it writes.

    >>> import numpy as np
    >>> marker_beats = np.array([-1, 0, 0, 1, -1], "int32")  # 1: Bar, 2: Position_0, 3: Position_4, 4: a note
    >>> keras.ops.convert_to_numpy(beat_indices(np.array([[1, 2, 4, 3, 4, 4, 1, 4]]), marker_beats)).tolist()
    [[0, 0, 0, 1, 1, 1, 0, 0]]
    """
    values = ops.take(ops.convert_to_tensor(marker_beats, "int32"), ops.cast(token_ids, "int32"), axis=0)
    return carried_marker_values(values)


def carried_marker_values(values):
    """``(batch, time)``: each position's value carried forward from the last position whose value is >= 0.

    Positions before the first one holding a value get 0. Written as a comparison of marker counts (there is
    no running maximum in ``keras.ops``): the marker that brought the count to a position's count is the last
    one at or before it.
    """
    is_marker = ops.greater_equal(values, 0)
    counts = ops.cumsum(ops.cast(is_marker, "int32"), axis=-1)
    same = ops.logical_and(
        ops.equal(ops.expand_dims(counts, -1), ops.expand_dims(counts, -2)), ops.expand_dims(is_marker, -2)
    )
    chosen = ops.where(same, ops.expand_dims(values, -2), 0)
    return ops.sum(chosen, axis=-1)


def bar_pooling(features, bars, mask, num_bars):
    """Mean of ``features`` ``(batch, time, dim)`` over the tokens of each bar: ``(batch, num_bars, dim)``.

    ``bars`` is ``(batch, time)`` bar indices, ``mask`` ``(batch, time)`` True
    on real tokens. A bar without tokens pools to zeros.

    >>> import numpy as np
    >>> pooled = bar_pooling(np.array([[[1.0], [3.0], [5.0]]]), np.array([[0, 0, 1]]), np.ones((1, 3), bool), 2)
    >>> keras.ops.convert_to_numpy(pooled).ravel().tolist()
    [2.0, 5.0]
    """
    features = ops.convert_to_tensor(features)
    weights = ops.one_hot(ops.cast(bars, "int32"), num_bars, dtype=features.dtype)
    weights = weights * ops.cast(ops.expand_dims(mask, -1), features.dtype)  # (batch, time, bars)
    totals = ops.einsum("btk,btd->bkd", weights, features)
    counts = ops.expand_dims(ops.sum(weights, axis=1), -1)
    return totals / ops.maximum(counts, 1.0)


@keras.saving.register_keras_serializable(package="musickit")
class LatentInjectedBlock(keras.layers.Layer):
    """A :class:`~musickit.layers.transformer_block.MusicTransformerBlock` that reads a latent vector per token.

    The block input becomes ``inputs + Dense(latents)`` before the cached
    self-attention and feed-forward (MuseMorphose's in-attention); every block
    has its own projection, so the latents reach every depth. Without
    ``latents`` the block is the plain decoder block (the decoder then trains
    as a language model: the ``transformer`` stage).

    Args:
        num_heads, intermediate_dim, position_encoding, max_relative_distance,
        conditioning_mode, dropout, layer_norm_epsilon: as for
            :class:`~musickit.layers.transformer_block.MusicTransformerBlock`.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        inputs: ``(batch, time, hidden_dim)``.
        latents: optional ``(batch, time, latent_features)``.
        condition: optional ``(batch, hidden_dim)`` condition vector.
        cache, cache_update_index: the self-attention key/value cache.
        training: bool.

    Example:

    >>> import numpy as np
    >>> block = LatentInjectedBlock(num_heads=2, intermediate_dim=32, conditioning_mode=None)
    >>> tuple(block(np.zeros((1, 6, 16), "float32"), latents=np.ones((1, 6, 4), "float32")).shape)
    (1, 6, 16)

    References:
        - [Wu & Yang, 2021, MuseMorphose](https://arxiv.org/abs/2105.04090) (in-attention)
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        position_encoding="relative",
        max_relative_distance=1024,
        conditioning_mode=None,
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
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        settings = {name: getattr(self, name) for name in DECODER_BLOCK_SETTINGS}
        self.decoder_block = MusicTransformerBlock(**settings, dtype=self.dtype_policy, name="decoder_block")
        self.latent_projection = None

    def build(self, inputs_shape, latents_shape=None):
        # Named after call()'s arguments: Keras matches them when a first call builds the block.
        self.decoder_block.build(inputs_shape)
        # Zero-initialised: a block reading latents starts as the plain block, so the VAE stage begins from the
        # language model the transformer stage trained instead of from one the random projection scrambles.
        self.latent_projection = keras.layers.Dense(
            inputs_shape[-1], kernel_initializer="zeros", dtype=self.dtype_policy, name="latent_projection"
        )
        if latents_shape is not None:
            self.latent_projection.build(latents_shape)

    def build_latent_projection(self, latent_features):
        """Build the latent projection for ``latent_features`` inputs (the model does, so loading finds weights)."""
        if not self.latent_projection.built:
            self.latent_projection.build((None, None, latent_features))

    def call(self, inputs, latents=None, condition=None, cache=None, cache_update_index=None, training=None):
        hidden = inputs
        if latents is not None:
            hidden = hidden + self.latent_projection(ops.cast(latents, self.compute_dtype))
        return self.decoder_block(
            hidden, condition=condition, cache=cache, cache_update_index=cache_update_index, training=training
        )

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({name: getattr(self, name) for name in DECODER_BLOCK_SETTINGS})
        return config


@keras.saving.register_keras_serializable(package="musickit")
class SpectralConv1D(keras.layers.Layer):
    """1-D convolution whose kernel is divided by its largest singular value (one power iteration a call).

    Unlike ``keras.layers.SpectralNormalization``, which writes the normalised
    kernel back into the variable during the forward pass (an in-place update
    that breaks PyTorch's autograd when the layer runs twice in one step), the
    division here is part of the graph and only the power-iteration vector is
    stored, outside the gradient.

    Args:
        filters: int, output channels.
        kernel_size: int (1: a position-wise dense layer).
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        inputs: ``(batch, time, channels)``.
        training: bool; in training the power-iteration vector is updated.

    Example:

    >>> import numpy as np
    >>> tuple(SpectralConv1D(4, 3)(np.ones((2, 5, 3), "float32")).shape)
    (2, 5, 4)

    References:
        - [Miyato et al., 2018, Spectral Normalization for GANs](https://arxiv.org/abs/1802.05957)
    """

    def __init__(self, filters, kernel_size=1, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(self.kernel_size, channels, self.filters), initializer="glorot_uniform", name="kernel"
        )
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")
        self.vector_u = self.add_weight(
            shape=(1, self.filters),
            initializer=keras.initializers.RandomNormal(seed=0),
            trainable=False,
            name="vector_u",
        )

    def call(self, inputs, training=None):
        weights = ops.reshape(self.kernel, (-1, self.filters))
        vector_u = ops.stop_gradient(self.vector_u * 1.0)  # a copy: the assign below must not touch saved tensors
        vector_v = ops.stop_gradient(_normalize(ops.matmul(vector_u, ops.transpose(weights))))
        vector_u = ops.stop_gradient(_normalize(ops.matmul(vector_v, weights)))
        sigma = ops.sum(ops.matmul(vector_v, weights) * vector_u)
        if training:
            self.vector_u.assign(vector_u)
        kernel = ops.cast(self.kernel / sigma, self.compute_dtype)
        outputs = ops.conv(ops.cast(inputs, self.compute_dtype), kernel, padding="same")
        return outputs + ops.cast(self.bias, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "kernel_size": self.kernel_size})
        return config


def _normalize(vector):
    return vector / ops.maximum(ops.sqrt(ops.sum(ops.square(vector))), 1e-12)
