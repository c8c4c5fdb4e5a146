"""Music-quality diagnostics of a piano-roll LSTM run, beside held-out chorales and a random-note floor.

Generates one continuation per held-out primer (the opening 2 bars of each of
the first N test pieces) with the run's saved sampling configuration, and
compares the continuations with the same pieces' real continuations (the
held-out reference, cut to the same length on the same grid) and with random
notes drawn from the reference's pitch and duration distributions (a floor),
all measured in this one run. Features, per piece:

* offbeat_16th: share of onsets on an odd 16th step (none exist on an 8th grid);
* offbeat_8th: share of onsets on the second 8th of a beat;
* semitone_clash: share of sounding steps with two keys a semitone apart;
* four_voices: share of steps with exactly four keys sounding;
* max_polyphony: most keys sounding at once;
* silence: share of steps with no key sounding;
* in_scale: share of notes in the scale of the piece's estimated key
  (Krumhansl-Schmuckler, major or natural minor);
* key_kept: 1 when the continuation's estimated key shares 6 of 7 scale
  tones with the primer's (same key or a neighbour), else 0;
* note_density: onsets per quarter note; mean_duration: quarters per note.

Overlap is the shared area of the two Gaussian-KDE densities of a feature
over pieces (Yang & Lerch 2018), generated or floor against held-out.

    PYTHONPATH=$PWD KERAS_BACKEND=jax python benchmarks/piano_roll_music_quality.py --run runs/piano_roll_lstm
"""

import argparse

import numpy as np

FEATURES = ("offbeat_16th", "offbeat_8th", "semitone_clash", "four_voices", "max_polyphony", "silence", "in_scale", "key_kept",
            "note_density", "mean_duration")  # fmt: skip


def notes_of(roll):
    """(pitch column, start, end) of every note of a (steps, keys, 2) roll with onsets."""
    sustain, onset = roll[..., 0] > 0, roll[..., 1] > 0
    notes = []
    for column in np.nonzero(sustain.any(0))[0]:
        start = None
        for step in range(len(roll) + 1):
            on = step < len(roll) and sustain[step, column]
            if start is not None and (not on or onset[step, column]):
                notes.append((column, start, step))
                start = None
            if on and start is None:
                start = step
    return notes


def scale_of(notes, lowest_pitch):
    from musickit.music.keys import estimate_key, scale_pitch_classes
    from musickit.music.score import Note, Score

    score = Score(notes=[Note(int(c) + lowest_pitch, 80, s * 0.125, e * 0.125) for c, s, e in notes])
    return scale_pitch_classes(estimate_key(score))


