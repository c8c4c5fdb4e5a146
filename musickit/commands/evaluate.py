"""``musickit evaluate GENERATED``: how close generated MIDI is to a reference corpus, and how varied.

Examples::

    musickit evaluate runs/piano_roll_lstm/samples                 # against the Bach chorales
    musickit evaluate samples --reference essen --json > metrics.json
    musickit evaluate samples --report report/                     # then open report/report.html

The reference corpus's metric values are cached (``$MUSICKIT_CACHE_DIR``), so
only the first evaluation against a source parses it.
"""

import json
import os
import sys

from musickit.errors import DataSourceError, MidiReadError, UsageError
from musickit.music.midi_io import read_midi

NAME = "evaluate"
HELP = "Compare generated MIDI files with a reference corpus (MusPy-compatible and Yang & Lerch metrics)."
MIDI_SUFFIXES = (".mid", ".midi")
DEFAULT_MAX_REFERENCE_FILES = 100


def add_arguments(parser):
    parser.add_argument("generated", metavar="GENERATED", help="a MIDI file or a folder of MIDI files")
    parser.add_argument(
        "--reference",
        default="bach",
        metavar="SOURCE",
        help="data source to compare with: bach, essen, ryans, palestrina, a MIDI folder, ... (default: bach)",
    )
    parser.add_argument(
        "--max-reference-files",
        type=int,
        default=DEFAULT_MAX_REFERENCE_FILES,
        metavar="N",
        help=f"read at most N reference pieces (default: {DEFAULT_MAX_REFERENCE_FILES}; 0 reads them all)",
    )
    parser.add_argument("--metrics", metavar="NAMES", help="comma-separated metric names (default: all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--no-cache", action="store_true", help="recompute the reference metrics instead of reading the cache"
    )
    parser.add_argument("--report", metavar="DIR", help="write DIR/report.html with pictures next to it")


def generated_files(path):
    """The MIDI files ``path`` names: itself, or every .mid/.midi below it, sorted."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise DataSourceError(f"{path}: no such file or folder; pass a MIDI file or a folder of them")
    files = sorted(
        os.path.join(folder, name)
        for folder, _, names in os.walk(path)
        for name in names
        if name.lower().endswith(MIDI_SUFFIXES)
    )
    if not files:
        raise DataSourceError(f"{path}: the folder has no .mid or .midi files; point GENERATED at generated samples")
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
            print(f"musickit evaluate: skipped {name}: {error.reason}", file=sys.stderr)
            skipped.append((name, error.reason))
    if not scores:
        raise DataSourceError(f"{path}: none of its {len(files)} MIDI files could be read")
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


def run(args):
    from musickit.metrics.evaluation import compare_sets, json_safe
    from musickit.metrics.reference import reference_features

    if args.max_reference_files is not None and args.max_reference_files < 0:
        raise UsageError("--max-reference-files must be 0 (all) or a positive number")
    names = _metric_names(args.metrics)
    scores, file_names, skipped = read_generated(args.generated)
    # Computed once per source and metric code, then read from the cache.
    reference = reference_features(args.reference, args.max_reference_files or None, names, use_cache=not args.no_cache)
    comparison = compare_sets(scores, reference, names)

    report_path = None
    if args.report:
        from musickit.viz.report import write_report

        report_path = write_report(args.report, comparison, scores, file_names, args.reference, skipped)

    if args.json:
        result = {
            "generated": args.generated,
            "reference": {"source": args.reference, "pieces": len(reference)},
            "skipped": [{"file": name, "reason": reason} for name, reason in skipped],
            "files": {
                name: {
                    **{metric: comparison["generated"]["values"][metric][index] for metric in comparison["metrics"]},
                    "note": comparison["generated"]["notes"][index],
                    "undefined": comparison["generated"]["undefined"][index],
                }
                for index, name in enumerate(file_names)
            },
            "set": {key: value for key, value in comparison.items() if key not in ("generated", "reference")},
            "statistics": {
                "generated": comparison["generated"]["statistics"],
                "reference": comparison["reference"]["statistics"],
            },
        }
        if report_path:
            result["report"] = report_path
        print(json.dumps(json_safe(result)))
    else:
        _print_table(comparison, file_names, len(reference), args.reference)
        if report_path:
            print(f"wrote {report_path}")
    return 0


def _format(value):
    return "-" if value is None or value != value else f"{value:.3f}"


def _print_table(comparison, file_names, reference_count, source):
    print(f"{len(file_names)} generated pieces vs {reference_count} pieces of {source}")
    print()
    header = f"{'metric':34} {'generated':>17} {'reference':>17} {'OA':>6} {'KL':>6}"
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
    profiles = comparison["pitch_class_profiles"]
    diversity = comparison["diversity"]
    collapse = comparison["mode_collapse"]
    print(f"pitch-class profile distance (total variation): {_format(profiles['total_variation_distance'])}")
    print(
        f"feature diversity generated/reference: {_format(diversity['feature_diversity'])}"
        f" / {_format(diversity['reference_feature_diversity'])}"
    )
    print(
        f"{diversity['ngram_order']}-gram diversity generated/reference: {_format(diversity['ngram_diversity'])}"
        f" / {_format(diversity['reference_ngram_diversity'])}"
    )
    print(
        f"near-duplicate generated pairs: {len(collapse['near_duplicate_pairs'])} of {collapse['pairs']}; "
        f"self-similarity {_format(collapse['self_similarity'])}"
        f" (reference {_format(collapse.get('reference_self_similarity'))})"
    )
    for name, note in zip(file_names, comparison["generated"]["notes"]):
        if note:
            print(f"note: {name}: {note}")
