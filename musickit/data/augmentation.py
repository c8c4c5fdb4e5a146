"""On-the-fly transposition of batches of windows, as ``tf`` graph ops.

A shift is drawn per window from ``[-max_shift, max_shift]`` and then
clipped to what keeps every sounding key of *that window* on the keyboard,
so augmentation never drops a note. A window whose notes span the whole
keyboard is simply not shifted.

Example:

>>> import numpy as np, tensorflow as tf
>>> windows = np.zeros((1, 2, 88), "float32"); windows[0, :, 87] = 1  # top key C8
>>> # Up is clipped to 0, so draws land in [-2, 0]: the random integer 3 picks -2 (3 mod 3 steps above -2).
>>> shifted = transpose_piano_rolls(windows, tf.constant([3], tf.int64), max_shift=2)
>>> int(np.argmax(shifted[0, 0]))
85
"""

import tensorflow as tf


def _draw_shifts(random_integers, lowest, highest, max_shift):
    """Map raw random integers to shifts in ``[max(-max_shift, lowest), min(max_shift, highest)]``."""
    low = tf.maximum(-max_shift, lowest)
    high = tf.minimum(max_shift, highest)
    width = tf.maximum(high - low + 1, 1)
    return low + tf.math.floormod(tf.cast(random_integers, tf.int64), width)


def transpose_piano_rolls(windows, random_integers, max_shift=2):
    """Shift each window of a ``(batch, steps, keys[, channels])`` roll batch along its key axis.

    Args:
        windows: the batch; axis 2 is the key axis.
        random_integers: one non-negative ``int64`` per window (from
            ``tf.data.Dataset.random``), so the draw is reproducible.
        max_shift: largest shift in semitones, up or down.
    """
    windows = tf.convert_to_tensor(windows)
    keys = tf.shape(windows)[2]
    # Which keys sound anywhere in the window (over steps and any channels).
    active = tf.reduce_any(tf.not_equal(windows, 0), axis=1)
    if active.shape.rank == 3:
        active = tf.reduce_any(active, axis=2)
    key_index = tf.range(keys, dtype=tf.int64)[tf.newaxis, :]
    keys_int64 = tf.cast(keys, tf.int64)
    lowest_active = tf.reduce_min(tf.where(active, key_index, keys_int64), axis=1)
    highest_active = tf.reduce_max(tf.where(active, key_index, -1), axis=1)
    silent = highest_active < 0
    down_limit = tf.where(silent, tf.zeros_like(lowest_active), -lowest_active)
    up_limit = tf.where(silent, tf.zeros_like(highest_active), keys_int64 - 1 - highest_active)
    shifts = _draw_shifts(random_integers, down_limit, up_limit, tf.constant(max_shift, tf.int64))
    # One whole-batch roll per possible shift, each window taking its own: for the few shifts
    # augmentation uses this beats a per-window gather along the key axis. The clip above
    # guarantees that only silent keys wrap around.
    selector_shape = tf.concat([tf.shape(shifts), tf.ones([tf.rank(windows) - 1], tf.int32)], 0)
    shifted = windows
    for shift in range(-int(max_shift), int(max_shift) + 1):
        if shift:
            chosen = tf.reshape(tf.equal(shifts, shift), selector_shape)
            shifted = tf.where(chosen, tf.roll(windows, shift, axis=2), shifted)
    return shifted


def transpose_token_windows(token_ids, random_integers, first_pitch_id, num_pitch_ids, max_shift=2):
    """Shift the pitch tokens of each ``(batch, length)`` window by one drawn interval.

    Pitch tokens must be contiguous ids ``first_pitch_id ... first_pitch_id +
    num_pitch_ids - 1`` in pitch order (as in REMI's ``Pitch_*`` tokens); other
    tokens are left alone.
    """
    token_ids = tf.convert_to_tensor(token_ids)
    ids = tf.cast(token_ids, tf.int64)
    first = tf.constant(first_pitch_id, tf.int64)
    is_pitch = (ids >= first) & (ids < first + num_pitch_ids)
    offsets = ids - first
    big = tf.constant(num_pitch_ids, tf.int64)
    lowest = tf.reduce_min(tf.where(is_pitch, offsets, big), axis=1)
    highest = tf.reduce_max(tf.where(is_pitch, offsets, -1), axis=1)
    silent = highest < 0
    down_limit = tf.where(silent, tf.zeros_like(lowest), -lowest)
    up_limit = tf.where(silent, tf.zeros_like(highest), big - 1 - highest)
    shifts = _draw_shifts(random_integers, down_limit, up_limit, tf.constant(max_shift, tf.int64))
    shifted = tf.where(is_pitch, ids + shifts[:, tf.newaxis], ids)
    return tf.cast(shifted, token_ids.dtype)
