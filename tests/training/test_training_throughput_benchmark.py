"""benchmarks/training_throughput.py at its tiniest size, so the throughput_benchmark cannot rot unnoticed.

This is the one run of the script in the default tests: tests/benchmarks/test_benchmarks_smoke.py leaves it here.
"""

import importlib.util
import json
import pathlib

import pytest

BENCHMARK = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "training_throughput.py"


@pytest.fixture(scope="module")
def throughput_benchmark():
    spec = importlib.util.spec_from_file_location("training_throughput", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_run_reports_every_figure(throughput_benchmark, capsys):
    import keras

    # The quicker path per backend: JAX compiles each operation on its own when not jit-compiled (217 s
    # against 128 s on a loaded 2-core machine); TensorFlow traces far faster than XLA compiles.
    jit = "on" if keras.config.backend() == "jax" else "off"
    flags = ["--preset", "tiny", "--encodings", "rotary", "--steps", "1", "--rounds", "1", "--peak-tflops", "1"]
    # main() as the command line runs it (this is the benchmark smoke test's run of this script): its last
    # line is the whole result as JSON.
    throughput_benchmark.main([*flags, "--jit", jit, "--json"])
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rows = results["transformer"]
    assert set(rows) == {"musickit_rotary", "keras_hub"}
    for row in rows.values():
        assert row["tokens_per_second"] > 0 and 0 < row["model_flops_utilisation"] < 1
    assert results["vs_keras_hub_training_ratio"] == pytest.approx(
        rows["musickit_rotary"]["tokens_per_second"] / rows["keras_hub"]["tokens_per_second"]
    )
    assert set(results["lstm_windows_per_second"]) == {"recurrent_dropout_0.2", "recurrent_dropout_0"}
    table = throughput_benchmark.markdown(results)
    assert "vs_keras_hub_training_ratio" in table and "| keras_hub |" in table


def test_model_flops_count_six_n_plus_attention(throughput_benchmark):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])  # 16 parameters
    # 6 x 16 + 12 x layers 2 x length 8 x width 4
    assert throughput_benchmark.model_flops_per_token(model, num_layers=2, hidden_dim=4, sequence_length=8) == 96 + 768
