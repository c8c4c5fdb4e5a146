"""How good a piano-roll run's samples are: musical metrics beside held-out pieces, floors and ceiling."""

import numpy as np

from musickit.families.piano_roll_lstm.config import PianoRollLSTMConfig

DEFAULT_QPM = PianoRollLSTMConfig.qpm

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

    comparison = compare_to_corpus(
        decode(rolls),
        decode(held_out_rolls),
        decode(training_rolls),
        seed=seed,
        primer_quarters=primer_steps / representation.steps_per_quarter,
    )
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
            [
                repeated_frame_ratio(_sustain_of(roll), steps_per_quarter=representation.steps_per_quarter)
                for roll in rolls
            ]
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
