"""Training speed of the Music Transformer beside keras_hub's GPT-2, and of the piano-roll LSTM.

Side by side in one process on the active Keras backend: musickit's ``MusicTransformer`` with
relative, rotary and absolute positions and keras_hub's ``GPT2CausalLM`` (no preprocessor) at the
same width, depth, heads, vocabulary (440) and sequence length, all compiled alike (the families' AdamW
from ``musickit.training.optimizers``: weight decay 0.01, clipnorm 1; sparse cross-entropy on logits;
the same ``jit_compile``), dropout 0 (keras' fused attention, which
GPT-2's layers use, is only taken without attention dropout), random tokens. After warm-up steps
(compilation), rounds of ``--steps`` training steps are timed in turn for each model and the
fastest round counts: a busy machine slows whichever model it happens to hit, so interleaving
keeps the ratios fair.

Reported per model: tokens/s and model FLOPs utilisation, MFU = tokens/s x (6 N + 12 L T d) / peak
(PaLM's count: N trainable parameters with the tied embedding once, L layers, T sequence length,
d width; relative attention's extra logits are not counted, so its MFU is conservative). The peak
is ``--peak-tflops`` or, without it, the best rate of a square matmul measured here in the same
dtype. ``vs_keras_hub_training_ratio`` is musickit rotary over keras_hub;
``relative_vs_keras_hub_training_ratio`` the same for relative attention. The LSTM part trains
``PianoRollLSTM`` with ``recurrent_dropout`` 0.2 and 0 and reports windows/s (recurrent dropout
turns cuDNN off on torch and TensorFlow GPUs).

``--compare-backends jax,torch`` runs the benchmark once per backend in subprocesses and adds
each backend's time relative to the first (``torch_vs_jax_time``).

Imports nothing that needs TensorFlow unless the backend is TensorFlow (no tf.data): a GPU box
with JAX and torch only can run it (``benchmarks/gpu_throughput.sh``).

Example:

    KERAS_BACKEND=jax python benchmarks/training_throughput.py --preset small --json
    python benchmarks/training_throughput.py --preset small --compare-backends jax,torch
    KERAS_BACKEND=jax python benchmarks/training_throughput.py --preset paper --mixed-precision --jit
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

VOCABULARY_SIZE = 440  # the default REMITokenizer's vocabulary
ENCODINGS = ("relative", "rotary", "absolute")

#: model preset (musickit.models.decoder_base.DECODER_PRESETS), batch x sequence length, LSTM units and batch.
PRESETS = {
    # For the test: runs in seconds.
    "tiny": {
        "model": "tiny",
        "batch_size": 2,
        "sequence_length": 32,
        "lstm_units": 16,
        "lstm_batch_size": 4,
        "steps": 2,
        "rounds": 1,
        "lstm_frames": 16,
    },
    # A CPU: minutes.
    "small": {
        "model": "small",
        "batch_size": 8,
        "sequence_length": 256,
        "lstm_units": 128,
        "lstm_batch_size": 32,
        "steps": 5,
        "rounds": 3,
        "lstm_frames": 64,
    },
    # One GPU (the shapes).
    "base": {
        "model": "base",
        "batch_size": 16,
        "sequence_length": 2048,
        "lstm_units": 512,
        "lstm_batch_size": 64,
        "steps": 10,
        "rounds": 3,
        "lstm_frames": 64,
    },
    "paper": {
        "model": "paper",
        "batch_size": 8,
        "sequence_length": 2048,
        "lstm_units": 512,
        "lstm_batch_size": 64,
        "steps": 10,
        "rounds": 3,
        "lstm_frames": 64,
    },
}


def _keras():
    import keras

    return keras


def _compile(model, jit_compile):
    from musickit.training.optimizers import OptimizerSettings, build_optimizer

    keras = _keras()
    model.compile(
        optimizer=build_optimizer(OptimizerSettings(1e-4)),  # the library's AdamW, as the transformer families train
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )


def transformer_models(preset, sequence_length, jit_compile, encodings=ENCODINGS):
    """``{name: (model, inputs, targets)}``: musickit per position encoding and keras_hub's GPT-2, same shape."""
    import keras_hub

    from musickit.models.decoder_base import DECODER_PRESETS
    from musickit.models.music_transformer import MusicTransformer

    keras = _keras()
    config = DECODER_PRESETS[preset["model"]]
    batch = preset["batch_size"]
    rng = np.random.default_rng(0)
    token_ids = rng.integers(1, VOCABULARY_SIZE, size=(batch, sequence_length)).astype("int32")
    targets = rng.integers(1, VOCABULARY_SIZE, size=(batch, sequence_length)).astype("int32")
    models = {}
    for encoding in encodings:
        keras.utils.set_random_seed(0)
        model = MusicTransformer.from_preset(
            preset["model"],
            VOCABULARY_SIZE,
            max_sequence_length=sequence_length,
            position_encoding=encoding,
            dropout=0.0,
            end_id=None,
        )
        _compile(model, jit_compile)
        models[f"musickit_{encoding}"] = (model, token_ids, targets)
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=VOCABULARY_SIZE,
        num_layers=config["num_layers"],
        num_heads=config["num_heads"],
        hidden_dim=config["hidden_dim"],
        intermediate_dim=config["intermediate_dim"],
        dropout=0.0,
        max_sequence_length=sequence_length,
    )
    reference = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    _compile(reference, jit_compile)
    inputs = {"token_ids": token_ids, "padding_mask": np.ones_like(token_ids, bool)}
    models["keras_hub"] = (reference, inputs, targets)
    return models


