"""Causal self-attention with a key/value cache and a choice of position encoding.

One layer covers the three position schemes a music transformer is usually
trained with, so a model (or an ablation) switches between them with one
constructor argument:

- ``"relative"``: learned relative position logits as in Music Transformer
  (Huang et al. 2018), computed with the memory-efficient "skewing" trick for
  full sequences and with a gather for cached single steps;
- ``"rotary"``: rotary embeddings (the rotation of keras_hub's
  ``RotaryEmbedding``, computed once for queries and keys) applied to them;
- ``"absolute"`` (or ``"none"``): plain scaled dot-product attention; absolute
  positions are then added to the token embeddings by the model.

Queries, keys and values come from one einsum over the three kernels side by
side, and attention runs through ``keras.ops.dot_product_attention`` (flash or
cuDNN where the backend and device allow it; relative logits enter as its
additive bias) wherever that is the faster exact path: accelerators and torch
(see :func:`fused_attention_pays`). Elsewhere, and when attention dropout is
active in training, the scores are spelled out (same result).

The cache layout is keras_hub's (``[batch, 2, max_length, heads, key_dim]``,
keys then values), so the decoding loops of keras_hub and musickit read alike.
"""

import functools
import math

import keras
from keras import ops

POSITION_ENCODINGS = ("relative", "rotary", "absolute", "none")

#: ``None``: use ``keras.ops.dot_product_attention`` where it pays (see
#: :func:`fused_attention_pays`); ``True``/``False`` force it on or off (tests, benchmarks).
USE_FUSED_ATTENTION = None


@functools.cache
def fused_attention_pays():
    """Whether ``keras.ops.dot_product_attention`` is the faster exact path on this backend and device.

    On a GPU or TPU it is (flash/cuDNN kernels where the shapes allow, fused XLA
    elsewhere), and on torch everywhere (``scaled_dot_product_attention`` has fused
    CPU kernels too). On JAX and TensorFlow without an accelerator the backend's
    generic implementation measured about twice as slow as the explicit
    einsum-softmax-einsum below (forward and backward, 8 x 256 tokens, 4 heads of
    32), so a CPU keeps the explicit form; both are exact.
    """
    backend = keras.backend.backend()
    if backend == "torch":
        return True
    if backend == "jax":
        import jax

        return jax.default_backend() != "cpu"
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))
    return False


def causal_attention_mask(query_length, key_length, start_index=0):
    """A ``(query_length, key_length)`` boolean mask: query ``t`` sees keys ``<= start_index + t``.

    Example:

    >>> mask = causal_attention_mask(2, 3, start_index=1)
    >>> keras.ops.convert_to_numpy(mask).astype(int).tolist()
    [[1, 1, 0], [1, 1, 1]]
    """
    query_positions = ops.arange(query_length, dtype="int32") + ops.cast(start_index, "int32")
    key_positions = ops.arange(key_length, dtype="int32")
    return ops.expand_dims(key_positions, 0) <= ops.expand_dims(query_positions, 1)


def skew_relative_logits(relative_logits):
    """Turn query-by-distance logits into query-by-key logits (Huang et al. 2018, section 3.4.1).

    ``relative_logits[..., i, m]`` is query ``i`` against relative distance
    ``m - (length - 1)``. Padding one column on the left, reshaping so rows
    shift by one, and dropping the first row puts the logit for key ``j``
    (distance ``j - i``) at ``[..., i, j]`` for every ``j <= i``, without the
    ``length x length x key_dim`` tensor of the original relative attention.
    Entries above the diagonal are garbage and must be masked causally.

    Example:

    >>> import numpy as np
    >>> logits = np.arange(9, dtype="float32").reshape(1, 1, 3, 3)
    >>> skewed = keras.ops.convert_to_numpy(skew_relative_logits(logits))
    >>> skewed[0, 0, 2].tolist()  # query 2 against keys 0, 1, 2: distances -2, -1, 0
    [6.0, 7.0, 8.0]
    """
    shape = ops.shape(relative_logits)
    batch, heads, length = shape[0], shape[1], shape[2]
    padded = ops.pad(relative_logits, [[0, 0], [0, 0], [0, 0], [1, 0]])
    padded = ops.reshape(padded, (batch, heads, length + 1, length))
    return padded[:, :, 1:, :]


