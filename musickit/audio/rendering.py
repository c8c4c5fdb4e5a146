"""Rendering a score to a WAV file: FluidSynth with a General MIDI soundfont, or a plain synth.

Where the soundfont comes from, first match wins: the ``soundfont`` argument
(the recipes' ``--soundfont``), the ``MUSICKIT_SOUNDFONT`` environment
variable, Debian's ``fluid-soundfont-gm`` (``/usr/share/sounds/sf2/FluidR3_GM.sf2``).
FluidSynth is reached through pyfluidsynth (``pip install "musickit[audio]"``)
or, failing that, the ``fluidsynth`` program. Without either, or without a
soundfont, a plain synth renders the notes (sine tones with short fades, so
no click at note boundaries) and one warning line per process says how to get
real instruments.

What gives real instruments: a General MIDI soundfont (on Debian/Ubuntu
``apt install fluid-soundfont-gm``, or any ``.sf2`` named by ``--soundfont`` or
``MUSICKIT_SOUNDFONT``) AND FluidSynth: the ``fluidsynth`` program (``apt install
fluidsynth``), or pyfluidsynth (``pip install "musickit[audio]"``) with the
FluidSynth library it binds to (``apt install libfluidsynth3``).
"""

import logging
import os
import shutil
import subprocess
import tempfile

import numpy as np
import scipy.io.wavfile

from musickit.errors import UsageError
from musickit.music.midi_io import to_pretty_midi, write_midi
from musickit.utils.atomic import atomic_path

logger = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATE = 22050
FADE_SECONDS = 0.01  # the plain synth's attack and release: long enough to avoid clicks, short enough to stay crisp
_warned = set()  # the fallback warns once per process and reason, not once per WAV
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)


def find_soundfont(soundfont=None):
    """The soundfont path to use, or ``None``; a named one that does not exist is an error."""
    for candidate in (soundfont, os.environ.get("MUSICKIT_SOUNDFONT")):
        if candidate:
            if not os.path.isfile(candidate):
                raise UsageError(f"soundfont {candidate} does not exist; pass an existing .sf2 file")
            return candidate
    return next((path for path in SOUNDFONT_CANDIDATES if os.path.isfile(path)), None)


def render(score, path, soundfont=None, sample_rate=DEFAULT_SAMPLE_RATE):
    """Render ``score`` to a 16-bit mono WAV at ``path`` (atomically); return the method used.

    The method is ``"fluidsynth"`` or ``"synth"`` (the plain fallback).

    Example:

    >>> from musickit.music.score import Note, Score
    >>> render(Score(notes=[Note(69, 100, 0.0, 0.5)]), "/tmp/a440.wav")  # doctest: +SKIP
    'fluidsynth'
    """
    audio, method = render_audio(score, soundfont, sample_rate)
    write_wav(audio, path, sample_rate)
    return method


def render_audio(score, soundfont=None, sample_rate=DEFAULT_SAMPLE_RATE):
    """``(audio, method)``: ``score`` as float32 mono samples (not normalised) and ``"fluidsynth"`` or ``"synth"``.

    The same choice of renderer as :func:`render`, without writing a file.

    Example:

    >>> from musickit.music.score import Note, Score
    >>> audio, method = render_audio(Score(notes=[Note(69, 100, 0.0, 0.5)]), sample_rate=8000)  # doctest: +SKIP
    """
    soundfont_path = find_soundfont(soundfont)
    audio, method = None, "synth"
    if soundfont_path:
        audio = _render_with_pyfluidsynth(score, soundfont_path, sample_rate)
        if audio is None:
            audio = _render_with_fluidsynth_program(score, soundfont_path, sample_rate)
        if audio is not None:
            method = "fluidsynth"
    if audio is None:
        reason = "no soundfont found" if not soundfont_path else "FluidSynth is not installed"
        if reason not in _warned:
            _warned.add(reason)
            logger.warning(
                "%s; rendering WAV files with a plain synth (for real instruments install the fluidsynth "
                "program and fluid-soundfont-gm, or set MUSICKIT_SOUNDFONT to a .sf2 file)",
                reason,
            )
        audio = synthesize(score, sample_rate)
    return np.asarray(audio, dtype="float32"), method


def synthesize(score, sample_rate=DEFAULT_SAMPLE_RATE, fade_seconds=FADE_SECONDS):
    """A plain sine-tone rendering of ``score`` (drums left out) with short linear fades at every note's ends.

    Example:

    >>> from musickit.music.score import Note, Score
    >>> audio = synthesize(Score(notes=[Note(69, 100, 0.0, 0.5)]), sample_rate=8000)
    >>> len(audio), float(abs(audio[0])) < 1e-6
    (4000, True)
    """
    notes = [note for note in score.notes if not note.is_drum and note.end > note.start]
    length = int(round(max((note.end for note in notes), default=0.0) * sample_rate))
    audio = np.zeros(length, dtype="float64")
    for note in notes:
        start = int(round(note.start * sample_rate))
        stop = min(max(int(round(note.end * sample_rate)), start + 1), length)
        count = stop - start
        if count <= 0:
            continue
        time = np.arange(count) / sample_rate
        frequency = 440.0 * 2.0 ** ((note.pitch - 69) / 12.0)
        envelope = np.ones(count)
        fade = min(int(fade_seconds * sample_rate), count // 2)
        if fade > 0:
            ramp = np.linspace(0.0, 1.0, fade, endpoint=False)
            envelope[:fade] = ramp
            envelope[count - fade :] = ramp[::-1]
        audio[start:stop] += np.sin(2 * np.pi * frequency * time) * envelope * (note.velocity / 127.0)
    return audio.astype("float32")


def _render_with_pyfluidsynth(score, soundfont_path, sample_rate):
    try:
        import fluidsynth  # noqa: F401  (pretty_midi imports it; checking here avoids its ImportError text)
    except (ImportError, OSError):
        return None
    try:
        return to_pretty_midi(score).fluidsynth(fs=sample_rate, sf2_path=soundfont_path)
    except Exception:  # noqa: BLE001 - a broken binding falls back to the program or the synth
        return None


def _render_with_fluidsynth_program(score, soundfont_path, sample_rate):
    program = shutil.which("fluidsynth")
    if program is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        midi_path, wav_path = os.path.join(scratch, "score.mid"), os.path.join(scratch, "score.wav")
        write_midi(score, midi_path)
        command = [program, "-ni", "-g", "0.8", "-r", str(sample_rate), "-F", wav_path, soundfont_path, midi_path]
        completed = subprocess.run(command, capture_output=True, timeout=600)
        if completed.returncode != 0 or not os.path.exists(wav_path):
            return None
        rate, audio = scipy.io.wavfile.read(wav_path)
    audio = audio.astype("float32") / 32768.0 if audio.dtype == np.int16 else audio.astype("float32")
    return audio.mean(axis=1) if audio.ndim == 2 else audio


def write_wav(audio, path, sample_rate):
    """Write ``audio`` as a 16-bit mono WAV at ``path``, atomically, peak-normalised to 0.9."""
    audio = np.asarray(audio, dtype="float32")
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0:
        audio = audio / peak * 0.9
    with atomic_path(path) as temporary:
        scipy.io.wavfile.write(temporary, sample_rate, (audio * 32767).astype(np.int16))