def features(roll, primer_scale, lowest_pitch, steps_per_quarter):
    sustain = roll[..., 0] > 0
    counts = sustain.sum(1)
    notes = notes_of(roll)
    sixteenths = np.array([s for _, s, _ in notes]) * (4 // steps_per_quarter)  # onset positions in 16ths
    sounding = counts > 0
    clash = (sustain[:, 1:] & sustain[:, :-1]).any(1)
    scale = scale_of(notes, lowest_pitch) if notes else set()
    in_scale = np.mean([(c + lowest_pitch) % 12 in scale for c, _, _ in notes]) if notes else np.nan
    return {
        "offbeat_16th": float(np.mean(sixteenths % 2 == 1)) if notes else np.nan,
        "offbeat_8th": float(np.mean(sixteenths % 4 == 2)) if notes else np.nan,
        "semitone_clash": float(clash[sounding].mean()) if sounding.any() else 0.0,
        "four_voices": float(np.mean(counts == 4)),
        "max_polyphony": float(counts.max()),
        "silence": float(np.mean(~sounding)),
        "in_scale": float(in_scale),
        "key_kept": float(len(scale & primer_scale) >= 6) if notes else 0.0,
        "note_density": len(notes) / len(roll) * steps_per_quarter,
        "mean_duration": float(np.mean([e - s for _, s, e in notes])) / steps_per_quarter if notes else 0.0,
    }


def random_notes(reference_rolls, steps, count, seed):
    """Rolls of random notes: pitches, durations and note counts drawn from the reference."""
    random = np.random.default_rng(seed)
    pitches, durations, per_piece = [], [], []
    for roll in reference_rolls:
        notes = notes_of(roll)
        per_piece.append(len(notes))
        pitches += [c for c, _, _ in notes]
        durations += [e - s for _, s, e in notes]
    keys = reference_rolls[0].shape[1]
    rolls = []
    for _ in range(count):
        roll = np.zeros((steps, keys, 2), "float32")
        for _ in range(int(random.choice(per_piece))):
            column, duration, start = random.choice(pitches), random.choice(durations), random.integers(steps)
            roll[start:start + duration, column, 0] = 1
            roll[start, column, 1] = 1
        rolls.append(roll)
    return rolls


def overlap(values, reference):
    from scipy.stats import gaussian_kde

    values, reference = np.asarray(values, float), np.asarray(reference, float)
    values, reference = values[np.isfinite(values)], reference[np.isfinite(reference)]
    low = min(values.min(), reference.min())
    high = max(values.max(), reference.max())
    if high - low < 1e-9:
        return 1.0
    grid = np.linspace(low - 0.1 * (high - low), high + 0.1 * (high - low), 512)

    def density(sample):
        if np.ptp(sample) < 1e-9:  # a constant feature: a narrow bump
            sample = sample + np.random.default_rng(0).normal(0, 1e-3 * (high - low), len(sample))
        return gaussian_kde(sample)(grid)

    first, second = density(values), density(reference)
    return float(np.trapezoid(np.minimum(first, second), grid))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/piano_roll_lstm")
    parser.add_argument("--pieces", type=int, default=16)
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="change one setting of the run's sampling configuration, e.g. temperature=0.8")  # fmt: skip
    args = parser.parse_args()

    from musickit.data import load_dataset
    from musickit.generation.piano_roll_run import MODEL_NAME, load_sampling_config, primer_from_roll, sample_rolls
    from musickit.generation.piano_roll_sampling import FrameSamplingConfig
    from musickit.runs import RunFolder

    run = RunFolder(args.run)
    info, model, representation = run.load(MODEL_NAME)
    if not representation.onset_channel:
        raise SystemExit("this script measures rolls with an onset channel")
    config = (load_sampling_config(run) or FrameSamplingConfig()).to_dict()
    for setting in args.set:
        name, value = setting.split("=", 1)
        config[name] = None if value == "None" else type(config[name] if config[name] is not None else "")(value)
    config = FrameSamplingConfig.from_dict(config)
    print("sampling:", config.to_dict())
    dataset = load_dataset(info["data"], representation, seed=info["seed"])
    spq = representation.steps_per_quarter
    primer_steps, steps = 2 * 4 * spq, args.bars * 4 * spq
    pieces = [roll for roll in (dataset.test or dataset.valid) if len(roll) >= primer_steps + steps][: args.pieces]
    low = representation.lowest_pitch
    table = {name: {} for name in ("generated", "held_out", "random")}
    held, generated = [], []
    for index, roll in enumerate(pieces):
        primer = primer_from_roll(roll, spq, 2)
        primer_scale = scale_of(notes_of(primer), low)
        sample = sample_rolls(model, representation, primer, args.bars, 1, args.seed + index, config)[0]
        generated.append((sample[primer_steps:], primer_scale))
        held.append((np.asarray(roll[primer_steps:primer_steps + steps]), primer_scale))
    floor = random_notes([roll for roll, _ in held], steps, len(held), args.seed)
    sets = {"generated": generated, "held_out": held, "random": [(r, s) for r, (_, s) in zip(floor, held)]}
    for label, rolls in sets.items():
        values = [features(roll, scale, low, spq) for roll, scale in rolls]
        table[label] = {name: np.array([v[name] for v in values]) for name in FEATURES}
    print(f"\n{len(held)} pieces of {args.bars} bars after a 2-bar primer, run {args.run}\n")
    print("| feature | generated | held-out | random floor | overlap gen | overlap floor |")
    print("|---|---|---|---|---|---|")
    overlaps = {"generated": [], "random": []}
    for name in FEATURES:
        cells = []
        for label in ("generated", "held_out", "random"):
            values = table[label][name]
            cells.append(f"{np.nanmean(values):.3f}")
        row = []
        for label in ("generated", "random"):
            value = overlap(table[label][name], table["held_out"][name])
            overlaps[label].append(value)
            row.append(f"{value:.2f}")
        extra = ""
        if name == "max_polyphony":
            extra = " (range " + ", ".join(f"{table[l][name].min():.0f}-{table[l][name].max():.0f}" for l in table) + ")"
        print(f"| {name}{extra} | " + " | ".join(cells + row) + " |")
    print(f"| **mean overlap** | | | | {np.mean(overlaps['generated']):.2f} (min {np.min(overlaps['generated']):.2f})"
          f" | {np.mean(overlaps['random']):.2f} |")


if __name__ == "__main__":
    main()
