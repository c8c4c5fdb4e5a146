"""Generation speed of the Music Transformer: cached vs uncached, vs keras_hub's GPT-2, and memory vs length.

Four measurements, each side by side in one process on the active Keras backend (run it once per
backend for the per-backend table):

1. Cached vs uncached greedy decoding, tokens/s, when generating 256, 1024 and 2048 tokens with the
   ``small`` preset (relative attention). The uncached loop recomputes the whole fixed-size buffer at
   every step (what a compiled loop without a cache must do), so its cost per token does not depend
   on the position; it is timed over ``--uncached-steps`` steps at the full buffer length instead of
   over thousands of steps, and its tokens/s is that step rate. The cached figure is a complete
   generation from a one-token prompt, prefill included.
2. musickit vs keras_hub's ``GPT2CausalLM.generate()`` at the same width, depth, vocabulary and length
   (both built from config, random weights, greedy, compiled by their own code). musickit uses
   absolute positions here, as GPT-2 does; the relative-attention figure is reported beside it.
3. Tokens/s on this backend (the ``backend`` key): one row of the per-backend table.
4. Peak resident memory added by generating ``L`` tokens, for ``L`` up to 4096, each in a fresh
   subprocess (peak RSS sampled during a second, already compiled generation, minus the RSS before
   it), with the ``small`` preset stretched to 4096 positions (``--memory-preset``). The cache is
   ``layers x 2 x L x width`` floats; the prefill covers only the prompt, so nothing is ``L x L``.

Example:

    KERAS_BACKEND=jax python benchmarks/generation_transformer.py --json
    python benchmarks/generation_transformer.py --quick   # 256/512 tokens only, for a fast look

The lead's ``benchmarks/generation.py`` imports :func:`run`.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np

VOCABULARY_SIZE = 440  # the default REMITokenizer's vocabulary
LENGTHS = (256, 1024, 2048)
MEMORY_LENGTHS = (512, 1024, 2048, 4096)
KERAS_HUB_ROUNDS = 3


def _keras():
    import keras

    return keras


def _music_transformer(preset, max_length, position_encoding="relative"):
    from musickit.models.music_transformer import MusicTransformer

    _keras().utils.set_random_seed(0)
    model = MusicTransformer.from_preset(
        preset,
        vocabulary_size=VOCABULARY_SIZE,
        max_sequence_length=max_length,
        position_encoding=position_encoding,
        dropout=0.0,
        end_id=None,
    )
    model.build()
    return model


def _timed(function, repeats=2):
    """Seconds of the fastest of ``repeats`` calls, after one warm-up call (compilation)."""
    function()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def cached_vs_uncached(preset, lengths, uncached_steps):
    rows = []
    for length in lengths:
        model = _music_transformer(preset, length + 1)
        prompt = [[1]]
        cached_seconds = _timed(lambda: model.generate(prompt, max_length=length + 1, sampler="greedy"))  # noqa: B023 (called at once)
        # The same buffer length, only the last steps left to generate.
        late_prompt = [list(np.arange(length + 1 - uncached_steps) % 300 + 1)]
        uncached_seconds = _timed(
            lambda: model.generate(late_prompt, max_length=length + 1, sampler="greedy", use_cache=False)  # noqa: B023
        )
        cached_rate = length / cached_seconds
        uncached_rate = uncached_steps / uncached_seconds
        rows.append(
            {
                "tokens": length,
                "cached_tokens_per_second": cached_rate,
                "uncached_tokens_per_second": uncached_rate,
                "ratio": cached_rate / uncached_rate,
            }
        )
    return rows


def versus_keras_hub(preset, length):
    """musickit (absolute and relative positions) vs keras_hub GPT2CausalLM, greedy, same shapes."""
    import keras_hub

    from musickit.models.music_transformer import PRESETS

    config = PRESETS[preset]
    keras = _keras()
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=VOCABULARY_SIZE,
        num_layers=config["num_layers"],
        num_heads=config["num_heads"],
        hidden_dim=config["hidden_dim"],
        intermediate_dim=config["intermediate_dim"],
        dropout=0.0,
        max_sequence_length=length + 1,
    )
    reference = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    reference.compile(sampler="greedy")
    token_ids = np.zeros((1, length + 1), "int32")
    token_ids[0, 0] = 1
    padding_mask = np.zeros((1, length + 1), bool)
    padding_mask[0, 0] = True
    inputs = {"token_ids": token_ids, "padding_mask": padding_mask}
    models = {encoding: _music_transformer(preset, length + 1, encoding) for encoding in ("absolute", "relative")}
    runs = {"keras_hub": lambda: reference.generate(inputs, stop_token_ids=None)}
    for encoding, model in models.items():
        runs[f"musickit_{encoding}"] = lambda model=model: model.generate(
            [[1]], max_length=length + 1, sampler="greedy"
        )
    # Interleaved rounds, fastest of each: a busy machine slows whichever run it happens to hit,
    # so timing the contenders in turn keeps the ratio fair.
    for function in runs.values():
        function()  # compile
    best = {name: float("inf") for name in runs}
    for _ in range(KERAS_HUB_ROUNDS):
        for name, function in runs.items():
            started = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - started)
    results = {f"{name}_tokens_per_second": length / seconds for name, seconds in best.items()}
    results["vs_keras_hub_ratio"] = (
        results["musickit_absolute_tokens_per_second"] / results["keras_hub_tokens_per_second"]
    )
    results["relative_vs_keras_hub_ratio"] = (
        results["musickit_relative_tokens_per_second"] / results["keras_hub_tokens_per_second"]
    )
    return results


def _resident_bytes():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_probe(preset, length):
    """In this (fresh) process: peak RSS added while generating ``length`` tokens, in bytes.

    The first generation compiles (and compilation memory would swamp the
    cache), so the second, identical one is measured by a thread sampling
    the resident set every millisecond.
    """
    model = _music_transformer(preset, length + 1)
    model.generate([[1]], max_length=length + 1, sampler="greedy")  # compile at this length
    before = _resident_bytes()
    peak = [before]
    running = threading.Event()
    running.set()

    def sample():
        while running.is_set():
            peak[0] = max(peak[0], _resident_bytes())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    model.generate([[1]], max_length=length + 1, sampler="greedy")
    seconds = time.perf_counter() - started
    running.clear()
    sampler.join()
    peak = peak[0]
    head_dim = model.hidden_dim // model.num_heads
    cache_bytes = model.num_layers * 2 * (length + 1) * model.num_heads * head_dim * 4
    return {"tokens": length, "peak_added_bytes": max(peak - before, 0), "cache_bytes": cache_bytes, "seconds": seconds}


def memory_versus_length(preset, lengths):
    rows = []
    for length in lengths:
        command = [sys.executable, os.path.abspath(__file__), "--memory-probe", str(length), "--memory-preset", preset]
        output = subprocess.run(command, capture_output=True, text=True, check=True, env=os.environ.copy()).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
    # Linear growth: the added memory per token stays roughly constant from one length to the next.
    for previous, row in zip(rows, rows[1:]):
        grown = row["peak_added_bytes"] - previous["peak_added_bytes"]
        row["added_bytes_per_extra_token"] = grown / (row["tokens"] - previous["tokens"])
    return rows


def run(args):
    """Run the benchmark; ``args`` has ``preset``, ``lengths``, ``uncached_steps``, ``memory_preset``,
    ``memory_lengths`` and ``skip_memory``. Returns one dict of results."""
    keras = _keras()
    if getattr(args, "quick", False):
        args.lengths, args.memory_lengths = [256, 512], [256, 512, 1024]
    lengths = tuple(args.lengths)
    rows = cached_vs_uncached(args.preset, lengths, args.uncached_steps)
    comparison_length = 1024 if 1024 in lengths else lengths[-1]
    results = {
        "backend": keras.config.backend(),
        "preset": args.preset,
        "cached_vs_uncached": rows,
        **{f"cached_vs_uncached_ratio_{row['tokens']}": row["ratio"] for row in rows},
        **{f"cached_tokens_per_second_{row['tokens']}": row["cached_tokens_per_second"] for row in rows},
        "keras_hub_comparison_tokens": comparison_length,
        **versus_keras_hub(args.preset, comparison_length),
    }
    if not args.skip_memory:
        results["memory_preset"] = args.memory_preset
        results["memory"] = memory_versus_length(args.memory_preset, tuple(args.memory_lengths))
    return results


def markdown(results):
    lines = [
        f"backend: {results['backend']}, preset: {results['preset']}",
        "",
        "| generated tokens | cached tokens/s | uncached tokens/s | ratio |",
        "|---|---|---|---|",
    ]
    for row in results["cached_vs_uncached"]:
        lines.append(
            f"| {row['tokens']} | {row['cached_tokens_per_second']:.1f} | "
            f"{row['uncached_tokens_per_second']:.2f} | {row['ratio']:.1f} |"
        )
    lines += [
        "",
        f"| at {results['keras_hub_comparison_tokens']} tokens | tokens/s | vs keras_hub GPT-2 |",
        "|---|---|---|",
        f"| keras_hub GPT2CausalLM | {results['keras_hub_tokens_per_second']:.1f} | 1.00 |",
        f"| musickit, absolute positions | {results['musickit_absolute_tokens_per_second']:.1f} | "
        f"{results['vs_keras_hub_ratio']:.2f} |",
        f"| musickit, relative positions | {results['musickit_relative_tokens_per_second']:.1f} | "
        f"{results['relative_vs_keras_hub_ratio']:.2f} |",
    ]
    if "memory" in results:
        lines += [
            "",
            f"memory ({results['memory_preset']} preset, fresh process per length):",
            "",
            "| generated tokens | peak RSS added (MiB) | KV cache (MiB) | added bytes per extra token | seconds |",
            "|---|---|---|---|---|",
        ]
        for row in results["memory"]:
            per_token = row.get("added_bytes_per_extra_token")
            lines.append(
                f"| {row['tokens']} | {row['peak_added_bytes'] / 2**20:.1f} | {row['cache_bytes'] / 2**20:.2f} | "
                f"{'' if per_token is None else f'{per_token:.0f}'} | {row['seconds']:.1f} |"
            )
    return "\n".join(lines)


def add_arguments(parser):
    """This benchmark's flags (``benchmarks/generation.py`` adds them to its own parser)."""
    parser.add_argument("--preset", default="small", help="model size for the speed runs (default: %(default)s)")
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS), help="generated tokens")
    parser.add_argument("--uncached-steps", type=int, default=8, help="steps timed for the uncached loop")
    parser.add_argument(
        "--memory-preset", default="small", help="model size for the memory runs (default: %(default)s)"
    )
    parser.add_argument("--memory-lengths", type=int, nargs="+", default=list(MEMORY_LENGTHS))
    parser.add_argument("--skip-memory", action="store_true", help="leave out the memory-versus-length runs")
    parser.add_argument("--quick", action="store_true", help="256 and 512 tokens, memory up to 1024: a fast look")


def print_table(results):
    print(markdown(results))


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--memory-probe", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_arguments(argv)
    if args.memory_probe is not None:
        print(json.dumps(memory_probe(args.memory_preset, args.memory_probe)))
        return 0
    results = run(args)
    print(markdown(results))
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
