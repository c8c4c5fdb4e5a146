"""Any MIDI file to a WAV through a trained mel-diffusion run: what ``musickit render`` calls.

A piece of any length is cut into the model's windows (``frames`` mel
frames each, overlapping by a quarter window:
:func:`~musickit.families.mel_diffusion.generation.window_starts`); the
windows are sampled ``windows_per_batch`` at a time (a long piece never
holds all its windows in one batch), cross-faded linearly in the log-mel
domain where they overlap
(:func:`~musickit.families.mel_diffusion.generation.overlap_add`), and the
whole log-mel goes through Griffin-Lim once, so the joins carry no clicks.
One progress bar counts the denoising steps of every batch.

``skip_neural=True`` renders the same MIDI with FluidSynth (the plain synth,
with one warning, where FluidSynth or a soundfont is missing) and needs no run.

Example (a trained run folder)::

    result = render_midi_file("runs/mel_unet", "song.mid", "song.wav", ddim_steps=50)
    result["windows"], result["seconds"]
"""

import os

import numpy as np

from musickit.audio.mel import MelSettings, log_mel_to_audio
from musickit.audio.rendering import write_wav
from musickit.data.mel_windows import note_roll, note_tokens, render_piece_audio, unconditional_tokens
from musickit.errors import UsageError
from musickit.families.mel_diffusion.generation import load_run_model, overlap_add, window_starts
from musickit.generation.diffusion import diffusion_sample, sampler_settings
from musickit.music.midi_io import read_midi
from musickit.runs.folder import RunFolder
from musickit.utils.progress import progress

#: Windows sampled in one batch (each window of the CPU preset is 64 x 128 mels).
WINDOWS_PER_BATCH = 8


def score_windows(score, settings, config):
    """``(starts, tokens, total_frames)``: the window starts covering ``score`` and each window's note tokens."""
    total = int(np.ceil(score.end_time * settings.frames_per_second)) + 1
    roll = note_roll(score, settings, total)
    starts = window_starts(total, config.frames)
    tokens = np.stack(
        [note_tokens(roll, start, config.frames, config.frames_per_token, config.context_tokens) for start in starts]
    )
    return starts, tokens, total


def render_windows(model, tokens, config, sampler, guidance, seed=0, windows_per_batch=WINDOWS_PER_BATCH, bar=None):
    """The model's windows ``(count, num_mels, frames)`` in [0, 1] for note ``tokens``, a batch at a time.

    Batch ``b`` starts from the noise of seed ``seed + b``; ``bar`` (a tqdm bar) advances once per step.
    """
    steps, eta = sampler_settings(sampler, config.ddim_steps)

    def predict(noisy, levels, conditions):
        return model.predict_on_batch({"noisy_mel": noisy, "noise_level": levels, "note_tokens": conditions})

    def counted(pairs):
        for pair in pairs:
            yield pair
            if bar is not None:
                bar.update(1)

    windows = []
    for batch, first in enumerate(range(0, len(tokens), windows_per_batch)):
        chunk = tokens[first : first + windows_per_batch]
        unconditional = np.stack([unconditional_tokens(chunk.shape[1])] * len(chunk))
        shape = (len(chunk), config.num_mels, config.frames, 1)
        sample = diffusion_sample(predict, chunk, unconditional, shape, steps, eta, guidance, seed + batch, counted)
        windows.append(np.clip((sample[..., 0] + 1.0) / 2.0, 0.0, 1.0))
    return np.concatenate(windows, axis=0)


def read_notes(midi_path):
    """The score of ``midi_path``; a missing file or one without notes is a one-line error."""
    if not os.path.isfile(midi_path):
        raise UsageError(f"{midi_path} is not a file; give a MIDI file to render")
    score = read_midi(midi_path)
    if not [note for note in score.notes if not note.is_drum]:
        raise UsageError(f"{midi_path} has no pitched notes to render")
    return score


def render_midi_file(
    run_dir,
    midi_path,
    output_path,
    sampler=None,
    ddim_steps=None,
    guidance=None,
    griffin_lim_iterations=None,
    seed=0,
    windows_per_batch=WINDOWS_PER_BATCH,
    skip_neural=False,
    soundfont=None,
    show_progress=None,
):
    """Render the MIDI file ``midi_path`` as the WAV ``output_path`` with the mel-diffusion run ``run_dir``.

    Args:
        run_dir: a ``recipes/mel_unet.py`` run folder (not needed with ``skip_neural``).
        midi_path, output_path: the MIDI file read and the WAV written (atomically; folders made).
        sampler, ddim_steps, guidance, griffin_lim_iterations: the run's own unless given.
        seed: the starting noise.
        windows_per_batch: windows sampled in one model batch (memory against speed).
        skip_neural: render with FluidSynth (or the plain synth) instead of the model.
        soundfont: a ``.sf2`` file for FluidSynth.
        show_progress: the progress bar (``None``: on a terminal only).

    Returns:
        ``{"output", "method", "seconds", "windows"}`` (``method``: ``"neural"``, ``"fluidsynth"`` or ``"synth"``).
    """
    if not str(output_path).lower().endswith(".wav"):
        raise UsageError(f"-o {output_path}: the output is a WAV file; name it FILE.wav")
    if windows_per_batch < 1:
        raise UsageError(f"--windows-per-batch must be at least 1, got {windows_per_batch}")
    score = read_notes(midi_path)
    folder = os.path.dirname(os.path.abspath(output_path))
    if skip_neural:
        settings = MelSettings()
        if run_dir:  # the run's sample rate, when one is named
            settings = MelSettings(**RunFolder(run_dir).read_info().get("mel_settings", {}))
        audio, method = render_piece_audio(score, settings, "auto", soundfont)
        os.makedirs(folder, exist_ok=True)
        write_wav(audio, output_path, settings.sample_rate)
        return {"output": output_path, "method": method, "seconds": len(audio) / settings.sample_rate, "windows": 0}
    if not run_dir:
        raise UsageError("--run RUN names the mel_diffusion run that renders (or pass --skip-neural-render)")
    _, config, settings, model = load_run_model(RunFolder(run_dir))
    changes = {"sampler": sampler, "ddim_steps": ddim_steps, "guidance": guidance}
    changes["griffin_lim_iterations"] = griffin_lim_iterations
    config = config.replace(**{name: value for name, value in changes.items() if value is not None})
    starts, tokens, total = score_windows(score, settings, config)
    steps, _ = sampler_settings(config.sampler, config.ddim_steps)
    batches = -(-len(starts) // windows_per_batch)
    bar = progress(None, f"rendering {len(starts)} windows", total=batches * steps, enabled=show_progress)
    try:
        windows = render_windows(model, tokens, config, config.sampler, config.guidance, seed, windows_per_batch, bar)
    finally:
        bar.close()
    log_mel = overlap_add(windows, starts, total)
    audio = log_mel_to_audio(log_mel, settings, iterations=config.griffin_lim_iterations, seed=seed)
    os.makedirs(folder, exist_ok=True)
    write_wav(audio, output_path, settings.sample_rate)
    return {
        "output": output_path,
        "method": "neural",
        "seconds": len(audio) / settings.sample_rate,
        "windows": len(starts),
    }
