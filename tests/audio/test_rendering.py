"""Audio rendering: FluidSynth when a soundfont is found, a plain synth with one warning otherwise."""

import logging

import numpy as np
import pytest
import scipy.io.wavfile
from conftest import make_score

from musickit.audio import rendering
from musickit.errors import UsageError


def test_fallback_synth_writes_audio_and_warns_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(rendering, "SOUNDFONT_CANDIDATES", ())
    monkeypatch.setattr(rendering, "_warned", set())
    monkeypatch.delenv("MUSICKIT_SOUNDFONT", raising=False)
    with caplog.at_level(logging.WARNING):
        method = rendering.render(make_score([(69, 100, 0.0, 0.5)]), tmp_path / "a.wav", sample_rate=8000)
    assert method == "synth"
    assert len(caplog.records) == 1 and "plain synth" in caplog.records[0].message
    rate, audio = scipy.io.wavfile.read(tmp_path / "a.wav")
    assert rate == 8000 and len(audio) >= 4000 and np.abs(audio).max() > 0


def test_the_fallback_warns_once_per_process_and_fades_every_note(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(rendering, "SOUNDFONT_CANDIDATES", ())
    monkeypatch.setattr(rendering, "_warned", set())
    monkeypatch.delenv("MUSICKIT_SOUNDFONT", raising=False)
    score = make_score([(69, 127, 0.0, 0.5), (76, 127, 0.5, 1.0)])
    with caplog.at_level(logging.WARNING):
        for name in ("a.wav", "b.wav", "c.wav"):
            rendering.render(score, tmp_path / name, sample_rate=8000)
    assert len(caplog.records) == 1  # one warning for three WAV files
    audio = rendering.synthesize(score, sample_rate=8000)
    assert len(audio) == 8000
    # A hard cut would jump by up to the full amplitude (1.0) at 0, 4000 and 8000; the fades start and end at 0.
    for boundary in (0, 3999, 4000, 7999):
        assert abs(audio[boundary]) < 0.01, boundary
    fade = int(rendering.FADE_SECONDS * 8000)
    assert np.abs(audio[fade : 4000 - fade]).max() > 0.9  # full loudness between the fades


def test_a_named_soundfont_must_exist(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        rendering.find_soundfont(str(tmp_path / "missing.sf2"))


@pytest.mark.skipif(rendering.find_soundfont() is None, reason="no General MIDI soundfont installed here")
def test_fluidsynth_renders_with_the_installed_soundfont(tmp_path):
    method = rendering.render(make_score([(60, 100, 0.0, 0.5)]), tmp_path / "c.wav")
    if method != "fluidsynth":
        pytest.skip("a soundfont is installed but neither pyfluidsynth nor the fluidsynth program is")
    _, audio = scipy.io.wavfile.read(tmp_path / "c.wav")
    assert np.abs(audio).max() > 1000
