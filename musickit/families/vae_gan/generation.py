"""Generating from a VAE-GAN run: prior samples, reconstructions beside their originals, latent interpolation.

Every piece is decoded with KV caching through the shared engine
(:meth:`musickit.models.music_vae.MusicVAE.generate`), under the run's
sampling configuration (its ``sampling.json``: sampler, temperature, nucleus,
the REMI grammar and note rules); reconstructions decode greedily. Files are
written as the other token families write them: MIDI, a piano-roll PNG and a
WAV per piece, plus one PNG strip for an interpolation.

Example::

    musickit generate --run runs/vae_gan --temperature 0.9 --num-samples 4
"""

import os

import numpy as np

from musickit.errors import UsageError
from musickit.families.vae_gan.config import MODEL_NAME, VaeGanConfig
from musickit.families.vae_gan.measures import (
    interpolate_latents,
    interpolation_smoothness,
    monotonicity_by_chance,
    posterior_means,
)
from musickit.generation.processors.length import BarBudget
from musickit.generation.sampling_config import SamplingConfig
from musickit.generation.token_sampling import token_processors
from musickit.models.music_vae import MusicVAE  # noqa: F401  (registered for loading model.keras)
from musickit.music.quantization import quantize
from musickit.representations.piano_roll import PianoRoll
from musickit.runs.folder import RunFolder
from musickit.runs.samples import Sample, decode_token_piece, write_samples
from musickit.viz.piano_roll import plot_piano_roll

STEPS_PER_QUARTER = 4  # the grid of the pictures of performance-event pieces


def decode_tokens(tokenizer, ids):
    """The :class:`Score` of generated ids (REMI through the shared token decoder)."""
    if hasattr(tokenizer, "decode_quantized"):
        return decode_token_piece(tokenizer, ids)
    return tokenizer.decode(np.asarray(ids, "int64"))


def _roll(tokenizer, score):
    steps_per_quarter = getattr(tokenizer, "steps_per_quarter", STEPS_PER_QUARTER)
    quantized = quantize(score, steps_per_quarter)
    return PianoRoll(steps_per_quarter=steps_per_quarter).encode(quantized), quantized, steps_per_quarter


def write_pieces(pieces, tokenizer, samples_dir, prefix, soundfont=None):
    """Write each piece as ``PREFIX_N.mid``, ``.png`` and ``.wav`` (the shared writer); return what was written."""
    steps_per_quarter = getattr(tokenizer, "steps_per_quarter", STEPS_PER_QUARTER)
    samples = []
    for ids in pieces:
        score = decode_tokens(tokenizer, ids)
        samples.append(Sample.from_score(score, steps_per_quarter, caption=f"{len(score.notes)} notes"))
    return write_samples(samples, samples_dir, prefix=prefix, soundfont=soundfont)


def write_strip(pieces, tokenizer, path):
    """One PNG of the pieces' piano rolls side by side (an interpolation from A to B)."""
    rolls = [_roll(tokenizer, decode_tokens(tokenizer, ids))[0] for ids in pieces]
    steps_per_quarter = getattr(tokenizer, "steps_per_quarter", STEPS_PER_QUARTER)
    starts = np.cumsum([0] + [len(roll) for roll in rolls[:-1]]).tolist()
    plot_piano_roll(
        np.concatenate(rolls, axis=0),
        path,
        steps_per_quarter=steps_per_quarter,
        bar_starts=starts,
        title=f"interpolation in {len(pieces)} steps (one piece between lines)",
    )
    return path


def named_sampler(sampling):
    """``(name, options)`` of the sampler :func:`~musickit.generation.token_sampling.token_sampler` builds.

    Given by name, the engine keeps one sampler (and its compiled loop) per
    setting and reseeds it, so repeated calls do not compile again.
    """
    if sampling.top_p != 1.0:
        return "top_p", {"top_p": sampling.top_p, "top_k": sampling.top_k or None, "temperature": sampling.temperature}
    if sampling.top_k:
        return "top_k", {"top_k": sampling.top_k, "temperature": sampling.temperature}
    return "temperature", {"temperature": sampling.temperature}


def decode_processors(tokenizer, sampling, vocabulary_size, bars=None):
    """The logits processors for ``sampling``, plus a length of ``bars`` bars when given. Made anew per call:
    the engine compiles one loop per processor configuration, not per processor object."""
    processors = token_processors(sampling, tokenizer, vocabulary_size)
    if bars:
        processors.append(BarBudget.from_tokenizer(tokenizer, bars, vocabulary_size))
    return processors


def decode_latents(model, tokenizer, latents, sampling, seed=0, greedy=False, bars=None):
    """Decode one piece per latent row under ``sampling`` (its processors; greedy or its sampler), ending
    after ``bars`` bars when given."""
    processors = decode_processors(tokenizer, sampling, model.vocabulary_size, bars)
    name, options = ("greedy", {}) if greedy else named_sampler(sampling)
    length = min(int(sampling.new_tokens) + 1, model.max_sequence_length)
    return model.generate(latents, max_length=length, sampler=name, processors=processors, seed=seed, **options)


def prior_pieces(model, tokenizer, num_samples, sampling, temperature=1.0, seed=0, bars=None):
    """``num_samples`` pieces from the prior ``N(0, temperature^2)`` (of at most ``bars`` bars when given)."""
    latents = model.sample_prior(num_samples, temperature, seed=seed)
    return decode_latents(model, tokenizer, latents, sampling, seed, bars=bars)


def reconstruct(model, tokenizer, segments, sampling, bars=None):
    """Greedy reconstructions of ``segments`` from their posterior means (of at most ``bars`` bars when given)."""
    return decode_latents(model, tokenizer, posterior_means(model, segments), sampling, greedy=True, bars=bars)


