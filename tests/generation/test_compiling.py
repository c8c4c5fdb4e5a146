"""The engine's one compile path: a compiled step reads the current weights and carries its state, on every backend."""

import keras
import numpy as np
from keras import ops

from musickit.generation.compiling import compile_for_backend


def test_a_compiled_step_reads_new_weights_and_carries_its_state():
    layer = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")
    layer.build((None, 2))
    calls = keras.Variable(0, dtype="int32", trainable=False)

    def step(inputs):
        calls.assign(calls + 1)  # a sampler's seed state changes like this
        return layer(inputs)

    compiled = compile_for_backend(step, weights=layer, state=[calls])
    inputs = ops.convert_to_tensor(np.array([[1.0, 2.0]], "float32"))
    assert ops.convert_to_numpy(compiled(inputs)).tolist() == [[3.0]]
    layer.kernel.assign(np.full((2, 1), 2.0, "float32"))  # trained further: the same compiled step sees it
    assert ops.convert_to_numpy(compiled(inputs)).tolist() == [[6.0]]
    assert int(ops.convert_to_numpy(calls.value)) == 2


def test_a_step_without_variables_compiles_as_it_is():
    halve = compile_for_backend(lambda values: ops.divide(values, 2.0), jit_compile=False)
    assert ops.convert_to_numpy(halve(ops.convert_to_tensor([4.0]))).tolist() == [2.0]
