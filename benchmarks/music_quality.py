"""Music quality of one run's samples: features against held-out pieces, beside floors and a ceiling.

For every feature of ``musickit.metrics.features`` (semitone clashes,
off-beat onsets, voice counts, polyphony, duplicates, silence, empty bars,
inter-onset and note-length histograms, in-scale ratio, key drift, form
contrast) the table shows each set's mean and, in brackets, its overlap
area with the held-out pieces (Yang & Lerch 2018): the generated samples,
held-out real pieces (the run's test split), a random-notes floor and a
per-key Markov floor drawn from the corpus in the same run, and the
ceiling (training pieces cut the same way). See
``musickit.metrics.compare_to_corpus``.

``--baseline`` evaluates a known set instead of a run, to check that the
evaluator itself tells noise from music: ``random`` (random notes from the
corpus' pitch distribution), ``markov`` (the per-key Markov chain) or
``held-out`` (real chorales of the valid split, never in the reference),
each cut to ``--bars`` bars, drawn with a seed other than the evaluator's.

Usage::

    python benchmarks/music_quality.py --run runs/piano_roll_lstm
    python benchmarks/music_quality.py --samples my_samples/ --reference essen --json
    python benchmarks/music_quality.py --baseline random      # 16 random-note pieces vs Bach

The first run against a source parses it (about 3 minutes for the Bach
chorales on 2 cores); afterwards the parsed pieces come from the cache and
16 pieces evaluate in seconds.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BASELINES = ("random", "markov", "held-out")
BASELINE_SEED = 1234  # not the evaluator's seed: the floors it draws are other pieces


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", help="a run folder (its samples/ are evaluated against its own data and test split)")
    what.add_argument("--samples", help="a MIDI file or folder of generated samples")
    what.add_argument("--baseline", choices=BASELINES, help="evaluate a known set instead (see above)")
    parser.add_argument("--reference", default=None, help="data source (default: the run's, else bach)")
    parser.add_argument("--pieces", type=int, default=16, help="pieces in a --baseline set (default: %(default)s)")
    parser.add_argument("--bars", type=int, default=8, help="bars of a --baseline piece (default: %(default)s)")
    parser.add_argument("--max-reference-files", type=int, default=0, help="0 reads the whole source (default)")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args(argv)
    if args.pieces < 1 or args.bars < 1 or args.max_reference_files < 0:
        parser.error("--pieces and --bars must be at least 1, --max-reference-files at least 0")
    return args


def baseline_pieces(kind, source, count, bars, max_files=None):
    """``count`` pieces of ``kind`` (random, markov, held-out), each ``bars`` 4/4 bars long."""
    import numpy as np

    from musickit.metrics.corpus import MarkovNotes, RandomNotes, cut_quarters
    from musickit.metrics.reference import reference_splits

    splits = reference_splits(source, seed=0, max_files=max_files)
    length = 4.0 * bars
    rng = np.random.default_rng(BASELINE_SEED)
    if kind == "held-out":
        chosen = splits["valid"] or splits["test"]
        return [cut_quarters(chosen[index % len(chosen)], 0.0, length) for index in range(count)]
    training = splits["train"] or splits["valid"] + splits["test"]
    floor = RandomNotes(training) if kind == "random" else MarkovNotes(training)
    return [floor.sample(length, rng) for _ in range(count)]


def main(argv=None):
    args = parse_arguments(argv)
    import tempfile

    from musickit.cli import main as musickit_main
    from musickit.commands.evaluate import markdown_table
    from musickit.errors import MusickitError
    from musickit.metrics.evaluation import json_safe
    from musickit.music.midi_io import write_midi

    started = time.perf_counter()
    temporary = None
    if args.baseline:
        temporary = tempfile.TemporaryDirectory()
        source = args.reference or "bach"
        try:
            pieces = baseline_pieces(args.baseline, source, args.pieces, args.bars, args.max_reference_files or None)
        except MusickitError as error:
            print(f"music_quality.py: error: {error}", file=sys.stderr)
            return 2
        for index, piece in enumerate(pieces):
            write_midi(piece, os.path.join(temporary.name, f"{args.baseline}_{index:02d}.mid"))
        samples = temporary.name
    elif args.run:
        samples = os.path.join(args.run, "samples")
        if not os.path.isdir(samples):
            print(f"music_quality.py: error: {args.run} has no samples/ folder; pass a finished run", file=sys.stderr)
            return 2
    else:
        samples = args.samples
    # The evaluation itself is `musickit evaluate --json`, captured.
    import contextlib
    import io

    arguments = ["evaluate", samples, "--json"]
    if args.reference:
        arguments += ["--reference", args.reference]
    if args.max_reference_files:
        arguments += ["--max-reference-files", str(args.max_reference_files)]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = musickit_main(arguments)
    if temporary:
        temporary.cleanup()
    if status != 0:
        return status
    result = json.loads(output.getvalue())
    comparison = result["comparison"]
    seconds = time.perf_counter() - started
    label = args.run or args.samples or f"{args.pieces} {args.baseline} pieces of {args.bars} bars"
    print(f"## Music quality: {label}")
    print()
    reference = result["reference"]
    print(
        f"{len(result['files'])} pieces ({comparison['length_quarters']:g} quarters after a "
        f"{comparison['primer_quarters']:g}-quarter primer) vs {reference['pieces']} held-out pieces of "
        f"{reference['source']} ({reference['split']} split); ceiling: {reference['training_pieces']} training "
        f"pieces; {seconds:.1f} s"
    )
    print()
    print(markdown_table(comparison))
    if comparison["left_out_of_mean"]:
        print()
        left_out = ", ".join(comparison["left_out_of_mean"])
        print(f"\\* left out of the mean (a floor scores like real pieces): {left_out}")
    if args.json:
        print(
            json.dumps(
                json_safe(
                    {
                        "samples": label,
                        "reference": reference,
                        "seconds": seconds,
                        "mean_overlap": comparison["mean_overlap"],
                        "comparison": comparison,
                    }
                ),
                allow_nan=False,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