def model_flops_per_token(model, num_layers, hidden_dim, sequence_length):
    """Training FLOPs per token, PaLM's count: 6 N + 12 L T d (N without position embeddings)."""
    parameters = sum(
        int(np.prod(weight.shape)) for weight in model.trainable_weights if "position_embedding" not in weight.path
    )
    return 6 * parameters + 12 * num_layers * sequence_length * hidden_dim


def measured_peak_tflops(dtype):
    """The best TFLOP/s of a square matmul in ``dtype`` on this backend's default device (a practical peak)."""
    keras = _keras()
    size = 8192 if _gpu_visible() else 1024
    left = keras.random.normal((size, size), dtype=dtype)
    right = keras.random.normal((size, size), dtype=dtype)
    best = float("inf")
    for round_index in range(4):
        started = time.perf_counter()
        product = keras.ops.matmul(left, right)
        keras.ops.convert_to_numpy(product[0, 0])  # wait for the device
        if round_index:
            best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e12


def _gpu_visible():
    keras = _keras()
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.devices()[0].platform == "gpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def timed_rounds(runs, steps, rounds, warmup=2):
    """Fastest seconds per ``steps`` training steps for each run, rounds interleaved across runs."""
    for function in runs.values():
        for _ in range(warmup):
            function()
    best = {name: float("inf") for name in runs}
    for _ in range(rounds):
        for name, function in runs.items():
            started = time.perf_counter()
            for _ in range(steps):
                loss = function()
            np.ravel(np.asarray(loss, dtype="float64"))  # the loss is on the host: the step has finished
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def transformer_throughput(preset, jit_compile, peak_tflops, encodings=ENCODINGS):
    from musickit.models.decoder_base import DECODER_PRESETS

    config = DECODER_PRESETS[preset["model"]]
    length = preset["sequence_length"]
    models = transformer_models(preset, length, jit_compile, encodings)
    runs = {name: (lambda model=model, x=x, y=y: model.train_on_batch(x, y)) for name, (model, x, y) in models.items()}
    seconds = timed_rounds(runs, preset["steps"], preset["rounds"])
    tokens = preset["batch_size"] * length * preset["steps"]
    results = {}
    for name, (model, _, _) in models.items():
        tokens_per_second = tokens / seconds[name]
        flops = model_flops_per_token(model, config["num_layers"], config["hidden_dim"], length)
        results[name] = {
            "tokens_per_second": tokens_per_second,
            "seconds_per_step": seconds[name] / preset["steps"],
            "model_flops_utilisation": tokens_per_second * flops / (peak_tflops * 1e12),
        }
    reference = results["keras_hub"]["tokens_per_second"]
    ratios = {}
    if "musickit_rotary" in results:
        ratios["vs_keras_hub_training_ratio"] = results["musickit_rotary"]["tokens_per_second"] / reference
    if "musickit_relative" in results:
        ratios["relative_vs_keras_hub_training_ratio"] = results["musickit_relative"]["tokens_per_second"] / reference
    if "musickit_absolute" in results:
        ratios["absolute_vs_keras_hub_training_ratio"] = results["musickit_absolute"]["tokens_per_second"] / reference
    return results, ratios


def lstm_throughput(preset, jit_compile):
    """Windows/s of the piano-roll LSTM (2 layers) with recurrent dropout 0.2 and 0, side by side."""
    import warnings

    from musickit.models.piano_roll_lstm import PianoRollLSTM
    from musickit.training.optimizers import OptimizerSettings, build_optimizer

    keras = _keras()
    batch, frames = preset["lstm_batch_size"], preset["lstm_frames"]
    rng = np.random.default_rng(0)
    rolls = (rng.random((batch, frames, 88)) < 0.05).astype("float32")
    targets = (rng.random((batch, frames, 88)) < 0.05).astype("float32")
    runs = {}
    for recurrent_dropout in (0.2, 0.0):
        keras.utils.set_random_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the cuDNN warning is the point of this row
            model = PianoRollLSTM(lstm_units=preset["lstm_units"], num_layers=2, recurrent_dropout=recurrent_dropout)
        model.compile(
            optimizer=build_optimizer(OptimizerSettings(1e-3, algorithm="adam")),  # the piano-roll family's Adam
            loss=keras.losses.BinaryCrossentropy(from_logits=True),
            jit_compile=jit_compile,
        )
        runs[f"recurrent_dropout_{recurrent_dropout:g}"] = lambda model=model: model.train_on_batch(rolls, targets)
    seconds = timed_rounds(runs, preset["steps"], preset["rounds"])
    return {name: batch * preset["steps"] / value for name, value in seconds.items()}


