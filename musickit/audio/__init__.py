"""Audio: rendering MIDI to WAV (FluidSynth, with a plain-synth fallback), log-mel spectrograms, Griffin-Lim."""

from musickit.audio.mel import MelSettings, log_mel_spectrogram, log_mel_to_audio
from musickit.audio.rendering import find_soundfont, render, render_audio, write_wav

__all__ = [
    "MelSettings",
    "find_soundfont",
    "log_mel_spectrogram",
    "log_mel_to_audio",
    "render",
    "render_audio",
    "write_wav",
]
