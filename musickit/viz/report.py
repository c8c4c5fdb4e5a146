"""The evaluation report: one self-contained HTML page with PNG pictures next to it.

:func:`write_report` takes what :func:`musickit.metrics.compare_sets`
returns and writes ``report.html`` plus its images into a folder:

* with ``corpus_comparison`` (:func:`musickit.metrics.compare_to_corpus`),
  first a table of every feature for the generated pieces, held-out
  pieces, the random-notes and Markov floors and the ceiling, with overlap
  areas and a verdict, and one picture per feature showing the sets side
  by side;
* a summary (set-level distances, diversity, mode-collapse indicators);
* a table per metric: generated and reference mean and spread, and the
  Yang & Lerch overlap area and KL divergence;
* a histogram per metric with generated and reference overlaid;
* the two pitch-class profiles;
* the Yang & Lerch distance-distribution curves;
* piano rolls of a few generated pieces;
* a table per generated file, with the notes on undefined values.

Example:

>>> comparison = compare_sets(generated_scores, reference_scores)  # doctest: +SKIP
>>> write_report("report", comparison, generated_scores, names, reference_source="bach")  # doctest: +SKIP
'report/report.html'
"""

import html
import math
import os
import re

from musickit.utils.atomic import atomic_path
from musickit.viz.metric_plots import (
    plot_distance_distributions,
    plot_feature_histogram,
    plot_feature_sets,
    plot_pitch_class_profiles,
    plot_score_piano_roll,
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.2em; } .subtitle { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f3f3f3; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 0.5em; }
.grid img, img.wide { max-width: 100%; }
.notes { color: #8a5a00; font-size: 0.85em; }
.scroll { overflow-x: auto; }
"""


def _number(value, digits=3):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "&ndash;"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1:
        return f"{value:g}"
    return f"{value:.{digits}f}"


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "piece"


def _table(header, rows):
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(
    directory,
    comparison,
    generated_scores,
    generated_names,
    reference_source="reference",
    skipped=(),
    max_piano_rolls=4,
    corpus_comparison=None,
):
    """Write ``report.html`` and its PNG files into ``directory``; return the HTML path."""
    os.makedirs(directory, exist_ok=True)
    corpus_parts = _corpus_section(directory, corpus_comparison) if corpus_comparison else []
    names = comparison["metrics"]
    generated = comparison["generated"]
    reference = comparison["reference"]
    yang_lerch = comparison["yang_lerch"]

    histogram_files = []
    for name in names:
        filename = f"histogram_{name}.png"
        plot_feature_histogram(
            name, generated["values"][name], reference["values"][name], os.path.join(directory, filename)
        )
        histogram_files.append(filename)
    profiles = comparison["pitch_class_profiles"]
    plot_pitch_class_profiles(
        profiles["generated"],
        profiles["reference"],
        os.path.join(directory, "pitch_class_profiles.png"),
        profiles["total_variation_distance"],
    )
    distributions = comparison.get("_distributions")
    if distributions:
        plot_distance_distributions(distributions, os.path.join(directory, "distance_distributions.png"))
    roll_files = []
    with_pitches = [(score, name) for score, name in zip(generated_scores, generated_names) if score.pitched_notes]
    for score, name in with_pitches[:max_piano_rolls]:
        filename = f"piano_roll_{_slug(name)}.png"
        plot_score_piano_roll(score, os.path.join(directory, filename), title=name)
        roll_files.append((name, filename))

    summary_rows = [
        ("generated pieces", len(generated_names)),
        (f"reference pieces ({html.escape(str(reference_source))})", len(reference["notes"])),
        ("pitch-class profile distance (total variation)", _number(profiles["total_variation_distance"])),
        ("feature diversity: generated / reference", _pair(comparison["diversity"], "feature_diversity")),
        (
            f"{comparison['diversity']['ngram_order']}-gram diversity: generated / reference",
            _pair(comparison["diversity"], "ngram_diversity"),
        ),
        (
            "self-similarity: generated / reference",
            f"{_number(comparison['mode_collapse']['self_similarity'])} / "
            f"{_number(comparison['mode_collapse'].get('reference_self_similarity'))}",
        ),
        ("near-duplicate generated pairs", len(comparison["mode_collapse"]["near_duplicate_pairs"])),
    ]
    metric_rows = []
    for name in names + ["pitch_class_profile"]:
        statistics = (generated["statistics"].get(name), reference["statistics"].get(name))
        distribution = yang_lerch.get(name, {})
        metric_rows.append(
            [
                html.escape(name),
                _mean_std(statistics[0]),
                _mean_std(statistics[1]),
                _number(distribution.get("overlap_area")),
                _number(distribution.get("kl_divergence")),
            ]
        )
    file_rows = []
    for index, name in enumerate(generated_names):
        cells = [html.escape(str(name))] + [_number(generated["values"][metric][index]) for metric in names]
        file_rows.append(cells)
    notes = [
        f"<li>{html.escape(str(name))}: {html.escape(note)}</li>"
        for name, note in zip(generated_names, generated["notes"])
        if note
    ] + [f"<li>skipped {html.escape(str(name))}: {html.escape(str(reason))}</li>" for name, reason in skipped]

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>musickit evaluation</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>musickit evaluation</h1>",
        f"<p class='subtitle'>{len(generated_names)} generated pieces against "
        f"{len(reference['notes'])} pieces of {html.escape(str(reference_source))}</p>",
        *corpus_parts,
        "<h2>Summary</h2>",
        _table(("", "value"), summary_rows),
        "<h2>Metrics</h2>",
        "<p>Mean &plusmn; standard deviation per piece; overlap area (OA, higher is closer) and KL divergence "
        "(nats, lower is closer) compare the intra-reference and inter-set distance distributions "
        "(Yang &amp; Lerch 2018).</p>",
        _table(("metric", "generated", "reference", "OA", "KL"), metric_rows),
        "<h2>Pitch-class profiles</h2>",
        "<img class='wide' src='pitch_class_profiles.png' alt='pitch-class profiles'>",
        "<h2>Feature histograms</h2><div class='grid'>",
        *[f"<img src='{filename}' alt='{html.escape(filename)}'>" for filename in histogram_files],
        "</div>",
    ]
    if distributions:
        parts += [
            "<h2>Distance distributions</h2>",
            "<img class='wide' src='distance_distributions.png' alt='distance distributions'>",
        ]
    parts += ["<h2>Generated pieces</h2>"]
    parts += [
        f"<h3>{html.escape(str(name))}</h3><img class='wide' src='{filename}' alt='piano roll'>"
        for name, filename in roll_files
    ]
    parts += ["<h2>Per file</h2><div class='scroll'>", _table(["file"] + names, file_rows), "</div>"]
    if notes:
        parts += ["<h2>Notes</h2><ul class='notes'>", *notes, "</ul>"]
    parts += ["</body></html>"]
    path = os.path.join(directory, "report.html")
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write("\n".join(parts))
    return path


def _pair(values, key):
    return f"{_number(values.get(key))} / {_number(values.get('reference_' + key))}"


def _mean_std(statistics):
    if not statistics or not statistics.get("count"):
        return "&ndash;"
    return f"{_number(statistics['mean'])} &plusmn; {_number(statistics['std'])}"


def _corpus_section(directory, comparison):
    """HTML parts for :func:`musickit.metrics.compare_to_corpus`' result, writing one picture per feature."""
    from musickit.metrics.corpus import display_value
    from musickit.metrics.features import DURATION_BINS, METRICAL_LEVELS

    bins = {
        "onset_metrical_levels": METRICAL_LEVELS,
        "voice_count_distribution": [str(k) for k in range(1, 8)] + ["8+"],
        "inter_onset_histogram": DURATION_BINS,
        "note_length_histogram": DURATION_BINS,
    }
    labels = ("generated", "held_out", "random_notes", "markov", "ceiling")
    rows, pictures = [], []
    for name in comparison["features"]:
        overlaps = comparison["overlap"][name]
        cells = [html.escape(name)]
        for label in labels:
            value = _number(display_value(name, comparison["sets"][label]["summary"][name]))
            cells.append(value if label == "held_out" else f"{value} ({_number(overlaps.get(label), 2)})")
        cells.append(html.escape(comparison["verdict"][name]))
        rows.append(cells)
        filename = f"sets_{_slug(name)}.png"
        values = {label: comparison["_values"][label][name] for label in labels}
        values = {label: array for label, array in values.items() if len(array)}
        plot_feature_sets(name, values, os.path.join(directory, filename), overlaps, bins.get(name))
        pictures.append(filename)
    mean = comparison["mean_overlap"]
    rows.append(
        [
            "<b>mean overlap</b>",
            _number(mean["generated"], 2),
            "",
            _number(mean["random_notes"], 2),
            _number(mean["markov"], 2),
            _number(mean["ceiling"], 2),
            "",
        ]
    )
    left_out = comparison["left_out_of_mean"]
    return [
        "<h2>Against held-out pieces, floors and ceiling</h2>",
        "<p>Each cell: the mean value (for histograms: the off-beat share, mean voices or mean length in "
        "quarters) and, in brackets, the overlap area with the held-out pieces (Yang &amp; Lerch; 1 is "
        "indistinguishable). Floors are drawn in this run from the corpus; the ceiling is training pieces cut "
        f"the same way. Pieces are {_number(comparison['length_quarters'], 2)} quarters long after a "
        f"{_number(comparison['primer_quarters'], 2)}-quarter primer.</p>",
        _table(("feature", "generated", "held-out", "random floor", "Markov floor", "ceiling", "verdict"), rows),
        "<p class='notes'>Left out of the mean (a floor scores like real pieces): "
        f"{html.escape(', '.join(left_out) or 'none')}</p>",
        "<div class='grid'>",
        *[f"<img src='{filename}' alt='{html.escape(filename)}'>" for filename in pictures],
        "</div>",
    ]
