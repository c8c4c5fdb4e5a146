"""How the VAE-GAN's tokens count bars and beats: what the model, the segmenter and the measures share.

No Keras here: the pipeline imports it before any model is built.

Example:

>>> token_bars([7, 1, 5, 1, 5], {1: 1.0}, offset=1.0).tolist()  # token 1 is the bar token
[-1, 0, 0, 1, 1]
"""

import numpy as np

#: Performance events have no bar token; their bars are counted at this tempo (the chorales' 4/4).
PERFORMANCE_BAR_SECONDS = 2.0  # four quarters at 120 qpm


def bar_settings(tokenizer):
    """``(bar_increments, bar_offset)``: how a token advances the bar count, for the model and the segmenter."""
    if hasattr(tokenizer, "bar_id"):
        return {int(tokenizer.bar_id): 1.0}, 1.0
    start, end = tokenizer.token_ranges["TIME_SHIFT"]
    step = tokenizer.step_seconds / PERFORMANCE_BAR_SECONDS
    return {token: (index + 1) * step for index, token in enumerate(range(start, end))}, 0.0


def beat_settings(tokenizer, beats_per_bar):
    """``(beats_per_bar, marker_beats)`` for the model: REMI's ``Bar`` opens beat 0 and ``Position_p`` sets beat
    ``p * beats_per_bar // (4 * steps_per_quarter)`` (a 4/4 bar's ``beats_per_bar`` equal slots: 4 are its
    quarters, 8 its eighths); performance events have no markers, so their bar latents are read whole (1 beat)."""
    if not hasattr(tokenizer, "bar_id") or beats_per_bar <= 1:
        return 1, {}
    start, end = tokenizer.token_ranges["Position"]
    steps_per_bar = 4 * tokenizer.steps_per_quarter
    markers = {int(token): (token - start) * beats_per_bar // steps_per_bar for token in range(start, end)}
    return int(beats_per_bar), {int(tokenizer.bar_id): 0, **markers}


def token_bars(ids, increments, offset):
    """Each token's bar (numpy; -1 before the first bar), as the model counts them."""
    table = np.zeros(max(max(increments) + 1, int(np.max(ids, initial=0)) + 1), "float32")
    for token, share in increments.items():
        table[token] = share
    return np.floor(np.cumsum(table[np.asarray(ids, "int64")]) - offset + 1e-4).astype("int64")


def within_bars(ids, increments, offset, bars):
    """The tokens of ``ids`` up to the end of its first ``bars`` bars (numpy).

    A decoder trained on segments of ``bars`` bars learnt nothing past them
    (their targets are padding), so a decode is read only that far.

    >>> within_bars([1, 5, 1, 6, 1, 7, 7, 7], {1: 1.0}, offset=1.0, bars=2).tolist()
    [1, 5, 1, 6]
    """
    ids = np.asarray(ids, "int64")
    return ids[token_bars(ids, increments, offset) < bars]
