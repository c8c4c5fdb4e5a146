"""Log-mel spectrograms and the Griffin-Lim vocoder, in ``keras.ops`` (one convention, used everywhere).

The convention (:class:`MelSettings`, the defaults):

* audio at 16 kHz, mono, peak-normalised to 0.9 before analysis;
* a Hann-windowed STFT (``keras.ops.stft``, centred) of 1024 samples every
  256 (16 ms), magnitude (not power);
* 64 triangular mel filters on the HTK scale (``mel = 2595 log10(1 + f / 700)``,
  the scale of ``keras.layers.MelSpectrogram``), 30 Hz to 8 kHz, each peaking at 1;
* decibels ``20 log10(max(mel, 1e-5))``, mapped linearly from
  [``reference_db - dynamic_range_db``, ``reference_db``] = [-40 dB, 60 dB] to [0, 1]
  and clipped: silence is 0, a full-scale low sine about 0.95 (a Hann window of 1024 samples
  sums to 512, and a narrow low filter gathers the sine's leakage into neighbouring FFT bins);
* time runs along the last axis: a log-mel is ``(num_mels, frames)``, low
  frequencies first (a window of 128 frames is 2.05 s).

Mel L1 distances in the benchmarks are means over this [0, 1] scale.

The vocoder inverts it: decibels back to magnitudes, the mel filters'
pseudo-inverse to a linear spectrogram (clipped at 0), then the fast
Griffin-Lim update (Perraudin et al. 2013: momentum 0.99, 32 iterations).

Example:

>>> import numpy as np
>>> settings = MelSettings()
>>> time = np.arange(settings.sample_rate) / settings.sample_rate
>>> log_mel = log_mel_spectrogram(np.sin(2 * np.pi * 440.0 * time), settings)
>>> log_mel.shape
(64, 63)
>>> int(log_mel[:, 30].argmax()) == mel_bin_of(440.0, settings)
True

References:
    Griffin and Lim, "Signal estimation from modified short-time Fourier transform", 1984.
    Perraudin, Balazs and Sondergaard, "A fast Griffin-Lim algorithm", 2013.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class MelSettings:
    """The log-mel convention (see the module docstring); saved in a run's ``run.json``."""

    sample_rate: int = 16000
    fft_length: int = 1024
    hop_length: int = 256
    num_mels: int = 64
    min_frequency: float = 30.0
    max_frequency: float = 8000.0
    reference_db: float = 60.0
    dynamic_range_db: float = 100.0

    @property
    def frames_per_second(self):
        return self.sample_rate / self.hop_length

    def samples_for(self, frames):
        """Audio samples whose centred STFT has ``frames`` frames."""
        return (frames - 1) * self.hop_length

    def to_dict(self):
        return dataclasses.asdict(self)


