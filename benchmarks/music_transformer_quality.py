"""Do a Music Transformer run's samples look like held-out Bach? Features on the beat grid, side by side.

Generates pieces from a run folder with the run's own sampling configuration
(as ``musickit generate --run`` does), decodes them on the REMI grid, and
compares them with held-out pieces of the run's data (the test split, decoded
through the same tokenizer and cut to the samples' length) and with a floor
of random notes drawn from the held-out pitch, duration and notes-per-step
distributions, all in one run. Each feature is a per-piece number; the
overlap column is the overlapping area of the two per-piece distributions
(histograms over ten bins spanning both, after Yang & Lerch 2018) against held-out.

This script is a diagnostic for issue 17 (the shared evaluator lives in
``musickit.metrics``). Run::

    PYTHONPATH=$PWD KERAS_BACKEND=jax python benchmarks/music_transformer_quality.py --run /tmp/mt_run --num-samples 16
"""

import argparse
import json
import types

import numpy as np

FEATURES = ("silence", "max_polyphony", "semitone_clash", "duplicate_notes", "offbeat_16th_onsets", "in_scale",
            "inter_onset_quarters", "notes_per_quarter")  # fmt: skip
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)


def features(quantized, length_steps=None):
    """Per-piece features of a :class:`QuantizedScore` (cut to ``length_steps`` when given)."""
    steps_per_quarter = quantized.steps_per_quarter
    notes = [(n.pitch, n.start_step, n.end_step) for n in quantized.notes]
    if length_steps is not None:
        notes = [(p, s, min(e, length_steps)) for p, s, e in notes if s < length_steps]
    if not notes:
        return None
    end = max(e for _, _, e in notes)
    sounding = [set() for _ in range(end)]
    counts = np.zeros(end, int)
    for pitch, start, stop in notes:
        for step in range(start, max(stop, start + 1)):
            counts[step] += 1
            sounding[step].add(pitch % 12)
    clash = [any((pc + 1) % 12 in classes for pc in classes) for classes in sounding]
    starts = sorted({s for _, s, _ in notes})
    onsets = [s for _, s, _ in notes]
    pitch_classes = np.bincount([p % 12 for p, _, _ in notes], minlength=12)
    in_scale = max(sum(pitch_classes[(tonic + degree) % 12] for degree in MAJOR_SCALE) for tonic in range(12))
    keys = {(p, s) for p, s, _ in notes}
    return {
        "silence": float((counts == 0).mean()),
        "max_polyphony": float(counts.max()),
        "semitone_clash": float(np.mean([c for c, n in zip(clash, counts) if n > 0])),
        "duplicate_notes": 1.0 - len(keys) / len(notes),
        "offbeat_16th_onsets": float(np.mean([(s * 4 // steps_per_quarter) % 2 == 1 for s in onsets])),
        "in_scale": float(in_scale / len(notes)),
        "inter_onset_quarters": float(np.mean(np.diff(starts)) / steps_per_quarter) if len(starts) > 1 else float("nan"),
        "notes_per_quarter": len(notes) / (end / steps_per_quarter),
    }


def random_floor(references, rng, steps_per_quarter, count):
    """Random notes: pitches, durations and onset density drawn from the held-out pieces' distributions."""
    from musickit.music.quantization import QuantizedNote, QuantizedScore

    pitches = np.array([n.pitch for piece in references for n in piece.notes])
    durations = np.array([n.end_step - n.start_step for piece in references for n in piece.notes])
    pieces = []
    for index in range(count):
        reference = references[index % len(references)]
        length = max(n.end_step for n in reference.notes)
        number = len(reference.notes)
        starts = rng.integers(0, length, number)
        notes = [QuantizedNote(int(rng.choice(pitches)), 90, int(s), int(s + rng.choice(durations))) for s in starts]
        pieces.append(QuantizedScore(notes, steps_per_quarter, length))
    return pieces


def overlap(values, reference_values, bins=10):
    """Overlapping area of two histograms over ``bins`` equal bins spanning both (1.0: the same distribution).

    Histograms rather than kernel densities, so that features that take a few
    whole values (maximum polyphony) compare fairly.
    """
    a, b = np.asarray(values, float), np.asarray(reference_values, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if not len(a) or not len(b):
        return float("nan")
    low, high = min(a.min(), b.min()), max(a.max(), b.max())
    if high - low < 1e-9:
        return 1.0
    edges = np.linspace(low, high, bins + 1)
    share_a = np.histogram(a, edges)[0] / len(a)
    share_b = np.histogram(b, edges)[0] / len(b)
    return float(np.minimum(share_a, share_b).sum())


def table(groups, reference_name="held-out"):
    """Markdown table: mean (min..max) per group and feature, and each group's overlap with the reference."""
    values = {name: {f: [p[f] for p in rows] for f in FEATURES} for name, rows in groups.items()}
    names = list(groups)
    lines = ["| feature | " + " | ".join(names) + " | " + " | ".join(f"overlap {n}" for n in names if n != reference_name)
             + " |", "|---" * (1 + 2 * len(names) - 1) + "|"]  # fmt: skip
    overlaps = {n: [] for n in names if n != reference_name}
    for feature in FEATURES:
        cells = []
        for name in names:
            v = np.asarray(values[name][feature], float)
            cells.append(f"{np.nanmean(v):.3f} ({np.nanmin(v):.2f}..{np.nanmax(v):.2f})")
        for name in overlaps:
            overlaps[name].append(overlap(values[name][feature], values[reference_name][feature]))
        lines.append(f"| {feature} | " + " | ".join(cells) + " | "
                     + " | ".join(f"{overlaps[n][-1]:.2f}" for n in overlaps) + " |")  # fmt: skip
    lines.append("| **mean overlap** | " + " | ".join("" for _ in names) + " | "
                 + " | ".join(f"**{np.nanmean(overlaps[n]):.2f}** (min {np.nanmin(overlaps[n]):.2f})" for n in overlaps)
                 + " |")  # fmt: skip
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="a run folder of recipes/music_transformer.py")
    parser.add_argument("--num-samples", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--style", default="bach", help="style to generate and to take held-out pieces from")
    parser.add_argument("--max-files", type=int, default=150, help="files per source the run read (run.json's max_files wins)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override one sampling setting, e.g. --set temperature=0.8 (for exploring)")
    arguments = parser.parse_args(argv)

    from musickit.data import load_dataset
    from musickit.generation.transformer_run import generate_pieces, load_sampling
    from musickit.runs.folder import RunFolder

    run = RunFolder(arguments.run)
    info, model, tokenizer = run.load("music_transformer")
    sampling = load_sampling(run)
    for item in arguments.set:
        name, value = item.split("=", 1)
        sampling[name] = json.loads(value)
    args = types.SimpleNamespace(**sampling, seed=arguments.seed)
    prompt = info["default_prompt"]
    pieces = generate_pieces(model, tokenizer, prompt, arguments.num_samples, sampling["new_tokens"], args,
                             style=arguments.style, styles=info.get("styles", []))  # fmt: skip
    samples = [tokenizer.decode_quantized(np.asarray(ids, "int64")) for ids in pieces]
    sample_rows = [row for row in (features(piece) for piece in samples) if row]
    length = int(np.median([max((n.end_step for n in piece.notes), default=0) for piece in samples]))

    dataset = load_dataset(arguments.style, tokenizer, seed=info.get("seed", 0), max_files=info.get("max_files", arguments.max_files))
    held_out = [tokenizer.decode_quantized(ids) for ids in dataset.split("test")]
    held_out_cut = [row for row in (features(piece, length) for piece in held_out) if row]
    training = [tokenizer.decode_quantized(ids) for ids in list(dataset.split("train"))[: len(held_out)]]
    training_cut = [row for row in (features(piece, length) for piece in training) if row]
    rng = np.random.default_rng(arguments.seed)
    cut = [_cut(piece, length) for piece in held_out]
    floor = [features(piece) for piece in random_floor([p for p in cut if p.notes], rng, tokenizer.steps_per_quarter,
                                                       len(held_out))]  # fmt: skip
    print(f"{len(sample_rows)} samples ({arguments.run}, sampling {sampling}), median length {length / tokenizer.steps_per_quarter:.0f} "
          f"quarters; {len(held_out_cut)} held-out {arguments.style} pieces cut to that length; "
          f"{len(training_cut)} training pieces (ceiling); {len(floor)} random-note pieces (floor)\n")  # fmt: skip
    print(table({"held-out": held_out_cut, "generated": sample_rows, "random notes": floor, "training": training_cut}))


def _cut(quantized, length):
    from musickit.music.quantization import QuantizedScore

    notes = [n for n in quantized.notes if n.start_step < length]
    return QuantizedScore(notes, quantized.steps_per_quarter, length)


if __name__ == "__main__":
    main()