def run(args):
    keras = _keras()
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    preset = dict(PRESETS[args.preset])
    if args.steps:
        preset["steps"] = args.steps
    if args.rounds:
        preset["rounds"] = args.rounds
    jit_compile = {"auto": "auto", "on": True, "off": False}[args.jit]
    dtype = "bfloat16" if args.mixed_precision else "float32"
    peak = args.peak_tflops or measured_peak_tflops(dtype)
    results = {
        "backend": keras.backend.backend(),
        "preset": args.preset,
        "batch_size": preset["batch_size"],
        "sequence_length": preset["sequence_length"],
        "dtype_policy": keras.mixed_precision.global_policy().name,
        "jit_compile": jit_compile,
        "peak_tflops": peak,
        "peak_source": "given" if args.peak_tflops else "measured matmul",
        "gpu": _gpu_visible(),
    }
    if not args.skip_transformer:
        models, ratios = transformer_throughput(preset, jit_compile, peak, tuple(args.encodings.split(",")))
        results["transformer"] = models
        results.update(ratios)
    if not args.skip_lstm:
        results["lstm_windows_per_second"] = lstm_throughput(preset, jit_compile)
    return results


def compare_backends(args, argv):
    """Run this benchmark once per backend in a subprocess; add each backend's step time over the first's."""
    backends = args.compare_backends.split(",")
    forwarded = [item for item in argv if not item.startswith("--compare-backends")]
    if "--compare-backends" in argv:
        index = argv.index("--compare-backends")
        forwarded = argv[:index] + argv[index + 2 :]
    per_backend = {}
    for backend in backends:
        command = [sys.executable, os.path.abspath(__file__), *forwarded, "--json"]
        output = subprocess.run(
            command, env=os.environ | {"KERAS_BACKEND": backend}, check=True, capture_output=True, text=True
        ).stdout
        per_backend[backend] = json.loads(output[output.index("{") :])
    first = backends[0]
    comparison = {"backends": per_backend}
    for backend in backends[1:]:
        for name, row in per_backend[backend].get("transformer", {}).items():
            base_row = per_backend[first]["transformer"][name]
            comparison[f"{backend}_vs_{first}_time_{name}"] = row["seconds_per_step"] / base_row["seconds_per_step"]
    return comparison


def markdown(results):
    lines = [
        f"backend {results['backend']}, preset {results['preset']} (batch {results['batch_size']} x "
        f"{results['sequence_length']} tokens), {results['dtype_policy']}, jit_compile={results['jit_compile']}, "
        f"peak {results['peak_tflops']:.2f} TFLOP/s ({results['peak_source']})",
        "",
    ]
    if "transformer" in results:
        lines += ["| model | tokens/s | ms/step | model FLOPs utilisation |", "|---|---:|---:|---:|"]
        for name, row in results["transformer"].items():
            lines.append(
                f"| {name} | {row['tokens_per_second']:,.0f} | {1000 * row['seconds_per_step']:.1f} | "
                f"{100 * row['model_flops_utilisation']:.1f}% |"
            )
        for key in (
            "vs_keras_hub_training_ratio",
            "relative_vs_keras_hub_training_ratio",
            "absolute_vs_keras_hub_training_ratio",
        ):
            if key in results:
                lines.append(f"\n{key}: {results[key]:.2f}")
    if "lstm_windows_per_second" in results:
        lines += ["", "| LSTM | windows/s |", "|---|---:|"]
        lines += [f"| {name} | {value:,.0f} |" for name, value in results["lstm_windows_per_second"].items()]
    return "\n".join(lines)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="small")
    parser.add_argument("--steps", type=int, default=0, help="training steps per timed round (default: the preset's)")
    parser.add_argument("--rounds", type=int, default=0, help="timed rounds (default: the preset's)")
    parser.add_argument("--mixed-precision", action="store_true", help="mixed_bfloat16 (what a GPU run uses)")
    parser.add_argument(
        "--jit",
        choices=("auto", "on", "off"),
        default="auto",
        help="jit_compile for every model (auto: XLA on JAX, none on torch)",
    )
    parser.add_argument(
        "--peak-tflops", type=float, default=0.0, help="peak TFLOP/s for MFU (default: measure a matmul)"
    )
    parser.add_argument("--encodings", default=",".join(ENCODINGS), help="musickit position encodings to time")
    parser.add_argument("--skip-transformer", action="store_true")
    parser.add_argument("--skip-lstm", action="store_true")
    parser.add_argument("--compare-backends", default="", help="e.g. jax,torch: one subprocess per backend")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    return parser.parse_args(argv)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_arguments(argv)
    results = compare_backends(args, argv) if args.compare_backends else run(args)
    if args.json or args.compare_backends:
        print(json.dumps(results, default=str))  # one line: the last line of the output is the whole result
    else:
        print(markdown(results))


if __name__ == "__main__":
    main()