def hertz_to_mel(frequency):
    """The HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(frequency, dtype="float64") / 700.0)


def mel_to_hertz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype="float64") / 2595.0) - 1.0)


def mel_center_frequencies(settings):
    """The centre frequency in Hz of each mel filter, low to high."""
    return mel_edges(settings)[1:-1]


def mel_edges(settings):
    """The ``num_mels + 2`` filter edges in Hz, evenly spaced on the mel scale."""
    low, high = hertz_to_mel(settings.min_frequency), hertz_to_mel(settings.max_frequency)
    return mel_to_hertz(np.linspace(low, high, settings.num_mels + 2))


def mel_bin_of(frequency, settings):
    """The mel filter whose centre is closest to ``frequency`` (on the mel scale)."""
    centres = hertz_to_mel(mel_center_frequencies(settings))
    return int(np.abs(centres - hertz_to_mel(frequency)).argmin())


def mel_filterbank(settings):
    """``(fft_length // 2 + 1, num_mels)`` float32 triangles on the HTK scale, each peaking at 1."""
    bins = settings.fft_length // 2 + 1
    frequencies = np.linspace(0.0, settings.sample_rate / 2.0, bins)
    edges = mel_edges(settings)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (frequencies[None, :] - lower) / (centre - lower)
    falling = (upper - frequencies[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).T.astype("float32")


def stft_magnitude(audio, settings):
    """``|STFT|`` of ``audio`` (``(..., samples)``), ``(..., frames, fft_length // 2 + 1)``, as a backend tensor."""
    from keras import ops

    real, imaginary = ops.stft(
        ops.convert_to_tensor(audio, dtype="float32"),
        settings.fft_length,
        settings.hop_length,
        settings.fft_length,
        window="hann",
        center=True,
    )
    return ops.sqrt(real * real + imaginary * imaginary)


def magnitude_to_log_mel(magnitude, settings):
    """Linear magnitudes ``(..., frames, bins)`` -> normalised log-mel ``(..., num_mels, frames)`` (backend tensor)."""
    from keras import ops

    mel = ops.matmul(magnitude, ops.convert_to_tensor(mel_filterbank(settings)))
    decibels = 20.0 * ops.log(ops.maximum(mel, 1e-5)) / np.log(10.0)
    low = settings.reference_db - settings.dynamic_range_db
    normalised = ops.clip((decibels - low) / settings.dynamic_range_db, 0.0, 1.0)
    return ops.swapaxes(normalised, -1, -2)


def log_mel_spectrogram(audio, settings=None, normalise=True):
    """The normalised log-mel of ``audio`` (numpy in, float32 numpy ``(num_mels, frames)`` out).

    ``normalise`` scales the audio to a peak of 0.9 first (the convention).
    """
    from keras import ops

    settings = settings or MelSettings()
    audio = np.asarray(audio, dtype="float32")
    if normalise:
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        audio = audio * (0.9 / peak) if peak > 0 else audio
    return ops.convert_to_numpy(magnitude_to_log_mel(stft_magnitude(audio, settings), settings)).astype("float32")


def log_mel_to_magnitude(log_mel, settings=None):
    """Normalised log-mel ``(num_mels, frames)`` -> linear magnitude ``(frames, bins)`` by pseudo-inverse."""
    settings = settings or MelSettings()
    log_mel = np.asarray(log_mel, dtype="float64")
    decibels = log_mel * settings.dynamic_range_db + settings.reference_db - settings.dynamic_range_db
    mel = np.where(log_mel > 0, 10.0 ** (decibels / 20.0), 0.0)  # clipped silence stays silent
    inverse = np.linalg.pinv(mel_filterbank(settings).astype("float64"))  # (num_mels, bins)
    return np.maximum(mel.T @ inverse, 0.0).astype("float32")


def griffin_lim(magnitude, settings=None, iterations=32, momentum=0.99, seed=0, length=None):
    """Audio whose STFT magnitude approaches ``magnitude`` (``(frames, bins)``): the fast Griffin-Lim update.

    Each iteration projects onto consistent spectrograms (``ops.istft`` then
    ``ops.stft``) and extrapolates the phase with ``momentum`` (0: the
    original algorithm). Returns float32 numpy audio of ``length`` samples
    (default: ``(frames - 1) * hop_length``).

    Example:

    >>> import numpy as np
    >>> settings = MelSettings()
    >>> time = np.arange(8000) / 16000
    >>> target = stft_magnitude(np.sin(2 * np.pi * 330 * time), settings)
    >>> griffin_lim(target, settings, iterations=4).shape
    (7936,)
    """
    from keras import ops

    settings = settings or MelSettings()
    magnitude = ops.convert_to_tensor(magnitude, dtype="float32")
    frames = int(magnitude.shape[0])
    length = length or settings.samples_for(frames)
    phase = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi, tuple(magnitude.shape))
    angle_real = ops.convert_to_tensor(np.cos(phase), dtype="float32")
    angle_imaginary = ops.convert_to_tensor(np.sin(phase), dtype="float32")
    previous_real = previous_imaginary = ops.zeros_like(magnitude)
    stft_arguments = (settings.fft_length, settings.hop_length, settings.fft_length)
    for _ in range(iterations):
        audio = ops.istft((magnitude * angle_real, magnitude * angle_imaginary), *stft_arguments, length=length)
        rebuilt_real, rebuilt_imaginary = ops.stft(audio, *stft_arguments)
        rebuilt_real, rebuilt_imaginary = rebuilt_real[:frames], rebuilt_imaginary[:frames]
        step = momentum / (1.0 + momentum)
        angle_real = rebuilt_real - step * previous_real
        angle_imaginary = rebuilt_imaginary - step * previous_imaginary
        norm = ops.sqrt(angle_real * angle_real + angle_imaginary * angle_imaginary) + 1e-12
        angle_real, angle_imaginary = angle_real / norm, angle_imaginary / norm
        previous_real, previous_imaginary = rebuilt_real, rebuilt_imaginary
    audio = ops.istft((magnitude * angle_real, magnitude * angle_imaginary), *stft_arguments, length=length)
    return ops.convert_to_numpy(audio).astype("float32")


def log_mel_to_audio(log_mel, settings=None, iterations=32, momentum=0.99, seed=0):
    """The vocoder: normalised log-mel -> magnitude (pseudo-inverse) -> Griffin-Lim audio (float32 numpy)."""
    settings = settings or MelSettings()
    return griffin_lim(log_mel_to_magnitude(log_mel, settings), settings, iterations, momentum, seed)


def vocoder_round_trip(log_mel, settings=None, iterations=32):
    """``log_mel`` -> :func:`log_mel_to_audio` -> log-mel: what the vocoder keeps of a mel.

    The audio is analysed at the level the vocoder gave it, not peak-normalised again as a rendered file
    is: the vocoder inverts the mel at the mel's own level, and Griffin-Lim's phases leave the peaks of a
    neural mel's audio at 1.5-3.9, where real audio of the same level peaks at 0.7-0.9, so normalising the
    peak would read that crest as a level error of 4-6 dB over the whole piece (benchmarks/RESULTS.md).

    Example:

    >>> import numpy as np
    >>> settings = MelSettings()
    >>> time = np.arange(8000) / 16000
    >>> log_mel = log_mel_spectrogram(np.sin(2 * np.pi * 330 * time), settings)
    >>> float(np.abs(vocoder_round_trip(log_mel, settings, 8) - log_mel).mean()) < 0.05
    True
    """
    settings = settings or MelSettings()
    return log_mel_spectrogram(log_mel_to_audio(log_mel, settings, iterations), settings, normalise=False)


def spectral_convergence(magnitude, audio, settings=None):
    """``||magnitude - |STFT(audio)|||_F / ||magnitude||_F``: how far ``audio`` is from the target magnitude."""
    from keras import ops

    settings = settings or MelSettings()
    target = np.asarray(ops.convert_to_numpy(magnitude), dtype="float64")
    rebuilt = np.asarray(ops.convert_to_numpy(stft_magnitude(audio, settings)), dtype="float64")[: len(target)]
    return float(np.linalg.norm(target - rebuilt) / max(np.linalg.norm(target), 1e-12))
