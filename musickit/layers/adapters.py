"""Bottleneck adapters: a small residual MLP that lets a frozen network learn a new task.

Houlsby et al. (2019) insert, after a frozen transformer sub-layer, a
down-projection to a few units, a non-linearity and an up-projection, added
back to the input. The up-projection starts at zero, so a fresh adapter is
the identity and inserting it into a trained decoder changes nothing until
training moves it. The hierarchical model's stage A trains only these and
the cross-attention.
"""

import keras


@keras.saving.register_keras_serializable(package="musickit")
class BottleneckAdapter(keras.layers.Layer):
    """``x + up(activation(down(norm(x))))`` with ``up`` initialised to zero.

    Args:
        bottleneck_dim: int, units of the down-projection.
        activation: activation between the projections.
        layer_norm_epsilon: float.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        inputs: ``(..., hidden_dim)`` tensor.

    Example:

    >>> import numpy as np
    >>> adapter = BottleneckAdapter(bottleneck_dim=4)
    >>> features = np.ones((2, 3, 8), "float32")
    >>> bool(np.allclose(keras.ops.convert_to_numpy(adapter(features)), features))  # identity when fresh
    True

    References:
        - [Houlsby et al., 2019, Parameter-Efficient Transfer Learning for NLP](https://arxiv.org/abs/1902.00751)
    """

    def __init__(self, bottleneck_dim, activation="gelu", layer_norm_epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.bottleneck_dim = int(bottleneck_dim)
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        policy = self.dtype_policy
        self.norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, dtype=policy, name="norm")
        self.down = keras.layers.Dense(self.bottleneck_dim, activation=self.activation, dtype=policy, name="down")
        self.up = keras.layers.Dense(hidden_dim, kernel_initializer="zeros", dtype=policy, name="up")
        self.norm.build(input_shape)
        self.down.build(input_shape)
        self.up.build(tuple(input_shape[:-1]) + (self.bottleneck_dim,))

    def call(self, inputs):
        return inputs + self.up(self.down(self.norm(inputs)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "bottleneck_dim": self.bottleneck_dim,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
