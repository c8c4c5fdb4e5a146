"""``musickit evaluate SAMPLES``: do generated pieces sound like held-out pieces of their corpus?

Examples::

    musickit evaluate runs/piano_roll_lstm/samples        # the run's own data source, its test split
    musickit evaluate samples --reference essen --json > metrics.json
    musickit evaluate samples --report report/            # then open report/report.html

Every feature of :mod:`musickit.metrics.features` is compared with
held-out pieces (the test split of ``--reference``, default ``bach``, as
:func:`musickit.data.load_dataset` splits it; when SAMPLES lies in a run
folder, that run's data source, seed and representation), cut to the
samples' length, beside a random-notes floor and a per-key Markov floor
drawn in the same run and a ceiling of training pieces
(:func:`musickit.metrics.compare_to_corpus`). A primer that the samples
start with (the run's ``primer.mid``) is left out. The first evaluation
against a source parses it; the parsed pieces are cached
(``$MUSICKIT_CACHE_DIR``).

With ``--json`` stdout holds exactly one JSON object (null for undefined
values); progress and warnings go to stderr.
"""

import json
import math
import os
import sys

from musickit.data.sources.dispatch import open_source
from musickit.errors import DataSourceError, MidiReadError, UsageError
from musickit.music.midi_io import read_midi
from musickit.runs.flags import MAX_SEED

NAME = "evaluate"
HELP = "Compare generated MIDI files with held-out pieces of a corpus, beside random and Markov floors and a ceiling."
MIDI_SUFFIXES = (".mid", ".midi")
SPLITS = ("test", "valid")


