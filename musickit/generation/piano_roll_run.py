"""Generating from a piano-roll run: primers, sample files (MIDI, PNG, WAV), ``musickit generate``.

Shared by ``recipes/piano_roll_lstm.py`` (after training) and
``musickit generate --run RUN_DIR`` (any time later), so both write the same files.
"""

import logging
import os

import numpy as np

from musickit.audio.rendering import render
from musickit.errors import UsageError
from musickit.generation.piano_roll_sampling import FrameSamplingConfig, PianoRollSampler
from musickit.music.midi_io import read_midi, write_midi
from musickit.runs.folder import RunFolder
from musickit.viz.piano_roll import plot_piano_roll

logger = logging.getLogger(__name__)

MODEL_NAME = "piano_roll_lstm"
DEFAULT_QPM = 100.0
DEFAULT_PRIMER_BARS = 2


def primer_from_file(path, representation):
    """``(roll, qpm)`` of a MIDI file to continue; a file that cannot be read is a ``MidiReadError``."""
    score = read_midi(path)
    roll = representation.encode(score)
    if len(roll) == 0:
        raise UsageError(f"--primer {path} has no notes inside the model's {representation.num_pitches} keys")
    return roll, score.initial_qpm


def primer_from_roll(roll, steps_per_quarter, bars=DEFAULT_PRIMER_BARS, beats_per_bar=4):
    """The opening ``bars`` bars of a held-out piece (the recipes' default primer)."""
    return np.asarray(roll[: bars * beats_per_bar * steps_per_quarter], "float32")


def write_samples(rolls, primer_steps, representation, samples_dir, qpm, prefix="sample", soundfont=None):
    """Write each roll as ``PREFIX_N.mid``, ``.png`` and ``.wav``; return what was written.

    Returns a list of dicts with ``name``, ``midi``, ``png``, ``wav``, ``audio``
    (the rendering method) and ``score`` (the decoded generated piece).
    """
    os.makedirs(samples_dir, exist_ok=True)
    written = []
    spq = representation.steps_per_quarter
    for index, roll in enumerate(rolls):
        name = f"{prefix}_{index + 1}"
        score = representation.decode(roll, qpm=qpm)
        paths = {kind: os.path.join(samples_dir, f"{name}.{kind}") for kind in ("mid", "png", "wav")}
        write_midi(score, paths["mid"])
        plot_piano_roll(
            roll,
            paths["png"],
            steps_per_quarter=spq,
            highlight_from_step=primer_steps,
            lowest_pitch=representation.lowest_pitch,
            title=f"{name}: primer (blue) and generated continuation (orange)",
        )
        method = render(score, paths["wav"], soundfont=soundfont)
        written.append(
            {"name": name, "midi": paths["mid"], "png": paths["png"], "wav": paths["wav"], "audio": method,
             "score": score}
        )  # fmt: skip
    return written


def sample_rolls(model, representation, primer, bars, num_samples, seed, config):
    """Continue ``primer`` by ``bars`` 4/4 bars ``num_samples`` times: ``(num_samples, steps, keys)``."""
    if bars < 1:
        raise UsageError(f"--bars must be at least 1, got {bars}")
    if num_samples < 1:
        raise UsageError(f"--num-samples must be at least 1, got {num_samples}")
    sampler = PianoRollSampler(model, config, lowest_pitch=representation.lowest_pitch)
    steps = bars * 4 * representation.steps_per_quarter
    return sampler.generate(primer, steps, num_samples=num_samples, seed=seed)


def sampling_config(args):
    """A validated :class:`FrameSamplingConfig` from the shared sampling flags."""
    return FrameSamplingConfig(
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        key=args.key,
        scale=args.scale,
        repetition_penalty=args.repetition_penalty,
        max_polyphony=getattr(args, "max_polyphony", 0) or 0,
    ).validate()


def generate_from_run(run_dir, output_dir, args):
    """``musickit generate`` for a piano-roll run: load, sample, write files; return the list written."""
    config = sampling_config(args)
    run = RunFolder(run_dir)
    info, model, representation = run.load(MODEL_NAME)
    if args.primer:
        primer, qpm = primer_from_file(args.primer, representation)
    else:
        stored = info.get("default_primer_path")
        if not stored or not os.path.isfile(run.inside(stored)):
            raise UsageError(f"{run_dir} has no stored primer; pass --primer FILE.mid")
        primer, qpm = primer_from_file(run.inside(stored), representation)
    rolls = sample_rolls(model, representation, primer, args.bars, args.num_samples, args.seed, config)
    return write_samples(rolls, len(primer), representation, output_dir, qpm, soundfont=args.soundfont)


SAMPLE_METRICS = ("note_density", "polyphony", "in_scale_ratio", "rhythmic_regularity", "repeated_bar_ratio")


def side_by_side_metrics(generated_rolls, held_out_rolls, training_rolls, representation, qpm=DEFAULT_QPM):
    """Musical metrics of generated and held-out pieces side by side (means over pieces).

    Adds ``repeated_frame_ratio`` (loop detection on the rolls) and the
    pitch-class histogram of each set with its distance to the training
    data's histogram.
    """
    from musickit.metrics import (
        compute_metrics_batch,
        histogram_distance,
        mean_pitch_class_histogram,
        repeated_frame_ratio,
    )

    def decode(rolls):
        return [representation.decode(roll, qpm=qpm) for roll in rolls if len(roll)]

    training_histogram = mean_pitch_class_histogram(decode(training_rolls))
    report = {}
    for label, rolls in (("generated", generated_rolls), ("held_out", held_out_rolls)):
        scores = decode(rolls)
        values, _ = compute_metrics_batch(scores, SAMPLE_METRICS)
        histogram = mean_pitch_class_histogram(scores)
        summary = {name: _nan_mean(values[name]) for name in SAMPLE_METRICS}
        summary["repeated_frame_ratio"] = _nan_mean(
            [repeated_frame_ratio(roll, steps_per_quarter=representation.steps_per_quarter) for roll in rolls]
        )
        summary["pitch_class_histogram"] = [round(float(value), 4) for value in histogram]
        summary["pitch_class_histogram_distance_to_training"] = float(histogram_distance(histogram, training_histogram))
        summary["pieces"] = len(scores)
        report[label] = summary
    return report


def _nan_mean(values):
    values = np.asarray(values, dtype=float)
    return float(np.nanmean(values)) if np.isfinite(values).any() else None
