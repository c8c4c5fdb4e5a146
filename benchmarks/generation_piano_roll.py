"""Piano-roll generation speed: stateful stepping vs re-running a window for every frame.

Stateful stepping (musickit's PianoRollSampler) carries the LSTM state, so a
new frame costs one LSTM step. The naive way re-runs the model over the last
``window`` frames for every new frame. Both are compiled the same way and
sample the same frame distribution; the ratio of their frames/s is reported.

    python benchmarks/generation_piano_roll.py --json
"""

import argparse
import json
import time

import numpy as np
from keras import ops

from musickit.generation.piano_roll_sampling import PianoRollSampler, compile_loop, sample_independent_frame
from musickit.models import PianoRollLSTM


def add_arguments(parser):
    parser.add_argument("--frames", type=int, default=512, help="frames generated per run")
    parser.add_argument("--window", type=int, default=64, help="context window of the naive generator")
    parser.add_argument("--lstm-units", type=int, default=512)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each; the best is kept")


def _windowed_generate(model, primer, frames, window, seed):
    """The naive generator: for every frame, run the model over the last ``window`` frames."""

    def next_logits(context_frames):
        return model(context_frames, training=False)[:, -1]

    compiled = compile_loop(next_logits)
    random = np.random.default_rng(seed)
    roll = list(primer)
    for _ in range(frames):
        context = np.asarray(roll[-window:], "float32")[None]
        logits = compiled(ops.convert_to_tensor(context))
        noise = random.random((1, model.num_pitches), dtype=np.float32)
        roll.append(ops.convert_to_numpy(sample_independent_frame(logits, noise))[0])
    return np.asarray(roll)


def _best_time(function, repeats):
    function()  # compile / warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def run(args):
    # Dropout plays no part in generation; without it the model call traces cleanly under jax.jit.
    model = PianoRollLSTM(
        lstm_units=args.lstm_units, num_layers=args.num_layers, head="independent", dropout=0.0, recurrent_dropout=0.0
    )
    model(np.zeros((1, args.window, 88), "float32"))
    primer = (np.random.default_rng(0).random((args.window, 88)) < 0.05).astype("float32")
    sampler = PianoRollSampler(model)
    stateful = _best_time(lambda: sampler.generate(primer, args.frames, seed=0), args.repeats)
    windowed = _best_time(lambda: _windowed_generate(model, primer, args.frames, args.window, 0), args.repeats)
    return {
        "frames": args.frames,
        "window": args.window,
        "model": f"{args.num_layers} x {args.lstm_units} LSTM",
        "stateful_frames_per_s": round(args.frames / stateful, 1),
        "window_frames_per_s": round(args.frames / windowed, 1),
        "stateful_vs_window_ratio": round(windowed / stateful, 2),
    }


def print_table(result):
    print(f"\nPiano-roll generation, {result['frames']} frames, {result['model']}\n")
    print("| generator | frames/s |\n|---|---|")
    print(f"| stateful stepping (musickit) | {result['stateful_frames_per_s']} |")
    print(f"| re-run a {result['window']}-frame window per frame | {result['window_frames_per_s']} |")
    print(f"| **ratio** | **{result['stateful_vs_window_ratio']}x** |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args)
    print_table(result)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
