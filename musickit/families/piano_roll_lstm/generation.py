"""Generating from a piano-roll LSTM: primers, sampling, sample files (MIDI, PNG, WAV), ``musickit generate``.

Shared by ``recipes/piano_roll_lstm.py`` (after training) and
``musickit generate --run RUN_DIR`` (any time later), so both write the same files.
"""

import logging
import os

import numpy as np

from musickit.errors import UsageError
from musickit.families.piano_roll_lstm.config import MODEL_NAME, PianoRollLSTMConfig
from musickit.families.request import DEFAULT_FRAME_BARS
from musickit.generation.piano_roll_sampling import PianoRollSampler
from musickit.generation.sampling_config import SamplingConfig
from musickit.models.piano_roll_lstm import PianoRollLSTM  # noqa: F401  (registered for loading model.keras)
from musickit.music.midi_io import read_midi
from musickit.runs.folder import RunFolder
from musickit.runs.samples import Sample
from musickit.runs.samples import write_samples as write_sample_files

logger = logging.getLogger(__name__)

DEFAULT_QPM = PianoRollLSTMConfig.qpm
DEFAULT_PRIMER_BARS = PianoRollLSTMConfig.primer_bars


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
    """Write each roll as ``PREFIX_N.mid``, ``.png`` and ``.wav`` (:func:`musickit.runs.samples.write_samples`).

    Returns a list of dicts with ``name``, ``midi``, ``png``, ``wav``, ``audio``
    (the rendering method) and ``score`` (the decoded generated piece).
    """
    samples = [
        Sample(
            score=representation.decode(roll, qpm=qpm),
            roll=roll,
            steps_per_quarter=representation.steps_per_quarter,
            caption="primer (blue) and generated continuation (orange)",
            lowest_pitch=representation.lowest_pitch,
            highlight_from_step=primer_steps,
        )
        for roll in rolls
    ]
    return write_sample_files(samples, samples_dir, prefix=prefix, soundfont=soundfont)


def sample_rolls(model, representation, primer, bars, num_samples, seed, config):
    """Continue ``primer`` by ``bars`` 4/4 bars ``num_samples`` times: ``(num_samples, steps, keys)``."""
    if bars < 1:
        raise UsageError(f"--bars must be at least 1, got {bars}")
    if num_samples < 1:
        raise UsageError(f"--num-samples must be at least 1, got {num_samples}")
    sampler = PianoRollSampler(model, config, lowest_pitch=representation.lowest_pitch)
    steps = bars * 4 * representation.steps_per_quarter
    return sampler.generate(primer, steps, num_samples=num_samples, seed=seed)


def generate_from_run(run_dir, output_dir, request):
    """``musickit generate`` for a piano-roll run: load, sample, write files; return the list written.

    ``request`` is a :class:`~musickit.families.request.GenerationRequest`.
    Samples with the run's ``sampling.json`` (what the recipe used), changed
    only by ``request.sampling_changes``; a run from before ``sampling.json``
    (or with an older one) samples with the neutral configuration and the changes.
    """
    run = RunFolder(run_dir)
    saved = SamplingConfig.load(run) or SamplingConfig()
    config = saved.replace(**request.sampling_changes)  # bad sampling settings fail before loading anything
    info, model, representation = run.load(MODEL_NAME)
    if request.primer:
        primer, qpm = primer_from_file(request.primer, representation)
    else:
        stored = info.get("default_primer_path")
        if not stored or not os.path.isfile(run.inside(stored)):
            raise UsageError(f"{run_dir} has no stored primer; pass --primer FILE.mid")
        primer, qpm = primer_from_file(run.inside(stored), representation)
    bars = request.bars or DEFAULT_FRAME_BARS
    rolls = sample_rolls(model, representation, primer, bars, request.num_samples, request.seed, config)
    return write_samples(rolls, len(primer), representation, output_dir, qpm, soundfont=request.soundfont)
