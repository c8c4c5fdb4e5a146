"""Generating from a piano-roll run: primers, sample files (MIDI, PNG, WAV), ``musickit generate``.

Shared by ``recipes/piano_roll_lstm.py`` (after training) and
``musickit generate --run RUN_DIR`` (any time later), so both write the same files.
"""

import argparse
import json
import logging
import os

import numpy as np

from musickit.audio.rendering import render
from musickit.errors import UsageError
from musickit.generation.piano_roll_sampling import FrameSamplingConfig, PianoRollSampler
from musickit.music.midi_io import read_midi, write_midi
from musickit.runs.flags import add_sampling_flags
from musickit.runs.folder import RunFolder
from musickit.viz.piano_roll import plot_piano_roll

logger = logging.getLogger(__name__)

MODEL_NAME = "piano_roll_lstm"
DEFAULT_QPM = 100.0
DEFAULT_PRIMER_BARS = 2
SAMPLING_FILE = "sampling.json"

# The family's sampling configuration: what the recipe samples with and saves
# as sampling.json, so `musickit generate --run` samples the same way. Chosen
# on the Bach chorales (benchmarks/RESULTS.md, issue 17): a slightly cool
# temperature, per-key nucleus 0.95 (a key whose outcome is 95% sure takes it:
# this removes most stray notes, off-beat 16ths 16% -> 4%), four voices at
# most, and out-of-key notes made about 7 times rarer (not forbidden: chorales
# use chromatic notes) in the key estimated from the primer.
FAMILY_SAMPLING = FrameSamplingConfig(temperature=0.9, top_p=0.95, key="primer", out_of_key_bias=-2.0, max_polyphony=4)

# flag -> config field for the shared sampling flags (and --max-polyphony)
_FLAG_FIELDS = {"temperature": "temperature", "top_k": "top_k", "top_p": "top_p", "key": "key", "scale": "scale",
                "repetition_penalty": "repetition_penalty", "max_polyphony": "max_polyphony"}  # fmt: skip


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


def _flag_defaults():
    parser = argparse.ArgumentParser(add_help=False)
    add_sampling_flags(parser)
    defaults = vars(parser.parse_args([]))
    defaults["max_polyphony"] = 0
    return defaults


def sampling_config(args, base=None):
    """A validated :class:`FrameSamplingConfig`: ``base`` with the sampling flags the user changed.

    A flag left at its generic default (``--temperature 1.0``, ``--key``
    unset, ...) keeps ``base``'s value, so a run's saved configuration (or
    :data:`FAMILY_SAMPLING` in the recipe) holds unless a flag says otherwise;
    without ``base`` the flags alone decide, as before.

    >>> import argparse
    >>> flags = argparse.Namespace(temperature=1.0, top_k=0, top_p=0.9, key=None, scale=None,
    ...                            repetition_penalty=1.0, max_polyphony=0)
    >>> config = sampling_config(flags, FAMILY_SAMPLING)
    >>> config.temperature, config.top_p, config.key
    (0.9, 0.9, 'primer')
    """
    values = (base or FrameSamplingConfig()).to_dict()
    defaults = _flag_defaults()
    for flag, field in _FLAG_FIELDS.items():
        value = getattr(args, flag, defaults[flag])
        if base is None or value != defaults[flag]:
            values[field] = value
    return FrameSamplingConfig(**values).validate()


def save_sampling_config(run, config):
    """Write ``config`` as the run's ``sampling.json``."""
    run.write_json(run.file(SAMPLING_FILE), config.to_dict())


def load_sampling_config(run):
    """The run's saved sampling configuration, or ``None`` for a run from before it was saved."""
    path = run.file(SAMPLING_FILE)
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        return FrameSamplingConfig.from_dict(json.load(handle))


def generate_from_run(run_dir, output_dir, args):
    """``musickit generate`` for a piano-roll run: load, sample, write files; return the list written.

    Samples with the run's ``sampling.json`` (what the recipe used), changed
    only by the sampling flags given; a run from before ``sampling.json``
    samples with the flags alone.
    """
    run = RunFolder(run_dir)
    config = sampling_config(args, load_sampling_config(run))
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


def music_quality(rolls, primer_steps, held_out_rolls, training_rolls, representation, qpm=DEFAULT_QPM, seed=0):
    """The evaluator's comparison of generated rolls (primer included) with held-out pieces, floors and ceiling.

    JSON-safe: see :func:`musickit.metrics.compare_to_corpus`; the primer is
    cut from the samples and the held-out pieces are cut after the same
    number of quarters.
    """
    from musickit.metrics import compare_to_corpus, json_safe

    def decode(pieces):
        return [representation.decode(roll, qpm=qpm) for roll in pieces if len(roll)]

    comparison = compare_to_corpus(decode(rolls), decode(held_out_rolls), decode(training_rolls), seed=seed,
                                   primer_quarters=primer_steps / representation.steps_per_quarter)  # fmt: skip
    return json_safe(comparison)


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
            [repeated_frame_ratio(_sustain_of(roll), steps_per_quarter=representation.steps_per_quarter)
             for roll in rolls]  # fmt: skip
        )
        summary["pitch_class_histogram"] = [round(float(value), 4) for value in histogram]
        summary["pitch_class_histogram_distance_to_training"] = float(histogram_distance(histogram, training_histogram))
        summary["pieces"] = len(scores)
        report[label] = summary
    return report


def _sustain_of(roll):
    """The sounding keys of a roll, with or without an onset channel."""
    roll = np.asarray(roll)
    return roll[..., 0] if roll.ndim == 3 else roll


def _nan_mean(values):
    values = np.asarray(values, dtype=float)
    return float(np.nanmean(values)) if np.isfinite(values).any() else None