def add_arguments(parser):
    parser.add_argument("generated", metavar="SAMPLES", help="a MIDI file or a folder of MIDI files")
    parser.add_argument(
        "--reference",
        default=None,
        metavar="SOURCE",
        help="data source whose held-out pieces are the reference: bach, essen, ryans, palestrina, a MIDI folder, "
        "... (default: the run's data source when SAMPLES is in a run folder, else bach)",
    )
    parser.add_argument(
        "--split", default="test", choices=SPLITS, help="which held-out split is the reference (default: %(default)s)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="split seed of the reference (default: the run's --seed, else 0); seeds the floors too",
    )
    parser.add_argument(
        "--primer-quarters",
        type=float,
        default=None,
        metavar="Q",
        help="leave out the first Q quarters of every sample (default: the run's primer when the samples start "
        "with it, else 0)",
    )
    parser.add_argument(
        "--max-reference-files",
        type=int,
        default=0,
        metavar="N",
        help="read at most N pieces of the reference source (default: 0, all of them, or the run's --max-files; "
        "the first evaluation against a source parses it, the Bach chorales in about 3 minutes)",
    )
    parser.add_argument(
        "--metrics", metavar="NAMES", help="comma-separated MusPy-compatible metrics per file (default: all)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--no-cache", action="store_true", help="parse the reference again instead of the cache")
    parser.add_argument("--report", metavar="DIR", help="write DIR/report.html with pictures next to it")


def _warn(message):
    print(f"musickit evaluate: {message}", file=sys.stderr)


def generated_files(path):
    """The MIDI files ``path`` names: itself, or every .mid/.midi below it, sorted (temporary files left out)."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise DataSourceError(f"{path}: no such file or folder; pass a MIDI file or a folder of them")
    files = sorted(
        os.path.join(folder, name)
        for folder, _, names in os.walk(path)
        for name in names
        if name.lower().endswith(MIDI_SUFFIXES) and ".partial" not in name
    )
    if not files:
        raise DataSourceError(f"{path}: the folder has no .mid or .midi files; point SAMPLES at generated samples")
    return files


def read_generated(path):
    """``(scores, names, skipped)``; unreadable files are skipped with one line each on stderr."""
    files = generated_files(path)
    root = path if os.path.isdir(path) else os.path.dirname(path)
    scores, names, skipped = [], [], []
    for file in files:
        name = os.path.relpath(file, root) if root else file
        try:
            scores.append(read_midi(file))
            names.append(name)
        except MidiReadError as error:
            skipped.append((name, error.reason))
    if not scores:  # one line that says why, not a warning per file above it
        first, reason = skipped[0]
        raise DataSourceError(f"{path}: none of its {len(files)} MIDI files could be read ({first}: {reason})")
    for name, reason in skipped:
        _warn(f"skipped {name}: {reason}")
    return scores, names, skipped


def _metric_names(text):
    from musickit.metrics.evaluation import METRIC_NAMES

    if not text:
        return list(METRIC_NAMES)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in METRIC_NAMES]
    if unknown:
        raise UsageError(f"unknown metric {', '.join(unknown)}; choose from {', '.join(METRIC_NAMES)}")
    return names


def find_run_folder(path):
    """The run folder (holding ``run.json``) that ``path`` lies in: itself, its folder or the one above; or None."""
    folder = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
    for candidate in (folder, os.path.dirname(folder), os.path.dirname(os.path.dirname(folder))):
        if os.path.isfile(os.path.join(candidate, "run.json")):
            return candidate
    return None


def _read_run(folder):
    """``(info, representation, primer score or None)`` of a run folder; unreadable parts are None with a warning."""
    try:
        with open(os.path.join(folder, "run.json"), encoding="utf-8") as handle:
            info = json.load(handle)
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as error:
        raise UsageError(f"{folder}/run.json cannot be read ({error}); pass --reference SOURCE instead") from None
    representation = None
    if os.path.isfile(os.path.join(folder, "representation.json")):
        try:
            from musickit.representations.loading import load_representation

            representation = load_representation(os.path.join(folder, "representation.json"))
        except Exception as error:  # noqa: BLE001 - the comparison still runs, without the round trip
            _warn(f"could not load the run's representation ({error}); reference pieces are not re-quantised")
    primer = None
    if os.path.isfile(os.path.join(folder, "primer.mid")):
        try:
            primer = read_midi(os.path.join(folder, "primer.mid"))
        except MidiReadError as error:
            _warn(f"could not read the run's primer.mid ({error.reason})")
    return info, representation, primer


def detect_primer_quarters(scores, primer):
    """Quarters of ``primer`` (rounded up to whole bars) when most ``scores`` start with its notes, else 0."""
    from musickit.metrics.corpus import cut_quarters, length_quarters
    from musickit.metrics.features import bar_length_quarters

    if primer is None or not primer.pitched_notes:
        return 0.0
    bar = bar_length_quarters(primer)
    length = math.ceil(length_quarters(primer) / bar - 1e-6) * bar

    def signature(score):
        return sorted((n.pitch, round(n.start * 8)) for n in cut_quarters(score, 0.0, length).notes)

    expected = signature(primer)
    matches = sum(signature(score) == expected for score in scores)
    return float(length) if matches * 2 > len(scores) else 0.0


def _reference(args, run_info):
    from musickit.metrics.reference import reference_splits

    source = args.reference or (run_info or {}).get("data") or "bach"
    seed = args.seed if args.seed is not None else int((run_info or {}).get("seed") or 0)
    if args.max_reference_files is not None and args.max_reference_files < 0:
        raise UsageError("--max-reference-files must be 0 (all) or a positive number")
    max_files = args.max_reference_files or (run_info or {}).get("max_files") or None
    splits = reference_splits(source, seed=seed, max_files=max_files, use_cache=not args.no_cache, show_progress=None)
    held_out, training, used = splits[args.split], splits["train"], args.split
    if len(held_out) < 2:
        pieces = splits["train"] + splits["valid"] + splits["test"]
        if len(pieces) < 2:
            raise DataSourceError(f"{source}: {len(pieces)} readable piece(s); a reference needs at least two")
        _warn(
            f"{source} has only {len(held_out)} piece(s) in its {args.split} split; comparing with all "
            f"{len(pieces)} pieces (no held-out guarantee, no ceiling)"
        )
        held_out, training, used = pieces, [], "all"
    return source, seed, held_out, training, used


def run(args):
    from musickit.metrics.corpus import compare_to_corpus
    from musickit.metrics.evaluation import compare_sets, json_safe

    if args.max_reference_files is not None and args.max_reference_files < 0:
        raise UsageError("--max-reference-files must be 0 (all) or a positive number")
    if args.reference is not None:
        open_source(args.reference)  # an unknown name or a missing path, before any file is read
    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed {args.seed}: use a whole number from 0 to {MAX_SEED}")
    if args.primer_quarters is not None and (not math.isfinite(args.primer_quarters) or args.primer_quarters < 0):
        raise UsageError("--primer-quarters must be 0 or a positive number of quarters")
    names = _metric_names(args.metrics)
    scores, file_names, skipped = read_generated(args.generated)
    run_folder = find_run_folder(args.generated)
    run_info, representation, primer = _read_run(run_folder) if run_folder else (None, None, None)
    source, seed, held_out, training, split = _reference(args, run_info)
    if args.primer_quarters is not None:
        primer_quarters = args.primer_quarters
    elif run_info and run_info.get("primer_quarters") is not None:
        primer_quarters = float(run_info["primer_quarters"])
    else:
        primer_quarters = detect_primer_quarters(scores, primer)
    try:
        comparison = compare_to_corpus(
            scores, held_out, training, seed=seed, primer_quarters=primer_quarters, representation=representation
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    for note in comparison["notes"]:
        _warn(note)
    # The MusPy-compatible metrics, per file and as a set, on the same pieces: the
    # continuations against the cut held-out pieces.
    generated_pieces = comparison["_pieces"]["generated"]
    muspy = compare_sets(generated_pieces, comparison["_pieces"]["held_out"], names)

    report_path = None
    if args.report:
        from musickit.viz.report import write_report

        report_path = write_report(
            args.report,
            muspy,
            generated_pieces,
            file_names,
            f"{source} ({split} split)",
            skipped,
            corpus_comparison=comparison,
        )

    reference = {
        "source": source,
        "split": split,
        "seed": seed,
        "pieces": len(held_out),
        "training_pieces": len(training),
        "run": run_folder,
    }
    if args.json:
        features = comparison["_values"]["generated"]
        result = {
            "generated": args.generated,
            "reference": reference,
            "skipped": [{"file": name, "reason": reason} for name, reason in skipped],
            "files": {
                name: {
                    **{metric: muspy["generated"]["values"][metric][index] for metric in muspy["metrics"]},
                    **{feature: features[feature][index] for feature in comparison["features"]},
                    "note": muspy["generated"]["notes"][index],
                    "undefined": muspy["generated"]["undefined"][index],
                }
                for index, name in enumerate(file_names)
            },
            "comparison": comparison,
            "set": {key: value for key, value in muspy.items() if key not in ("generated", "reference")},
            "statistics": {
                "generated": muspy["generated"]["statistics"],
                "reference": muspy["reference"]["statistics"],
            },
        }
        if report_path:
            result["report"] = report_path
        print(json.dumps(json_safe(result), allow_nan=False))
    else:
        print_comparison(comparison, len(file_names), reference)
        print()
        _print_table(muspy, file_names)
        if report_path:
            print(f"wrote {report_path}")
    return 0


def _format(value, digits=3):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def comparison_rows(comparison):
    """Rows of the comparison table: feature, a value per set (overlap in brackets), the generated overlap, verdict."""
    from musickit.metrics.corpus import display_value

    rows = []
    for name in comparison["features"]:
        cells = [name]
        for label in ("generated", "held_out", "random_notes", "markov", "ceiling"):
            value = display_value(name, comparison["sets"][label]["summary"][name])
            overlap = comparison["overlap"][name].get(label)
            cells.append(_format(value) + ("" if label == "held_out" else f" ({_format(overlap, 2)})"))
        cells.append(_format(comparison["overlap"][name]["generated"], 2))
        flag = "" if comparison["separates"][name] is not False else " *"
        cells.append(comparison["verdict"][name] + flag)
        rows.append(cells)
    mean = comparison["mean_overlap"]
    rows.append(
        [
            "mean overlap",
            _format(mean["generated"], 2),
            "",
            _format(mean["random_notes"], 2),
            _format(mean["markov"], 2),
            _format(mean["ceiling"], 2),
            _format(mean["generated"], 2),
            "",
        ]
    )
    return rows


COMPARISON_HEADER = (
    "feature",
    "generated",
    "held-out",
    "random floor",
    "Markov floor",
    "ceiling",
    "overlap",
    "verdict",
)


def markdown_table(comparison):
    """The comparison as a Markdown table (what ``benchmarks/music_quality.py`` prints)."""
    lines = ["| " + " | ".join(COMPARISON_HEADER) + " |", "|" + "---|" * len(COMPARISON_HEADER)]
    lines += ["| " + " | ".join(cells) + " |" for cells in comparison_rows(comparison)]
    return "\n".join(lines)


def print_comparison(comparison, generated_count, reference):
    print(
        f"{generated_count} generated pieces ({_format(comparison['length_quarters'], 2)} quarters after a "
        f"{_format(comparison['primer_quarters'], 2)}-quarter primer) vs {reference['pieces']} held-out pieces of "
        f"{reference['source']} ({reference['split']} split, seed {reference['seed']}), cut to the same length"
    )
    print(
        "cells: mean value (overlap area with held-out, Yang & Lerch; 1 = indistinguishable); ceiling = training pieces"
    )
    print()
    rows = [list(COMPARISON_HEADER)] + comparison_rows(comparison)
    widths = [max(len(row[column]) for row in rows) for column in range(len(COMPARISON_HEADER) - 1)]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
        if index == 0:
            print("-" * (sum(widths) + 2 * len(widths) + 7))
    if comparison["left_out_of_mean"]:
        print(
            f"* left out of the mean overlap (a floor scores within {0.1} of the ceiling): "
            f"{', '.join(comparison['left_out_of_mean'])}"
        )


def _print_table(comparison, file_names):
    print("MusPy-compatible metrics, continuations vs the same cut held-out pieces")
    header = f"{'metric':34} {'generated':>17} {'held-out':>17} {'OA':>6} {'KL':>6}"
    print(header)
    print("-" * len(header))
    for name in comparison["metrics"] + ["pitch_class_profile"]:
        generated = comparison["generated"]["statistics"].get(name)
        reference = comparison["reference"]["statistics"].get(name)
        distribution = comparison["yang_lerch"].get(name, {})

        def cell(statistics):
            if not statistics or not statistics["count"]:
                return "-"
            return f"{_format(statistics['mean'])} ± {_format(statistics['std'])}"

        print(
            f"{name:34} {cell(generated):>17} {cell(reference):>17} "
            f"{_format(distribution.get('overlap_area')):>6} {_format(distribution.get('kl_divergence')):>6}"
        )
    print()
    diversity = comparison["diversity"]
    collapse = comparison["mode_collapse"]
    print(
        f"{diversity['ngram_order']}-gram diversity generated/held-out: {_format(diversity['ngram_diversity'])}"
        f" / {_format(diversity['reference_ngram_diversity'])}"
    )
    print(
        f"near-duplicate generated pairs: {len(collapse['near_duplicate_pairs'])} of {collapse['pairs']}; "
        f"self-similarity {_format(collapse['self_similarity'])}"
        f" (held-out {_format(collapse.get('reference_self_similarity'))})"
    )
    for name, note in zip(file_names, comparison["generated"]["notes"]):
        if note:
            print(f"note: {name}: {note}")