@keras.saving.register_keras_serializable(package="musickit")
class CachedSelfAttention(keras.layers.Layer):
    """Multi-head causal self-attention with a key/value cache.

    Args:
        num_heads: int, number of attention heads.
        key_dim: int, size of each head.
        position_encoding: one of ``"relative"``, ``"rotary"``, ``"absolute"``
            or ``"none"``. ``"absolute"`` and ``"none"`` add nothing here
            (the model adds absolute position embeddings to its inputs).
        max_relative_distance: int, number of learned relative distances
            (``0 .. -(max_relative_distance - 1)``); farther keys share the
            farthest embedding. Use the model's maximum sequence length.
        rotary_max_wavelength: int, the longest rotary wavelength.
        dropout: float, dropout on the attention probabilities.
        kernel_initializer: initializer for the projection kernels.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``...).

    Call arguments:
        inputs: ``(batch, query_length, hidden_dim)`` tensor.
        attention_mask: optional boolean ``(batch, query_length, key_length)``
            or ``(query_length, key_length)`` mask, ``True`` where attention is
            allowed. Defaults to a causal mask.
        cache: optional ``(batch, 2, max_length, num_heads, key_dim)`` tensor.
            When given, the new keys and values are written at
            ``cache_update_index`` and attention runs over the whole cache.
        cache_update_index: int or int tensor, the position of the first
            query; required with ``cache``.
        training: bool, whether dropout is active.

    Returns:
        The attention output, and the updated cache when ``cache`` was given.

    Example:

    >>> import numpy as np
    >>> layer = CachedSelfAttention(num_heads=2, key_dim=4, max_relative_distance=8)
    >>> outputs = layer(np.zeros((1, 8, 16), "float32"))
    >>> tuple(outputs.shape)
    (1, 8, 16)

    References:
        - [Huang et al., 2018, Music Transformer](https://arxiv.org/abs/1809.04281)
        - [Su et al., 2021, RoFormer](https://arxiv.org/abs/2104.09864)
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        position_encoding="relative",
        max_relative_distance=1024,
        rotary_max_wavelength=10000,
        dropout=0.0,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if position_encoding not in POSITION_ENCODINGS:
            raise ValueError(f"position_encoding must be one of {POSITION_ENCODINGS}, got {position_encoding!r}")
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.position_encoding = position_encoding
        self.max_relative_distance = max_relative_distance
        self.rotary_max_wavelength = rotary_max_wavelength
        self.dropout = dropout
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _projection(self, equation, output_shape, bias_axes, name):
        return keras.layers.EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes,
            # A fresh initializer per projection, so seeded initializers do not repeat.
            kernel_initializer=keras.initializers.get(keras.initializers.serialize(self.kernel_initializer)),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        head_shape = (None, self.num_heads, self.key_dim)
        self.query_dense = self._projection("btd,dhk->bthk", head_shape, "hk", "query")
        self.key_dense = self._projection("btd,dhk->bthk", head_shape, "hk", "key")
        self.value_dense = self._projection("btd,dhk->bthk", head_shape, "hk", "value")
        self.output_dense = self._projection("bthk,hkd->btd", (None, hidden_dim), "d", "attention_output")
        for projection in (self.query_dense, self.key_dense, self.value_dense):
            projection.build(input_shape)
        self.output_dense.build((input_shape[0], input_shape[1], self.num_heads, self.key_dim))
        self.probabilities_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        if self.position_encoding == "relative":
            # One table per head, as in Huang et al.: row ``max_relative_distance - 1 - d``
            # holds distance ``-d``, so the newest key sits in the last row.
            self.relative_embeddings = self.add_weight(
                name="relative_embeddings",
                shape=(self.num_heads, self.max_relative_distance, self.key_dim),
                initializer=keras.initializers.RandomNormal(stddev=self.key_dim**-0.5),
            )
        elif self.position_encoding == "rotary":
            if self.key_dim % 2:
                raise ValueError(f"rotary positions need an even key_dim, got {self.key_dim}")

    def _relative_logits(self, query, key_length, start_index, full_sequence):
        """Relative logits ``(batch, heads, query_length, key_length)`` for queries starting at ``start_index``."""
        query_length = ops.shape(query)[1]
        embeddings = ops.cast(self.relative_embeddings, query.dtype)
        if full_sequence:
            # Training, full recompute and prefill: queries are keys, so skew.
            # The model keeps sequences within max_relative_distance, so the
            # last key_length rows cover every distance that occurs.
            embeddings = embeddings[:, self.max_relative_distance - key_length :, :]
            relative_logits = ops.einsum("bthk,hlk->bhtl", query, embeddings)
            return skew_relative_logits(relative_logits)
        # A cached step: few queries at a moving position against the whole cache.
        relative_logits = ops.einsum("bthk,hlk->bhtl", query, embeddings)
        if query_length == 1:
            # One query at position p: key j needs row max_relative_distance - 1 + j - p, a contiguous
            # window, so one dynamic slice replaces the gather (much cheaper under XLA on CPU). Rows
            # past the table (keys after p) are zeros from the padding and are masked anyway.
            padded = ops.pad(relative_logits, [[0, 0], [0, 0], [0, 0], [0, key_length]])
            first_row = self.max_relative_distance - 1 - ops.cast(start_index, "int32")
            batch = ops.shape(query)[0]
            return ops.slice(padded, [0, 0, 0, first_row], [batch, self.num_heads, 1, key_length])
        query_positions = ops.arange(query_length, dtype="int32") + ops.cast(start_index, "int32")
        key_positions = ops.arange(key_length, dtype="int32")
        rows = self.max_relative_distance - 1 + ops.expand_dims(key_positions, 0) - ops.expand_dims(query_positions, 1)
        rows = ops.clip(rows, 0, self.max_relative_distance - 1)
        batch = ops.shape(query)[0]
        rows = ops.broadcast_to(rows[None, None], (batch, self.num_heads, query_length, key_length))
        return ops.take_along_axis(relative_logits, rows, axis=-1)

    def _project_query_key_value(self, inputs, start_index=0):
        """Queries, keys and values from one einsum over the three kernels side by side (rotary applied).

        The weights stay in the ``query``/``key``/``value`` sub-layers (the layout
        saved ``.keras`` files have), and are concatenated on the head axis at
        each call: one ``(hidden, 3 * heads, key_dim)`` matmul instead of three
        narrower ones. The concatenation costs a copy of the weights, small
        against the activations of a training batch.
        """
        projections = (self.query_dense, self.key_dense, self.value_dense)
        kernel = ops.concatenate([ops.cast(layer.kernel, self.compute_dtype) for layer in projections], axis=1)
        bias = ops.concatenate([ops.cast(layer.bias, self.compute_dtype) for layer in projections], axis=0)
        projected = ops.einsum("btd,dhk->bthk", ops.cast(inputs, self.compute_dtype), kernel) + bias
        query, key, value = ops.split(projected, 3, axis=2)
        if self.position_encoding == "rotary":
            query, key = self._rotate(query, key, start_index)
        return query, key, value

    def _rotate(self, query, key, start_index):
        """Rotary embeddings on queries and keys, the angles computed once for both.

        The same rotation as keras_hub's ``RotaryEmbedding`` (halves rotated:
        ``[x1 cos - x2 sin, x2 cos + x1 sin]``), written with half-width angle
        tables and one concatenation: keras_hub's version interleaves with
        ``stack``/``reshape`` and recomputes the angles per tensor, which measured
        about a third of a ``small`` training step on a CPU.
        """
        half = self.key_dim // 2
        positions = ops.arange(ops.shape(query)[1], dtype="float32") + ops.cast(start_index, "float32")
        exponents = ops.arange(0, self.key_dim, 2, dtype="float32") / float(self.key_dim)
        inverse_frequencies = 1.0 / ops.power(float(self.rotary_max_wavelength), exponents)
        angles = ops.expand_dims(ops.expand_dims(positions, 1) * ops.expand_dims(inverse_frequencies, 0), 1)
        cosine = ops.cast(ops.cos(angles), query.dtype)  # (time, 1, half): broadcasts over batch and heads
        sine = ops.cast(ops.sin(angles), query.dtype)

        def rotate(features):
            first, second = features[..., :half], features[..., half:]
            return ops.concatenate([first * cosine - second * sine, second * cosine + first * sine], axis=-1)

        return rotate(query), rotate(key)

    def _fused_attention(self, query, key, value, attention_mask, relative_logits, causal):
        """``keras.ops.dot_product_attention``: flash where the backend and device allow it, exact elsewhere."""
        scale = 1.0 / math.sqrt(self.key_dim)
        if relative_logits is None and attention_mask is None and causal:
            # No mask tensor at all: the backend uses its native causal kernel.
            return ops.dot_product_attention(query, key, value, scale=scale, is_causal=True)
        if relative_logits is None:
            return ops.dot_product_attention(query, key, value, mask=attention_mask, scale=scale)
        # Relative positions: the skewed logits, scaled like the content logits and
        # masked, go in as an additive bias (torch's kernel takes a bias or a mask, not both).
        bias = ops.cast(relative_logits, "float32") * scale
        bias = ops.where(attention_mask, bias, ops.full_like(bias, -1e9))
        return ops.dot_product_attention(query, key, value, bias=ops.cast(bias, query.dtype), scale=scale)

    def _explicit_attention(self, query, key, value, attention_mask, relative_logits, training):
        """Scores, softmax and probabilities spelled out: the path attention-probability dropout needs."""
        scores = ops.einsum("bthk,bshk->bhts", query, key)
        if relative_logits is not None:
            scores = scores + relative_logits
        # Softmax in float32 so mixed precision does not lose the masked tail.
        scores = ops.cast(scores, "float32") / math.sqrt(self.key_dim)
        scores = ops.where(attention_mask, scores, ops.full_like(scores, -1e9))
        probabilities = ops.softmax(scores, axis=-1)
        probabilities = self.probabilities_dropout(ops.cast(probabilities, self.compute_dtype), training=training)
        return ops.einsum("bhts,bshk->bthk", probabilities, ops.cast(value, probabilities.dtype))

    def call(self, inputs, attention_mask=None, cache=None, cache_update_index=None, training=None):
        start_index = 0 if cache_update_index is None else cache_update_index
        if cache is not None and cache_update_index is None:
            raise ValueError("cache_update_index is required when a cache is given")
        query, key, value = self._project_query_key_value(inputs, start_index)

        if cache is not None:
            start = [0, start_index, 0, 0]
            key = ops.slice_update(cache[:, 0, ...], start, ops.cast(key, cache.dtype))
            value = ops.slice_update(cache[:, 1, ...], start, ops.cast(value, cache.dtype))
            cache = ops.stack((key, value), axis=1)
        key, value = ops.cast(key, query.dtype), ops.cast(value, query.dtype)

        query_length, key_length = ops.shape(query)[1], ops.shape(key)[1]
        relative_logits = None
        if self.position_encoding == "relative":
            full_sequence = cache is None or query_length == key_length
            relative_logits = self._relative_logits(query, key_length, start_index, full_sequence)
        # Without a cache or a given mask, attention is plainly causal: the fused kernel then needs no mask tensor.
        plainly_causal = attention_mask is None and cache is None
        use_fused = fused_attention_pays() if USE_FUSED_ATTENTION is None else USE_FUSED_ATTENTION
        use_fused = use_fused and not self._dropout_active(training)
        if attention_mask is None and (relative_logits is not None or not plainly_causal or not use_fused):
            attention_mask = causal_attention_mask(query_length, key_length, start_index)
        if attention_mask is not None:
            attention_mask = ops.cast(attention_mask, "bool")
            # (query, key) or (batch, query, key) -> broadcastable to (batch, heads, query, key).
            while len(attention_mask.shape) < 4:
                attention_mask = ops.expand_dims(attention_mask, -3)

        if use_fused:
            attended = self._fused_attention(query, key, value, attention_mask, relative_logits, plainly_causal)
        else:
            attended = self._explicit_attention(query, key, value, attention_mask, relative_logits, training)
        outputs = self.output_dense(ops.cast(attended, self.compute_dtype))
        if cache is not None:
            return outputs, cache
        return outputs

    def _dropout_active(self, training):
        # The fused kernels have no dropout on the probabilities (keras' MultiHeadAttention
        # falls back the same way), so training with attention dropout takes the explicit path.
        return bool(training) and self.dropout > 0

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "position_encoding": self.position_encoding,
                "max_relative_distance": self.max_relative_distance,
                "rotary_max_wavelength": self.rotary_max_wavelength,
                "dropout": self.dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
