"""The render-quality measures on hand-built mels and onsets."""

import numpy as np

from musickit.audio.mel import MelSettings, log_mel_spectrogram
from musickit.audio.quality import chroma, compare_log_mels, onset_f1, spectral_flux_onsets

SETTINGS = MelSettings()


def test_onset_f1_matches_each_onset_once_within_50_ms():
    assert onset_f1([0.0, 0.52, 1.0], [0.0, 0.5, 2.0]) == 2 / 3  # 2 hits of 3 detected and 3 expected
    assert onset_f1([0.0, 0.01], [0.0]) == 2 * 0.5 * 1.0 / 1.5  # the second detection cannot reuse the onset
    assert onset_f1([0.2], [0.0]) == 0.0


def test_distances_grow_with_the_difference_and_chroma_names_the_pitch_class():
    time = np.arange(SETTINGS.sample_rate) / SETTINGS.sample_rate
    a440 = log_mel_spectrogram(np.sin(2 * np.pi * 440.0 * time), SETTINGS)
    e659 = log_mel_spectrogram(np.sin(2 * np.pi * 659.25 * time), SETTINGS)
    assert int(chroma(a440, SETTINGS)[:, 30].argmax()) == 9  # A
    same, other = compare_log_mels(a440, a440, SETTINGS), compare_log_mels(e659, a440, SETTINGS)
    assert same["mel_l1"] == 0.0 and other["mel_l1"] > 0.01
    assert other["chroma_cosine"] < 0.5 < same["chroma_cosine"]
    assert other["log_spectral_distance"] > same["log_spectral_distance"] == 0.0


def test_spectral_flux_finds_a_note_that_starts_after_silence():
    audio = np.zeros(SETTINGS.sample_rate)
    start = SETTINGS.sample_rate // 2
    audio[start:] = np.sin(2 * np.pi * 440.0 * np.arange(len(audio) - start) / SETTINGS.sample_rate)
    onsets = spectral_flux_onsets(log_mel_spectrogram(audio, SETTINGS), SETTINGS)
    assert len(onsets) >= 1 and abs(onsets[np.abs(onsets - 0.5).argmin()] - 0.5) <= 0.05
