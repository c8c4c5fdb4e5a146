"""Rendering MIDI to audio (FluidSynth, with a plain-synth fallback)."""

from musickit.audio.rendering import find_soundfont, render

__all__ = ["find_soundfont", "render"]
