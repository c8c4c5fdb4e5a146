"""How close a rendered log-mel is to a reference one: mel L1, log-spectral distance, chroma, onsets.

Mel L1 alone misleads (the same notes with another instrument score worse
than other notes with the same instrument), so four figures are reported
side by side; all take two normalised log-mels ``(num_mels, frames)`` of
:mod:`musickit.audio.mel` (cut to the shorter one):

* ``mel_l1``: mean absolute difference on the [0, 1] scale;
* ``log_spectral_distance``: per frame, the root mean square difference in
  decibels over the mel bins, averaged over frames;
* ``chroma_cosine``: each mel filter's linear magnitude shared among the
  pitch classes of the equal-tempered pitches it passes (by its response to
  each), then the mean over frames of the cosine between the two 12-bin
  chroma vectors (frames silent in either left out);
* ``onset_f1``: onsets picked from the spectral flux of the rendered mel
  against the notes' onsets, each matched once within 50 ms.

Example:

>>> import numpy as np
>>> reference = np.random.default_rng(0).uniform(0.2, 0.8, (64, 40)).astype("float32")
>>> scores = compare_log_mels(reference, reference, MelSettings())
>>> scores["mel_l1"], scores["log_spectral_distance"], round(scores["chroma_cosine"], 6)
(0.0, 0.0, 1.0)
"""

import numpy as np

from musickit.audio.mel import MelSettings

ONSET_TOLERANCE_SECONDS = 0.05


def _cut(first, second):
    frames = min(first.shape[-1], second.shape[-1])
    return np.asarray(first[..., :frames], "float64"), np.asarray(second[..., :frames], "float64")


def mel_l1(rendered, reference):
    rendered, reference = _cut(rendered, reference)
    return float(np.abs(rendered - reference).mean())


def log_spectral_distance(rendered, reference, settings):
    rendered, reference = _cut(rendered, reference)
    difference = (rendered - reference) * settings.dynamic_range_db
    return float(np.sqrt((difference**2).mean(axis=0)).mean())


def pitch_class_weights(settings):
    """``(num_mels, 12)``: each mel filter's response to the equal-tempered pitches it passes, by pitch class."""
    from musickit.audio.mel import mel_edges

    edges = mel_edges(settings)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    pitches = np.arange(12, 120)
    frequencies = 440.0 * 2.0 ** ((pitches - 69) / 12.0)
    response = np.maximum(
        0.0, np.minimum((frequencies - lower) / (centre - lower), (upper - frequencies) / (upper - centre))
    )
    weights = np.zeros((settings.num_mels, 12))
    for column, pitch in enumerate(pitches):
        weights[:, pitch % 12] += response[:, column]
    return weights


def chroma(log_mel, settings):
    """``(12, frames)`` pitch-class energy of a normalised log-mel (C first).

    A mel filter's linear magnitude is shared among the pitch classes of the
    pitches inside it, in proportion to its response to each.
    """
    decibels = np.asarray(log_mel, "float64") * settings.dynamic_range_db + settings.reference_db
    magnitude = np.where(np.asarray(log_mel) > 0, 10.0 ** ((decibels - settings.dynamic_range_db) / 20.0), 0.0)
    return pitch_class_weights(settings).T @ magnitude


def chroma_cosine(rendered, reference, settings):
    first, second = (chroma(mel, settings) for mel in _cut(rendered, reference))
    norms = np.linalg.norm(first, axis=0) * np.linalg.norm(second, axis=0)
    sounding = norms > 1e-12
    if not sounding.any():
        return float("nan")
    return float(((first * second).sum(axis=0)[sounding] / norms[sounding]).mean())


def spectral_flux_onsets(log_mel, settings, threshold=1.5):
    """Onset times (seconds): peaks of the positive spectral flux above ``mean + threshold * std``."""
    log_mel = np.asarray(log_mel, "float64")
    flux = np.maximum(np.diff(log_mel, axis=1), 0.0).sum(axis=0)
    flux = np.concatenate([[0.0], flux])
    if not flux.any():
        return np.zeros(0)
    limit = flux.mean() + threshold * flux.std()
    peaks = [
        index
        for index in range(1, len(flux) - 1)
        if flux[index] > limit and flux[index] >= flux[index - 1] and flux[index] > flux[index + 1]
    ]
    return np.asarray(peaks, "float64") / settings.frames_per_second


def onset_f1(detected, expected, tolerance=ONSET_TOLERANCE_SECONDS):
    """F1 of ``detected`` against ``expected`` onset times, each expected onset matched at most once."""
    detected, expected = np.sort(np.asarray(detected, float)), np.sort(np.unique(np.round(expected, 3)))
    if not len(detected) and not len(expected):
        return 1.0
    used, hits = set(), 0
    for time in detected:
        candidates = [i for i in np.flatnonzero(np.abs(expected - time) <= tolerance) if i not in used]
        if candidates:
            used.add(min(candidates, key=lambda i: abs(expected[i] - time)))
            hits += 1
    precision = hits / len(detected) if len(detected) else 0.0
    recall = hits / len(expected) if len(expected) else 0.0
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)


def compare_log_mels(rendered, reference, settings=None, note_onsets=None):
    """``{"mel_l1", "log_spectral_distance", "chroma_cosine"}`` plus ``"onset_f1"`` when ``note_onsets`` is given."""
    settings = settings or MelSettings()
    scores = {
        "mel_l1": mel_l1(rendered, reference),
        "log_spectral_distance": log_spectral_distance(rendered, reference, settings),
        "chroma_cosine": chroma_cosine(rendered, reference, settings),
    }
    if note_onsets is not None:
        frames = min(np.shape(rendered)[-1], np.shape(reference)[-1])
        onsets = np.asarray(note_onsets, float)
        onsets = onsets[onsets < frames / settings.frames_per_second]
        scores["onset_f1"] = onset_f1(spectral_flux_onsets(np.asarray(rendered)[:, :frames], settings), onsets)
    return scores
