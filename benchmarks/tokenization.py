"""Tokenization throughput: musickit's REMI+ and performance events side by side with MidiTok's REMI.

The first ``--num-files`` Bach chorales of music21's corpus are written as
MIDI files to a temporary folder, then each tokenizer turns them into ids
``--repeats`` times (the passes alternate, so machine noise hits both alike;
the best pass counts). Two figures per tokenizer:

* encode: ids from a score already in memory (musickit: a parsed
  :class:`Score`; MidiTok: a loaded ``symusic.Score``): the tokenizer alone;
* file: ids from the MIDI path, parsing included (musickit parses with
  pretty_midi, MidiTok with symusic, a C++ parser).

Ratios are musickit / MidiTok in files per second, measured in the same run.
Token counts differ (MidiTok writes a Program token before every note,
musickit only when the program changes within a position), so files/s is the
like-for-like figure and tokens/s is shown for scale.

Usage::

    python benchmarks/tokenization.py                # 100 chorales, Markdown table
    python benchmarks/tokenization.py --num-files 20 --json

Other benchmarks can call :func:`measure_remi_vs_miditok` on their own files.
"""

import argparse
import json
import os
import sys
import tempfile
import time

from musickit.music import from_music21, read_midi, write_midi
from musickit.representations import PerformanceTokenizer, REMITokenizer


def bach_midi_files(num_files, folder):
    """Write the first ``num_files`` Bach chorales of music21's corpus to ``folder``; return the paths."""
    from music21 import corpus

    paths = []
    for source in sorted(corpus.getComposer("bach"))[:num_files]:
        path = os.path.join(folder, source.stem + ".mid")
        write_midi(from_music21(corpus.parse(source)), path)
        paths.append(path)
    return paths


def _miditok_remi():
    """MidiTok's REMI set up like musickit's default (16th-note grid, programs, tempos, metre), or None."""
    try:
        import miditok
    except ImportError:
        return None
    config = miditok.TokenizerConfig(
        pitch_range=(21, 109),
        beat_res={(0, 16): 4},
        num_velocities=32,
        use_tempos=True,
        use_time_signatures=True,
        use_programs=True,
    )
    return miditok.REMI(config)


def _best_rate(passes):
    """(files/s, tokens/s) of the fastest pass, from ``[(seconds, files, tokens)]``."""
    seconds, files, tokens = min(passes)
    return files / seconds, tokens / seconds


def _timed(function, items):
    start = time.perf_counter()
    tokens = sum(function(item) for item in items)
    return time.perf_counter() - start, len(items), tokens


def measure_remi_vs_miditok(midi_paths, repeats=3):
    """Files/s and tokens/s of musickit's tokenizers and MidiTok's REMI on ``midi_paths``.

    Returns a dictionary with ``<name>_files_per_second`` and
    ``<name>_tokens_per_second`` for each measured tokenizer, plus
    ``remi_vs_miditok_ratio`` (encode only, files/s) and
    ``remi_vs_miditok_file_ratio`` (parsing included); both ratios are
    ``None`` when MidiTok is not installed.

    Example:

    >>> results = measure_remi_vs_miditok(["a.mid", "b.mid"])  # doctest: +SKIP
    >>> results["remi_vs_miditok_ratio"]  # doctest: +SKIP
    3.1
    """
    midi_paths = [os.fspath(path) for path in midi_paths]
    remi, performance = REMITokenizer(), PerformanceTokenizer()
    scores = [read_midi(path) for path in midi_paths]
    cases = {
        "musickit_remi_encode": (lambda score: len(remi.encode(score)), scores),
        "musickit_performance_encode": (lambda score: len(performance.encode(score)), scores),
        "musickit_remi_file": (lambda path: len(remi.encode(read_midi(path))), midi_paths),
    }
    miditok_remi = _miditok_remi()
    if miditok_remi is not None:
        import symusic

        loaded = [symusic.Score(path) for path in midi_paths]
        cases["miditok_remi_encode"] = (lambda score: len(miditok_remi.encode(score).ids), loaded)
        cases["miditok_remi_file"] = (lambda path: len(miditok_remi.encode(path).ids), midi_paths)

    passes = {name: [] for name in cases}
    for function, items in cases.values():  # a warm-up pass each (imports, caches)
        _timed(function, items[:2])
    for _ in range(repeats):
        for name, (function, items) in cases.items():
            passes[name].append(_timed(function, items))

    results = {"files": len(midi_paths), "repeats": repeats, "miditok_installed": miditok_remi is not None}
    for name, measured in passes.items():
        files_per_second, tokens_per_second = _best_rate(measured)
        results[f"{name}_files_per_second"] = round(files_per_second, 2)
        results[f"{name}_tokens_per_second"] = round(tokens_per_second)
    for key, suffix in (("remi_vs_miditok_ratio", "encode"), ("remi_vs_miditok_file_ratio", "file")):
        ours, theirs = f"musickit_remi_{suffix}_files_per_second", f"miditok_remi_{suffix}_files_per_second"
        results[key] = round(results[ours] / results[theirs], 2) if theirs in results else None
    return results


def markdown_table(results):
    rows = [
        ("musickit REMI+", "encode (score in memory)", "musickit_remi_encode"),
        ("MidiTok REMI", "encode (score in memory)", "miditok_remi_encode"),
        ("musickit performance events", "encode (score in memory)", "musickit_performance_encode"),
        ("musickit REMI+", "file (pretty_midi parse + encode)", "musickit_remi_file"),
        ("MidiTok REMI", "file (symusic parse + encode)", "miditok_remi_file"),
    ]
    lines = ["| tokenizer | what is timed | files/s | tokens/s |", "|---|---|---:|---:|"]
    for label, what, name in rows:
        if f"{name}_files_per_second" in results:
            files, tokens = results[f"{name}_files_per_second"], results[f"{name}_tokens_per_second"]
            lines.append(f"| {label} | {what} | {files:.1f} | {tokens:,} |")
    for key, label in (("remi_vs_miditok_ratio", "encode"), ("remi_vs_miditok_file_ratio", "file")):
        value = results[key]
        lines.append(f"| **musickit / MidiTok REMI** | {label} | **{value:.2f}x** | |" if value else "")
    if not results["miditok_installed"]:
        lines.append("\nMidiTok is not installed (`pip install miditok`), so there is no ratio.")
    return "\n".join(line for line in lines if line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-files", type=int, default=100, help="how many Bach chorales to tokenize")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per tokenizer; the best one counts")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object on the last line")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        paths = bach_midi_files(args.num_files, folder)
        results = measure_remi_vs_miditok(paths, repeats=args.repeats)
    print(f"Tokenization throughput on {results['files']} Bach chorales (best of {results['repeats']} passes)\n")
    print(markdown_table(results))
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
