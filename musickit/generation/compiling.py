"""The generation engine's one compile path per backend: every decoding loop is compiled here.

:func:`compile_for_backend` turns a loop written in ``keras.ops`` into what
the active backend runs fastest: ``jax.jit`` on JAX, ``tf.function`` (XLA
when ``jit_compile``) on TensorFlow, eager under ``torch.no_grad`` on
PyTorch. The token models' cached decoding
(:mod:`musickit.generation.cached_decoding`) and the piano-roll sampler
(:mod:`musickit.generation.piano_roll_sampling`) both call it, so a backend
quirk is handled once.

On JAX a compiled function must be pure. Variables named in ``weights``
(a model) go in as arguments, so the function sees their current values on
every call; variables in ``state`` (a sampler's seed) go in and come back
out, and are assigned after the call. Without either, variables the function
reads are baked in as constants when it is first traced.

Example:

>>> import numpy as np
>>> from keras import ops
>>> double = compile_for_backend(lambda values: ops.multiply(values, 2))
>>> np.asarray(ops.convert_to_numpy(double(ops.convert_to_tensor([1.0, 2.0])))).tolist()
[2.0, 4.0]
"""

import itertools

import keras


def compile_for_backend(function, jit_compile=True, weights=None, state=()):
    """``function`` compiled for the active Keras backend; call it as ``function`` itself.

    Args:
        function: a callable of tensors written in ``keras.ops``.
        jit_compile: on TensorFlow, compile with XLA (``tf.function(jit_compile=True)``);
            otherwise a plain graph, traced once per input shape.
        weights: a Keras layer or model whose variables ``function`` reads (JAX: passed as arguments).
        state: variables ``function`` updates, such as a sampler's seed (JAX: returned and assigned).
    """
    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=jit_compile)
    if backend == "jax":
        return _jax_function(function, weights, list(state))
    if backend == "torch":
        import torch

        def without_autograd(*args):
            with torch.no_grad():
                return function(*args)

        return without_autograd
    return function


def _jax_function(function, weights, state):
    """``jax.jit`` of ``function`` with ``weights``' and ``state``'s variables passed in (and ``state`` out)."""
    import jax

    if weights is None and not state:
        return jax.jit(function)
    weight_variables = [] if weights is None else [*weights.trainable_variables, *weights.non_trainable_variables]

    @jax.jit
    def compiled(args, state_values, weight_values):
        mapping = itertools.chain(zip(state, state_values), zip(weight_variables, weight_values))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            outputs = function(*args)
        new_state_values = []
        for variable in state:
            value = scope.get_current_value(variable)
            new_state_values.append(variable.value if value is None else value)
        return outputs, new_state_values

    def run(*args):
        outputs, state_values = compiled(
            args, [variable.value for variable in state], [variable.value for variable in weight_variables]
        )
        for variable, value in zip(state, state_values):
            variable.assign(value)
        return outputs

    return run
