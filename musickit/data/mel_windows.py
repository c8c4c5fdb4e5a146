"""(notes, audio) pairs for the mel-diffusion family: rendered, cached log-mels, note tokens, noisy windows.

A piece is rendered at 16 kHz (FluidSynth with a General MIDI soundfont,
else the plain synth with one warning; :func:`musickit.audio.render_audio`),
turned into the log-mel of :mod:`musickit.audio.mel`, and cached on disk
(``$MUSICKIT_CACHE_DIR/mel/``, keyed by the notes, the mel settings and the
renderer), so a corpus is rendered once. The audio itself is not kept: a
WAV asked for later is rendered again.

The notes of a piece become a frame-rate piano roll (the piano-roll
representation's 88 keys, MIDI 21 to 108, sampled at the mel frame rate) of
two halves: the keys sounding in a frame, and the keys struck in it (a note
struck again on a sounding key is an onset the first half cannot show, and
the onsets are what a rendering must place sharply). A window's **note
tokens** are that roll in and around the window, one token per
``frames_per_token`` frames (a key is on if it sounds, or is struck, in any
of them), from ``context_tokens`` tokens before the window to as many after
it, with one more feature: 1 marks "no notes given" (the unconditional input
of classifier-free guidance), 0 a real token. A window of 128 frames, a
token a frame and 8 tokens of context each side is 144 tokens of 177
features.

:func:`noisy_window_dataset` is the training ``tf.data`` pipeline: random
windows, a random noise level per window on the cosine schedule
(:mod:`musickit.data.noise_schedule`), the notes dropped 10% of the time,
and the v-prediction target.

Example:

>>> from musickit.music.score import Note, Score
>>> from musickit.audio.mel import MelSettings
>>> roll = note_roll(Score(notes=[Note(60, 100, 0.0, 0.5)]), MelSettings(), frames=40)
>>> roll.shape, int(roll[:, 60 - LOWEST_PITCH].sum()), int(roll[:, NUM_KEYS + 60 - LOWEST_PITCH].sum())
((40, 176), 31, 1)
>>> note_tokens(roll, start=0, frames=16, frames_per_token=4, context_tokens=1).shape
(6, 177)
"""

import dataclasses
import logging
import os
import shutil

import numpy as np

from musickit.audio.mel import MelSettings, log_mel_spectrogram
from musickit.audio.rendering import find_soundfont, render_audio, synthesize
from musickit.data.cache import cache_key, cache_path, load_arrays, save_arrays
from musickit.data.noise_schedule import TRAINING_STEPS, cosine_alpha_bar

logger = logging.getLogger(__name__)

LOWEST_PITCH = 21  # the piano roll's 88 keys: MIDI 21 (A0) to 108 (C8)
NUM_KEYS = 88
TOKEN_FEATURES = 2 * NUM_KEYS + 1  # the keys sounding, the keys struck and the "no notes given" flag
RENDERERS = ("auto", "synth")


@dataclasses.dataclass
class MelPiece:
    """One rendered piece: its name, score, log-mel ``(num_mels, frames)`` and frame-rate roll ``(frames, 176)``."""

    name: str
    score: object
    log_mel: np.ndarray
    roll: np.ndarray
    renderer: str


def note_roll(score, settings, frames):
    """``(frames, 176)`` float32: 1 where a key sounds during a mel frame (frame ``i`` is centred at ``i * hop``),
    then 1 where a key is struck (the frame of the note's start)."""
    roll = np.zeros((frames, 2 * NUM_KEYS), dtype="float32")
    rate = settings.frames_per_second
    for note in score.notes:
        key = note.pitch - LOWEST_PITCH
        if note.is_drum or not 0 <= key < NUM_KEYS:
            continue
        first, last = int(round(note.start * rate)), max(int(round(note.end * rate)), int(round(note.start * rate)) + 1)
        roll[max(first, 0) : min(last, frames), key] = 1.0
        if 0 <= first < frames:
            roll[first, NUM_KEYS + key] = 1.0
    return roll


def note_tokens(roll, start, frames, frames_per_token, context_tokens):
    """The note tokens of the window ``roll[start:start + frames]`` (see the module docstring), numpy float32."""
    context = context_tokens * frames_per_token
    padded = np.pad(roll, ((context, context + frames), (0, 0)))
    window = padded[start : start + frames + 2 * context]
    tokens = window.reshape(-1, frames_per_token, roll.shape[1]).max(axis=1)
    return np.concatenate([tokens, np.zeros((len(tokens), 1), "float32")], axis=1)


def unconditional_tokens(count):
    """Tokens that give no notes (all keys off, the flag on): the guidance's unconditional input."""
    tokens = np.zeros((count, TOKEN_FEATURES), dtype="float32")
    tokens[:, -1] = 1.0
    return tokens


def renderer_description(renderer="auto", soundfont=None):
    """What renders a piece: ``"synth"`` or ``"fluidsynth:<soundfont>"`` (part of the cache key)."""
    if renderer not in RENDERERS:
        raise ValueError(f"renderer must be one of {RENDERERS}, got {renderer!r}")
    if renderer == "synth":
        return "synth"
    soundfont_path = find_soundfont(soundfont)
    if soundfont_path and shutil.which("fluidsynth"):
        return f"fluidsynth:{os.path.abspath(soundfont_path)}"
    return "synth"


def render_piece_audio(score, settings, renderer="auto", soundfont=None):
    """``(audio, method)`` of ``score`` at the settings' sample rate (``renderer="synth"`` forces the plain synth)."""
    if renderer == "synth":
        return synthesize(score, settings.sample_rate), "synth"
    return render_audio(score, soundfont, settings.sample_rate)


