"""--distribute: two (forced host) devices train like one, and a checkpoint saved distributed loads on one."""

import argparse
import os
import subprocess
import sys
import textwrap

import keras
import pytest

from musickit.runs.distribution_flags import add_distribution_flags, configure_distribution

# Runs in a fresh JAX process: the device count is fixed when JAX starts.
SCRIPT = textwrap.dedent(
    """
    import argparse, json, sys
    import numpy as np
    import keras
    from musickit.models.music_transformer import MusicTransformer
    from musickit.runs.distribution_flags import configure_distribution

    assert len(keras.distribution.list_devices()) == 2, keras.distribution.list_devices()
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 20, size=(4, 16)).astype("int32")
    targets = rng.integers(1, 20, size=(4, 16)).astype("int32")

    def train(distribute):
        keras.utils.set_random_seed(0)
        model = MusicTransformer.from_preset("tiny", vocabulary_size=20, max_sequence_length=16, dropout=0.0)
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        losses = [float(model.train_on_batch(tokens, targets)) for _ in range(3)]
        return model, losses

    args = argparse.Namespace(distribute=True, batch_size=2)
    devices = configure_distribution(args, log=lambda line: None)
    distributed, distributed_losses = train(True)
    distributed.save(sys.argv[1])
    distributed_logits = np.asarray(distributed(tokens))
    keras.distribution.set_distribution(None)
    single, single_losses = train(False)
    loaded = keras.saving.load_model(sys.argv[1])
    print(json.dumps({
        "devices": devices, "global_batch": args.batch_size,
        "distributed_losses": distributed_losses, "single_losses": single_losses,
        "loaded_logits_gap": float(np.abs(np.asarray(loaded(tokens)) - distributed_logits).max()),
    }))
    """
)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="data parallelism is implemented on JAX only")
@pytest.mark.long
def test_two_devices_train_like_one_and_the_checkpoint_loads_on_one(tmp_path):
    import json

    import numpy as np

    environment = os.environ | {
        "KERAS_BACKEND": "jax",
        # Two host devices, on top of the quick compiles the suite asked for (tests/conftest.py).
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2",
        "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "model.keras")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["devices"] == 2 and report["global_batch"] == 4
    np.testing.assert_allclose(report["distributed_losses"], report["single_losses"], rtol=1e-4)
    assert report["distributed_losses"][-1] < report["distributed_losses"][0]  # it trained
    assert report["loaded_logits_gap"] < 1e-5


def test_flag_defaults_to_one_device_and_other_backends_say_so():
    parser = add_distribution_flags(argparse.ArgumentParser())
    args = parser.parse_args([])
    args.batch_size = 8
    assert configure_distribution(args) == 1 and args.batch_size == 8
    if keras.backend.backend() != "jax":
        lines = []
        args = argparse.Namespace(distribute=True, batch_size=8)
        assert configure_distribution(args, log=lines.append) == 1
        assert args.batch_size == 8 and len(lines) == 1 and "JAX backend only" in lines[0]
