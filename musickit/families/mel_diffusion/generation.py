"""Rendering notes with a trained mel-diffusion model: window by window, DDIM or DDPM, Griffin-Lim to WAV.

A piece longer than a window is cut into windows that overlap by a quarter
of a window; all windows are sampled together (one batch), and the overlaps
are cross-faded linearly in the log-mel domain before the vocoder.

Example (a trained run)::

    log_mel = render_score_mel(model, score, settings, layout, steps=50, guidance=2.0)
    audio = log_mel_to_audio(log_mel, settings)
"""

import json
import os

import numpy as np

from musickit.audio.mel import MelSettings, log_mel_spectrogram, log_mel_to_audio
from musickit.audio.quality import compare_log_mels
from musickit.audio.rendering import write_wav
from musickit.data.mel_windows import (
    mel_piece,
    note_roll,
    note_tokens,
    render_piece_audio,
    truncate_score,
    unconditional_tokens,
)
from musickit.errors import UsageError
from musickit.families.mel_diffusion.config import MODEL_NAME, MelDiffusionConfig
from musickit.generation.diffusion import diffusion_sample, sampler_settings
from musickit.music.midi_io import read_midi, write_midi
from musickit.utils.atomic import atomic_path
from musickit.viz.spectrogram import plot_mel_pair

QUALITY_NAMES = ("mel_l1", "log_spectral_distance", "chroma_cosine", "onset_f1")


def window_starts(total_frames, frames):
    """Starts of windows of ``frames`` covering ``total_frames``, a quarter window of overlap (last one flush).

    >>> window_starts(300, 128)
    [0, 96, 172]
    """
    hop = frames - frames // 4
    if total_frames <= frames:
        return [0]
    starts = list(range(0, total_frames - frames, hop))
    return starts + [total_frames - frames]


def overlap_add(windows, starts, total_frames):
    """Cross-fade ``windows`` ``(count, num_mels, frames)`` placed at ``starts`` into ``(num_mels, total_frames)``."""
    count, num_mels, frames = windows.shape
    ramp = np.ones(frames)
    fade = frames // 4
    ramp[:fade] = np.linspace(0.05, 1.0, fade)
    ramp[frames - fade :] = np.linspace(1.0, 0.05, fade)
    total = np.zeros((num_mels, max(total_frames, frames)))
    weights = np.zeros(max(total_frames, frames))
    for window, start in zip(windows, starts):
        total[:, start : start + frames] += window * ramp
        weights[start : start + frames] += ramp
    return (total / np.maximum(weights, 1e-8))[:, :total_frames].astype("float32")


def render_score_mel(model, score, settings, config, sampler="ddim", guidance=None, seed=0, progress=None):
    """The model's normalised log-mel ``(num_mels, frames)`` of ``score`` (its whole length)."""
    guidance = config.guidance if guidance is None else guidance
    steps, eta = sampler_settings(sampler, config.ddim_steps)
    total = int(np.ceil(score.end_time * settings.frames_per_second)) + 1
    roll = note_roll(score, settings, total)
    starts = window_starts(total, config.frames)
    tokens = np.stack(
        [note_tokens(roll, s, config.frames, config.frames_per_token, config.context_tokens) for s in starts]
    )
    unconditional = np.stack([unconditional_tokens(tokens.shape[1])] * len(starts))

    def predict(noisy, levels, conditions):
        return model.predict_on_batch({"noisy_mel": noisy, "noise_level": levels, "note_tokens": conditions})

    shape = (len(starts), config.num_mels, config.frames, 1)
    sample = diffusion_sample(predict, tokens, unconditional, shape, steps, eta, guidance, seed, progress)
    windows = np.clip((sample[..., 0] + 1.0) / 2.0, 0.0, 1.0)
    return overlap_add(windows, starts, total)


def file_stem(name):
    """A piece name as a file name (``bwv1.6`` stays, ``folder/piece.mid`` becomes ``folder_piece``)."""
    stem = os.path.splitext(name)[0] if name.endswith((".mid", ".midi")) else name
    return "".join(character if character.isalnum() or character in "-._" else "_" for character in stem)