def interpolate(model, tokenizer, first, second, steps, sampling, seed=0, bars=None):
    """Pieces decoded along the spherical path between the posterior means of two segments (``(1, time)`` each),
    of at most ``bars`` bars when given."""
    latents = interpolate_latents(posterior_means(model, first), posterior_means(model, second), steps)
    # One seed for every step: the path, not the noise, changes the music.
    return decode_latents(model, tokenizer, latents, sampling, seed=seed, bars=bars)


def interpolation_pair(data):
    """Two held-out segments from different pieces (the first segment of the first two pieces)."""
    name = data.held_out_name
    pieces = data.pieces[name]
    first = 0
    others = np.flatnonzero(pieces != pieces[first])
    second = int(others[0]) if len(others) else min(1, len(pieces) - 1)
    segments = data.segments[name]
    return segments[first : first + 1], segments[second : second + 1]


def interpolation_pairs(data, count):
    """Up to ``count`` pairs of held-out segments ``((1, time), (1, time))``, each from two other pieces: the
    first segments of pieces 0 and 1, 2 and 3, and so on (:func:`interpolation_pair` with one piece)."""
    name = data.held_out_name
    pieces, segments = data.pieces[name], data.segments[name]
    _, firsts = np.unique(pieces, return_index=True)
    firsts = np.sort(firsts)
    pairs = [
        (segments[firsts[index] : firsts[index] + 1], segments[firsts[index + 1] : firsts[index + 1] + 1])
        for index in range(0, min(2 * count, len(firsts)) - 1, 2)
    ]
    return pairs or [interpolation_pair(data)]  # one held-out piece: two of its segments


def mean_interpolation_monotonicity(model, data, config, pairs=8, seed=0):
    """Per feature, :func:`~.measures.interpolation_smoothness` averaged over ``pairs`` interpolations between
    held-out segments of different pieces (one pair says little: five steps of one path are mostly noise).

    Returns ``{feature: mean}``, ``pairs`` (the number measured) and ``chance``, what features in random order
    score (:func:`~.measures.monotonicity_by_chance`).
    """
    measured = [
        interpolation_smoothness(
            data.tokenizer,
            interpolate(
                model, data.tokenizer, a, b, config.interpolation_steps, config.sampling, seed, config.bars_per_segment
            ),
        )
        for a, b in interpolation_pairs(data, pairs)
    ]
    means = {name: float(np.mean([m[name] for m in measured])) for name in measured[0]}
    return {**means, "pairs": len(measured), "chance": monotonicity_by_chance(config.interpolation_steps)}


def write_run_samples(model, data, config, run, seed=0, soundfont=None):
    """Originals and reconstructions, prior samples, an interpolation (MIDI, PNG, WAV, strip); return metrics."""
    tokenizer, sampling, samples_dir = data.tokenizer, config.sampling, run.samples_dir
    held_out = data.segments[data.held_out_name][: config.num_reconstructions]
    originals = [segment[segment != tokenizer.pad_id].tolist() for segment in held_out]
    written = write_pieces(originals, tokenizer, samples_dir, "original", soundfont)
    # Every piece is one segment long: a latent stands for a segment's bars, and past them the decoder
    # would go on reading the last bar's latent.
    bars = config.bars_per_segment
    whole = sampling.replace(new_tokens=held_out.shape[1])
    reconstructions = reconstruct(model, tokenizer, held_out, whole, bars)
    written += write_pieces(reconstructions, tokenizer, samples_dir, "reconstruction", soundfont)
    prior = prior_pieces(model, tokenizer, config.num_samples, sampling, config.prior_temperature, seed, bars)
    written += write_pieces(prior, tokenizer, samples_dir, "sample", soundfont)
    first, second = interpolation_pair(data)
    path = interpolate(model, tokenizer, first, second, config.interpolation_steps, sampling, seed, bars)
    written += write_pieces(path, tokenizer, samples_dir, "interpolation", soundfont)
    write_strip(path, tokenizer, os.path.join(samples_dir, "interpolation_strip.png"))
    return written, {"interpolation_monotonicity": interpolation_smoothness(tokenizer, path)}


def generate_from_run(run_dir, output_dir, request):
    """``musickit generate`` for a VAE-GAN run: load, sample the prior, write; return the files written.

    ``request`` is a :class:`~musickit.families.request.GenerationRequest`; its
    ``sampling_changes`` are laid over the run's ``sampling.json``. The run's
    ``prior_temperature`` scales the latents. ``request.bars`` ends each piece
    after that many bars; a latent stands for one training segment, so at most
    its ``bars_per_segment``, which is also the length without ``--bars`` (past
    it the decoder would go on reading the last bar's latent).
    """
    run = RunFolder(run_dir)
    base = SamplingConfig.load(run, base=VaeGanConfig.SAMPLING) or VaeGanConfig.SAMPLING
    sampling = base.replace(**request.sampling_changes)
    run_config = run.read_info().get("config", {})
    segment_bars = run_config.get("bars_per_segment", VaeGanConfig.bars_per_segment)
    if request.bars and request.bars > segment_bars:
        raise UsageError(
            f"--bars {request.bars}: this VAE writes pieces of at most {segment_bars} bars (its training segments)"
        )
    _, model, tokenizer = run.load(MODEL_NAME)
    temperature = run_config.get("prior_temperature", VaeGanConfig.prior_temperature)
    bars = request.bars or segment_bars
    pieces = prior_pieces(model, tokenizer, request.num_samples, sampling, temperature, seed=request.seed, bars=bars)
    return write_pieces(pieces, tokenizer, output_dir, "sample", soundfont=request.soundfont)
