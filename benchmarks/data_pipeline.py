"""Data-pipeline throughput: is training ever waiting for data?

Measured side by side in one run, on the first ``--num-files`` Bach chorales
of music21's corpus:

1. parse: ``load_dataset("bach", PianoRoll())`` on an empty cache (music21
   parsing, piano-roll encoding, the cache write), in files/s; then the same
   call again, now read from the cache;
2. pipeline: the cached training split through :func:`piano_roll_windows`
   (64-step windows with next-frame targets, hop 1, batch 64, transposition
   augmentation on, shuffled, prefetched), consumed as fast as Python can
   iterate it, in windows/s;
3. training: a two-layer 512-unit LSTM (88 in, 88 sigmoid out, Adam, binary
   cross-entropy) trained with ``train_on_batch`` on batches of the same
   windows after a warm-up, on the current ``KERAS_BACKEND``, in windows/s.

``ratio`` = pipeline / training; the target is >= 20 (the pipeline can feed
twenty such models). With MidiTok installed (``pip install miditok``) the run
also times musickit's REMI+ against MidiTok's REMI on the same chorales
(``benchmarks/tokenization.py``) and reports ``remi_vs_miditok_ratio``.

Usage::

    python benchmarks/data_pipeline.py                 # Markdown table
    python benchmarks/data_pipeline.py --json          # ... plus one JSON line at the end
    python benchmarks/data_pipeline.py --num-files 20 --training-steps 3   # quick look
"""

import argparse
import json
import os
import sys
import tempfile
import time


def measure_parse(num_files, representation):
    """``(files/s cold, seconds from cache, dataset)`` with a private, empty cache folder."""
    from musickit.data.dataset import load_dataset

    start = time.perf_counter()
    dataset = load_dataset("bach", representation, seed=0, max_files=num_files)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    cached = load_dataset("bach", representation, seed=0, max_files=num_files)
    warm = time.perf_counter() - start
    assert cached.from_cache and not dataset.from_cache
    parsed = sum(len(cached.split(split)) for split in ("train", "valid", "test")) + len(cached.skipped)
    return parsed / cold, warm, cached


def measure_pipeline(rolls, window_length, batch_size, seconds):
    """Windows/s that :func:`piano_roll_windows` delivers, after one warm-up batch."""
    from musickit.data.pipelines import piano_roll_windows

    dataset = piano_roll_windows(rolls, window_length=window_length, hop=1, batch_size=batch_size, transpose=2)
    iterator = iter(dataset.repeat())
    next(iterator)
    windows, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        inputs, _ = next(iterator)
        windows += int(inputs.shape[0])
    return windows / (time.perf_counter() - start), dataset.cardinality().numpy() * batch_size


def lstm_model(window_length, units=512):
    import keras

    model = keras.Sequential(
        [
            keras.Input((window_length, 88)),
            keras.layers.LSTM(units, return_sequences=True),
            keras.layers.LSTM(units, return_sequences=True),
            keras.layers.Dense(88, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def measure_training(rolls, window_length, batch_size, steps, warmup=2):
    """Windows/s a two-layer 512-unit LSTM consumes with ``train_on_batch``."""
    from musickit.data.pipelines import piano_roll_windows

    dataset = piano_roll_windows(rolls, window_length=window_length, hop=1, batch_size=batch_size, drop_remainder=True)
    batches = [(x.numpy(), y.numpy()) for x, y in dataset.repeat().take(steps + warmup)]
    model = lstm_model(window_length)
    for inputs, targets in batches[:warmup]:  # compile and allocate outside the clock
        model.train_on_batch(inputs, targets)
    start = time.perf_counter()
    for inputs, targets in batches[warmup:]:
        model.train_on_batch(inputs, targets)
    return len(batches[warmup:]) * batch_size / (time.perf_counter() - start)


def measure_tokenization(num_files, repeats):
    """REMI+ vs MidiTok REMI from ``benchmarks/tokenization.py``, or ``{}`` when it is unavailable."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        from tokenization import bach_midi_files, measure_remi_vs_miditok
    except ImportError:
        return {}
    with tempfile.TemporaryDirectory() as folder:
        return measure_remi_vs_miditok(bach_midi_files(num_files, folder), repeats=repeats)


def markdown_table(results):
    rows = [
        ("parse + encode, empty cache (Bach chorales)", f"{results['parse_files_per_s']:.1f} files/s"),
        ("load again from the cache", f"{results['cache_load_s']:.3f} s for {results['files']} files"),
        ("tf.data piano-roll windows (cached, augmented)", f"{results['pipeline_windows_per_s']:,.0f} windows/s"),
        ("2 x 512 LSTM training consumes", f"{results['training_windows_per_s']:,.0f} windows/s"),
        ("**ratio pipeline / training** (target >= 20)", f"**{results['ratio']:.1f}**"),
    ]
    if results.get("remi_vs_miditok_ratio") is not None:
        rows += [
            ("musickit REMI+ encode", f"{results['musickit_remi_encode_files_per_second']:.1f} files/s"),
            ("MidiTok REMI encode", f"{results['miditok_remi_encode_files_per_second']:.1f} files/s"),
            ("**REMI ratio musickit / MidiTok** (target >= 1)", f"**{results['remi_vs_miditok_ratio']:.2f}**"),
        ]
    lines = ["| measurement | value |", "|---|---|"] + [f"| {name} | {value} |" for name, value in rows]
    lines.append(
        f"\nbackend {results['backend']}, {results['files']} chorales, {results['train_pieces']} train "
        f"pieces, window {results['window_length']}, batch {results['batch_size']}"
    )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-files", type=int, default=100, help="Bach chorales to use (default 100)")
    parser.add_argument("--window-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--pipeline-seconds", type=float, default=5.0, help="how long to drain the pipeline")
    parser.add_argument("--training-steps", type=int, default=10, help="timed train_on_batch steps")
    parser.add_argument("--tokenization-repeats", type=int, default=3)
    parser.add_argument("--skip-tokenization", action="store_true", help="leave out REMI vs MidiTok")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)

    # An empty private cache, so the first load really parses.
    os.environ["MUSICKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="musickit-benchmark-cache-")
    import keras

    from musickit.representations.piano_roll import PianoRoll

    parse_rate, cache_seconds, dataset = measure_parse(args.num_files, PianoRoll())
    rolls = list(dataset.train)
    pipeline_rate, windows_per_epoch = measure_pipeline(
        rolls, args.window_length, args.batch_size, args.pipeline_seconds
    )
    training_rate = measure_training(rolls, args.window_length, args.batch_size, args.training_steps)
    results = {
        "backend": keras.backend.backend(),
        "files": args.num_files,
        "train_pieces": len(rolls),
        "windows_per_epoch": int(windows_per_epoch),
        "window_length": args.window_length,
        "batch_size": args.batch_size,
        "parse_files_per_s": round(parse_rate, 2),
        "cache_load_s": round(cache_seconds, 4),
        "pipeline_windows_per_s": round(pipeline_rate, 1),
        "training_windows_per_s": round(training_rate, 1),
        "ratio": round(pipeline_rate / training_rate, 2),
    }
    if not args.skip_tokenization:
        tokenization = measure_tokenization(args.num_files, args.tokenization_repeats)
        results.update({key: value for key, value in tokenization.items() if key not in ("files", "repeats")})
    print(markdown_table(results))
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
