"""Conditioning on style, emotion and tempo: embeddings and per-block injection.

A condition can reach a decoder in two ways, and musickit offers both so they
can be compared in an ablation:

- as a vector: :class:`ConditionEmbedding` sums one learned embedding per
  label, and :class:`FeatureModulation` injects it into every block, either
  additively or as FiLM (a per-feature scale and shift);
- as tokens: the tokenizer's own ``STYLE_<name>`` and ``EMOTION_<name>``
  tokens (:class:`~musickit.representations.remi.REMITokenizer`) prefix a
  piece, and the model learns the condition like any other context.

The classes and the meaning of "unknown" (id ``-1``: no conditioning) are
defined once in :mod:`musickit.representations.conditions`.
"""

import keras
from keras import ops

from musickit.representations.conditions import UNKNOWN_ID

MODULATION_MODES = ("film", "additive")


@keras.saving.register_keras_serializable(package="musickit")
class ConditionEmbedding(keras.layers.Layer):
    """Sum of learned embeddings, one table per condition (style, emotion, tempo...).

    Args:
        condition_sizes: dict from condition name to its number of classes,
            e.g. ``{"style": 4, "tempo": 3}``.
        hidden_dim: int, size of the condition vector.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        conditions: dict from condition name to an integer ``(batch,)`` tensor
            of class ids. A name left out contributes nothing, and so does a
            row whose id is ``UNKNOWN_ID`` (-1), so a model trained with
            conditioning can still generate unconditioned.

    Returns:
        A ``(batch, hidden_dim)`` tensor, or ``None`` when no condition is given.

    Example:

    >>> import numpy as np
    >>> embedding = ConditionEmbedding({"style": 4, "tempo": 3}, hidden_dim=8)
    >>> vector = embedding({"style": np.array([1, 2]), "tempo": np.array([0, 0])})
    >>> tuple(vector.shape)
    (2, 8)
    >>> unknown = embedding({"style": np.array([-1]), "tempo": np.array([-1])})
    >>> float(keras.ops.max(keras.ops.abs(unknown)))
    0.0
    """

    def __init__(self, condition_sizes, hidden_dim, **kwargs):
        super().__init__(**kwargs)
        self.condition_sizes = dict(condition_sizes)
        self.hidden_dim = hidden_dim
        self.embeddings = {
            name: keras.layers.Embedding(size, hidden_dim, dtype=self.dtype_policy, name=f"{name}_embedding")
            for name, size in sorted(self.condition_sizes.items())
        }

    def build(self, input_shape=None):
        for embedding in self.embeddings.values():
            embedding.build((None,))

    def call(self, conditions):
        unknown = sorted(set(conditions) - set(self.embeddings))
        if unknown:
            raise ValueError(f"unknown conditions {unknown}; this layer knows {sorted(self.embeddings)}")
        vectors = []
        for name in sorted(conditions):
            ids = ops.cast(conditions[name], "int32")
            known = ops.cast(ops.expand_dims(ids != UNKNOWN_ID, -1), self.compute_dtype)
            # Clipped as well as masked, so that an unknown row looks up a real row and multiplies it by zero.
            ids = ops.clip(ids, 0, self.condition_sizes[name] - 1)
            vectors.append(self.embeddings[name](ids) * known)
        if not vectors:
            return None
        return ops.sum(ops.stack(vectors, axis=0), axis=0)

    def get_config(self):
        config = super().get_config()
        config.update({"condition_sizes": self.condition_sizes, "hidden_dim": self.hidden_dim})
        return config


@keras.saving.register_keras_serializable(package="musickit")
class FeatureModulation(keras.layers.Layer):
    """Inject a condition vector into a sequence of features, additively or by FiLM.

    ``"additive"`` adds a projection of the condition to every time step;
    ``"film"`` computes a per-feature scale ``gamma`` and shift ``beta`` and
    returns ``features * (1 + gamma) + beta``. Projections start at zero, so a
    fresh layer is the identity and conditioning cannot disturb early training.

    Args:
        mode: ``"film"`` or ``"additive"``.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        features: ``(batch, time, hidden_dim)`` tensor.
        condition: ``(batch, condition_dim)`` tensor or ``None`` (identity).

    Example:

    >>> import numpy as np
    >>> film = FeatureModulation("film")
    >>> features = np.ones((2, 5, 8), "float32")
    >>> outputs = film(features, np.ones((2, 3), "float32"))
    >>> bool(np.allclose(keras.ops.convert_to_numpy(outputs), features))  # zero-initialised
    True

    References:
        - [Perez et al., 2018, FiLM](https://arxiv.org/abs/1709.07871)
    """

    def __init__(self, mode="film", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODULATION_MODES:
            raise ValueError(f"mode must be one of {MODULATION_MODES}, got {mode!r}")
        self.mode = mode

    def build(self, features_shape, condition_shape=None):
        hidden_dim = features_shape[-1]
        units = 2 * hidden_dim if self.mode == "film" else hidden_dim
        self.projection = keras.layers.Dense(
            units, kernel_initializer="zeros", dtype=self.dtype_policy, name="condition_projection"
        )
        if condition_shape is not None:
            self.projection.build(condition_shape)

    def call(self, features, condition=None):
        if condition is None:
            return features
        projected = ops.expand_dims(self.projection(ops.cast(condition, self.compute_dtype)), 1)
        if self.mode == "additive":
            return features + projected
        scale, shift = ops.split(projected, 2, axis=-1)
        return features * (1.0 + scale) + shift

    def compute_output_shape(self, features_shape, condition_shape=None):
        return features_shape

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
