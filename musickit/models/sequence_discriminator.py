"""A multi-scale discriminator over token distributions: real one-hot sequences against a decoder's soft outputs.

Each scale (full, 1/2 and 1/4 time resolution by average pooling) has its own
stack of spectrally normalised 1-D convolutions and a logit; the features of
every scale are returned too, for feature matching. Its input is a
``(batch, time, vocabulary_size)`` distribution per token, so a generator's
Gumbel-softmax samples pass gradients straight through it.
"""

import keras
from keras import ops

from musickit.layers.latent import SpectralConv1D


@keras.saving.register_keras_serializable(package="musickit")
class MultiScaleDiscriminator(keras.Model):
    """Discriminator of token sequences at several time resolutions, with spectral normalisation.

    Args:
        hidden_dim: int, width of the token projection and the convolutions.
        scales: tuple of ints, pooling factors (``(1, 2, 4)``: full, half and quarter resolution).
        num_convolutions: int, convolutions per scale.
        kernel_size: int.
        **kwargs: passed to ``keras.Model``.

    Call arguments:
        distributions: ``(batch, time, vocabulary_size)`` one-hot or soft tokens.
        mask: optional ``(batch, time)``, True on real tokens.
        training: bool.

    Returns:
        ``(logits, features)``: a list of ``(batch,)`` logits and a list of
        ``(batch, hidden_dim)`` pooled features, one per scale.

    Example:

    >>> import numpy as np
    >>> discriminator = MultiScaleDiscriminator(hidden_dim=8)
    >>> logits, features = discriminator(np.eye(5, dtype="float32")[np.array([[0, 1, 2, 3, 4, 0, 1, 2]])])
    >>> [tuple(logit.shape) for logit in logits], tuple(features[0].shape)
    ([(1,), (1,), (1,)], (1, 8))

    References:
        - [Miyato et al., 2018, Spectral Normalization for GANs](https://arxiv.org/abs/1802.05957)
        - [Kumar et al., 2019, MelGAN](https://arxiv.org/abs/1910.06711) (multi-scale discriminators)
    """

    def __init__(self, hidden_dim=64, scales=(1, 2, 4), num_convolutions=2, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = int(hidden_dim)
        self.scales = tuple(int(scale) for scale in scales)
        self.num_convolutions = int(num_convolutions)
        self.kernel_size = int(kernel_size)
        policy = self.dtype_policy
        self.token_projection = SpectralConv1D(self.hidden_dim, dtype=policy, name="token_projection")
        self.convolutions = [
            [
                SpectralConv1D(
                    self.hidden_dim, self.kernel_size, dtype=policy, name=f"scale_{scale}_convolution_{index}"
                )
                for index in range(self.num_convolutions)
            ]
            for scale in self.scales
        ]
        self.heads = [SpectralConv1D(1, dtype=policy, name=f"scale_{scale}") for scale in self.scales]

    def build(self, input_shape):
        self.token_projection.build(input_shape)
        sequence_shape = (None, None, self.hidden_dim)
        for convolutions, head in zip(self.convolutions, self.heads):
            for convolution in convolutions:
                convolution.build(sequence_shape)
            head.build((None, 1, self.hidden_dim))
        self.built = True

    def call(self, distributions, mask=None, training=None):
        distributions = ops.cast(distributions, self.compute_dtype)
        if mask is None:
            mask = ops.ones(ops.shape(distributions)[:2], dtype="bool")
        weights = ops.expand_dims(ops.cast(mask, self.compute_dtype), -1)
        hidden = self.token_projection(distributions * weights, training=training)
        logits, features = [], []
        for scale, convolutions, head in zip(self.scales, self.convolutions, self.heads):
            scaled, scaled_weights = hidden, weights
            if scale > 1:
                scaled = ops.average_pool(hidden, scale, strides=scale, padding="same")
                scaled_weights = ops.average_pool(weights, scale, strides=scale, padding="same")
            for convolution in convolutions:
                scaled = ops.leaky_relu(convolution(scaled, training=training), negative_slope=0.2)
            present = ops.cast(scaled_weights > 0, scaled.dtype)
            pooled = ops.sum(scaled * present, axis=1) / ops.maximum(ops.sum(present, axis=1), 1.0)
            features.append(pooled)
            logits.append(ops.cast(head(ops.expand_dims(pooled, 1), training=training)[:, 0, 0], "float32"))
        return logits, features

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_dim": self.hidden_dim,
                "scales": list(self.scales),
                "num_convolutions": self.num_convolutions,
                "kernel_size": self.kernel_size,
            }
        )
        return config
