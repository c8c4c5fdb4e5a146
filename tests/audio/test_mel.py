"""The log-mel convention and the Griffin-Lim vocoder, on tiny signals with known answers."""

import numpy as np

from musickit.audio.mel import (
    MelSettings,
    griffin_lim,
    log_mel_spectrogram,
    log_mel_to_magnitude,
    mel_bin_of,
    mel_filterbank,
    spectral_convergence,
    stft_magnitude,
    vocoder_round_trip,
)

SETTINGS = MelSettings()


def sine(frequency, seconds=0.5, amplitude=1.0):
    time = np.arange(int(seconds * SETTINGS.sample_rate)) / SETTINGS.sample_rate
    return amplitude * np.sin(2 * np.pi * frequency * time)


def test_a_pure_sine_peaks_in_its_own_mel_bin():
    for frequency in (220.0, 440.0, 1760.0):
        log_mel = log_mel_spectrogram(sine(frequency), SETTINGS)
        assert log_mel.shape == (64, 32)  # 8000 samples / 256 + 1 frames
        middle = log_mel[:, 16]
        assert int(middle.argmax()) == mel_bin_of(frequency, SETTINGS)
        assert middle.max() < 1.0  # a full-scale sine is not clipped
    assert 0.0 <= log_mel.min() and log_mel.max() <= 1.0


def test_silence_is_zero_and_level_does_not_matter_after_normalising():
    assert log_mel_spectrogram(np.zeros(4096), SETTINGS).max() == 0.0
    loud, quiet = log_mel_spectrogram(sine(440.0), SETTINGS), log_mel_spectrogram(sine(440.0, amplitude=0.01), SETTINGS)
    np.testing.assert_allclose(loud, quiet, atol=1e-4)


def test_filterbank_triangles_peak_at_one_and_the_pseudo_inverse_keeps_the_sine_bin():
    filters = mel_filterbank(SETTINGS)
    assert filters.shape == (513, 64)
    assert np.all(filters.max(axis=0) > 0.5) and filters.max() <= 1.0
    magnitude = log_mel_to_magnitude(log_mel_spectrogram(sine(1000.0), SETTINGS), SETTINGS)
    assert magnitude.shape == (32, 513) and magnitude.min() >= 0.0
    assert abs(int(magnitude[16].argmax()) - 1000.0 / (SETTINGS.sample_rate / SETTINGS.fft_length)) <= 3


def test_griffin_lim_converges_over_iterations():
    audio = sine(330.0) + 0.5 * sine(495.0)
    target = stft_magnitude(audio, SETTINGS)
    errors = [spectral_convergence(target, griffin_lim(target, SETTINGS, iterations=n), SETTINGS) for n in (1, 16)]
    assert errors[1] < 0.75 * errors[0], errors
    rebuilt = griffin_lim(target, SETTINGS, iterations=2)
    assert rebuilt.shape == (len(audio) // SETTINGS.hop_length * SETTINGS.hop_length,) and rebuilt.dtype == np.float32


def test_the_vocoder_round_trip_keeps_the_mels_level():
    # 20 dB quieter is 0.2 lower on the normalised scale (100 dB span): the round trip keeps that difference,
    # where analysing the vocoded audio peak-normalised again would bring both to the same level
    loud = log_mel_spectrogram(sine(440.0), SETTINGS)
    quiet = np.where(loud > 0.2, loud - 0.2, 0.0)
    loud_back, quiet_back = vocoder_round_trip(loud, SETTINGS, 8), vocoder_round_trip(quiet, SETTINGS, 8)
    peak_bin = mel_bin_of(440.0, SETTINGS)
    assert abs(float(np.median(loud_back[peak_bin] - loud[peak_bin]))) < 0.02
    assert abs(float(np.median(loud_back[peak_bin] - quiet_back[peak_bin])) - 0.2) < 0.02