def render_pieces(model, pieces, settings, config, output_dir, seed=0, sampler=None, soundfont=None, renderer=None):
    """For each ``(name, score)``: the neural WAV, the reference (FluidSynth) WAV, a PNG of both mels, the MIDI.

    Returns ``{"pieces": [{name, files, scores}], "means": {quality name: mean}}``
    with the scores of :func:`musickit.audio.quality.compare_log_mels` of the
    neural render (through the vocoder, as the WAV sounds) against the reference
    rendering's log-mel.
    """
    os.makedirs(output_dir, exist_ok=True)
    sampler = sampler or config.sampler
    renderer = renderer or config.renderer
    results = []
    for index, (name, score) in enumerate(pieces):
        score = truncate_score(score, config.render_seconds)
        if not score.notes:
            continue
        stem = os.path.join(output_dir, file_stem(name))
        reference = mel_piece(name, score, settings, renderer, soundfont)
        neural = render_score_mel(model, score, settings, config, sampler, seed=seed + index)
        audio = log_mel_to_audio(neural, settings, iterations=config.griffin_lim_iterations, seed=seed)
        write_wav(audio, f"{stem}.neural.wav", settings.sample_rate)
        reference_audio, method = render_piece_audio(score, settings, renderer, soundfont)
        write_wav(reference_audio, f"{stem}.{method}.wav", settings.sample_rate)
        write_midi(score, f"{stem}.mid")
        plot_mel_pair(
            neural, reference.log_mel, f"{stem}.png", ("neural render", method), 1.0 / settings.frames_per_second
        )
        onsets = [note.start for note in score.notes if not note.is_drum]
        # Scored as the WAV sounds: the vocoded audio's log-mel at the vocoder's level (as vocoder_round_trip and
        # benchmarks/mel_diffusion.py do), not the U-Net's mel before Griffin-Lim.
        heard = log_mel_spectrogram(audio, settings, normalise=False)
        scores = compare_log_mels(heard, reference.log_mel, settings, onsets)
        results.append(
            {
                "name": name,
                "reference_renderer": method,
                "scores": scores,
                "wav": os.path.basename(f"{stem}.neural.wav"),
                "midi": f"{stem}.mid",
            }
        )
    means = {
        key: float(np.nanmean([item["scores"][key] for item in results])) if results else None for key in QUALITY_NAMES
    }
    return {"pieces": results, "means": means}


def load_run_model(run):
    """``(info, config, settings, model)`` of a mel-diffusion run folder."""
    from musickit.models.mel_unet import MelUNet  # noqa: F401  (registers the model and its layers with Keras)
    from musickit.runs.folder import load_model_file

    info = run.read_info()
    if info.get("model") != MODEL_NAME:
        raise UsageError(f"{run.path} is a {info.get('model')} run, not a {MODEL_NAME} run")
    if not os.path.isfile(run.model_path):
        raise UsageError(f"{run.path} has no model.keras yet; let training finish or use --resume")
    config = MelDiffusionConfig.from_dict(info["config"])
    return info, config, MelSettings(**info["mel_settings"]), load_model_file(run.model_path)


def generate_from_run(run_dir, output_dir, request):
    """Render ``request.primer`` (a MIDI file), else the run's held-out pieces, with the run's model.

    ``request.num_samples`` caps the held-out pieces; ``request.seed`` fixes the noise.
    """
    from musickit.runs import RunFolder

    run = RunFolder(run_dir)
    info, config, settings, model = load_run_model(run)
    if request.primer:
        pieces = [(os.path.basename(request.primer), read_midi(request.primer))]
    else:
        names = info.get("held_out", [])[: request.num_samples]
        pieces = [(name, read_midi(run.inside(os.path.join("held_out", f"{file_stem(name)}.mid")))) for name in names]
    result = render_pieces(model, pieces, settings, config, output_dir, seed=request.seed, soundfont=request.soundfont)
    with atomic_path(os.path.join(output_dir, "render_metrics.json")) as temporary:
        with open(temporary, "w") as handle:
            json.dump(result, handle, indent=2, default=float)
    # The record every family returns (as runs.samples.write_samples writes it): the picture is the mel pair.
    return [
        {
            "name": file_stem(item["name"]),
            "midi": item["midi"],
            "png": f"{os.path.splitext(item['midi'])[0]}.png",
            "wav": os.path.join(output_dir, item["wav"]),
            "audio": "neural",
            "scores": item["scores"],
        }
        for item in result["pieces"]
    ]