def mel_piece(name, score, settings=None, renderer="auto", soundfont=None, use_cache=True):
    """Render ``score``, take its log-mel and roll (cached on disk): a :class:`MelPiece`."""
    settings = settings or MelSettings()
    description = renderer_description(renderer, soundfont)
    notes = [(n.pitch, n.velocity, round(n.start, 4), round(n.end, 4), n.program, n.is_drum) for n in score.notes]
    path = cache_path(cache_key("mel", settings.to_dict(), description, notes), kind="mel")
    stored = load_arrays(path) if use_cache else None
    if stored is not None:
        (log_mel,), info = stored
        log_mel, method = log_mel.T, info["renderer"]
    else:
        audio, method = render_piece_audio(score, settings, renderer, soundfont)
        # at least one frame past the last note's end, so releases and reverb tails are kept
        minimum = settings.samples_for(int(score.end_time * settings.frames_per_second) + 2)
        audio = np.pad(audio, (0, max(0, minimum - len(audio))))
        log_mel = log_mel_spectrogram(audio, settings)
        if use_cache:
            save_arrays(path, [log_mel.T], {"renderer": method, "name": name})
    return MelPiece(name, score, log_mel, note_roll(score, settings, log_mel.shape[1]), method)


def mel_pieces(pieces, settings=None, renderer="auto", soundfont=None, use_cache=True, show_progress=None):
    """:func:`mel_piece` for each ``(name, score)``, with a progress bar; pieces shorter than nothing are skipped."""
    from musickit.utils.progress import progress

    results = []
    for name, score in progress(list(pieces), description="rendering", enabled=show_progress):
        if score.notes:
            results.append(mel_piece(name, score, settings, renderer, soundfont, use_cache))
    return results


def window_examples(pieces, frames, frames_per_token, context_tokens, hop=None):
    """Every window of ``frames`` frames (every ``hop``, default ``frames // 2``): ``(log_mels, tokens)`` arrays.

    ``log_mels`` is ``(count, num_mels, frames)`` in [0, 1]; pieces shorter
    than a window are padded with silence.
    """
    hop = hop or frames // 2
    mels, tokens = [], []
    for piece in pieces:
        log_mel, roll = piece.log_mel, piece.roll
        if log_mel.shape[1] < frames:
            log_mel = np.pad(log_mel, ((0, 0), (0, frames - log_mel.shape[1])))
        for start in range(0, log_mel.shape[1] - frames + 1, hop):
            mels.append(log_mel[:, start : start + frames])
            tokens.append(note_tokens(roll, start, frames, frames_per_token, context_tokens))
    return np.asarray(mels, dtype="float32"), np.asarray(tokens, dtype="float32")


def noisy_window_dataset(
    pieces, frames, frames_per_token, context_tokens, batch_size, seed=0, condition_dropout=0.1, shuffle=True
):
    """The training pipeline: batches of ``({"noisy_mel", "noise_level", "note_tokens"}, v_target)``, repeated.

    Windows start at random frames of random pieces (a window every 8
    frames, reshuffled each pass); each gets a noise level ``t`` drawn from
    the ``TRAINING_STEPS`` discrete levels of the cosine schedule,
    ``noisy = sqrt(a) x + sqrt(1 - a) e`` with ``x = 2 log_mel - 1`` and
    ``a = alpha_bar(t)``, and the target ``v = sqrt(a) e - sqrt(1 - a) x``.
    With probability ``condition_dropout`` its notes are replaced by
    :func:`unconditional_tokens`. ``noisy_mel`` is ``(num_mels, frames, 1)``.
    """
    import tensorflow as tf

    mels, tokens = window_examples(pieces, frames, frames_per_token, context_tokens, hop=8)
    if not len(mels):
        raise ValueError("no pieces to make windows from")
    null_tokens = tf.constant(unconditional_tokens(tokens.shape[1]))
    # Tokens are 0/1: held as bytes, a quarter of the memory (13,000 windows of 144 x 177 tokens are 1.3 GB as
    # float32), and made float32 a window at a time.
    dataset = tf.data.Dataset.from_tensor_slices((mels, tokens.astype("uint8")))
    if shuffle:
        dataset = dataset.shuffle(len(mels), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.repeat()
    generator = tf.random.Generator.from_seed(seed)

    def add_noise(log_mel, window_tokens):
        window_tokens = tf.cast(window_tokens, tf.float32)
        clean = 2.0 * log_mel[..., None] - 1.0
        step = generator.uniform((), 1, TRAINING_STEPS + 1, dtype=tf.int32)
        level = tf.cast(step, tf.float32) / TRAINING_STEPS
        alpha_bar = cosine_alpha_bar(level, tf)
        noise = generator.normal(tf.shape(clean))
        noisy = tf.sqrt(alpha_bar) * clean + tf.sqrt(1.0 - alpha_bar) * noise
        target = tf.sqrt(alpha_bar) * noise - tf.sqrt(1.0 - alpha_bar) * clean
        dropped = generator.uniform(()) < condition_dropout
        window_tokens = tf.where(dropped, null_tokens, window_tokens)
        return {"noisy_mel": noisy, "noise_level": level[None], "note_tokens": window_tokens}, target

    return dataset.map(add_noise, num_parallel_calls=1).batch(batch_size, drop_remainder=True).prefetch(2)


def truncate_score(score, seconds):
    """``score`` cut to its first ``seconds`` (notes starting later dropped, the others cut); ``None`` keeps it."""
    if seconds is None:
        return score
    cut = score.copy()
    cut.notes = [dataclasses.replace(note, end=min(note.end, seconds)) for note in score.notes if note.start < seconds]
    return cut
