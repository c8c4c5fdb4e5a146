"""Training helpers for :class:`~musickit.models.PianoRollLSTM`, shared by the family pipeline,
the polyphonic benchmark and the tuner.

Two ways to feed the model: windows from :func:`musickit.data.piano_roll_windows`
(long pieces on a 16th grid) or whole padded sequences with a frame mask
(:func:`sequence_dataset`, the benchmark protocol, where every frame ``1..T-1``
of every piece is predicted from the piece's true start).
"""

import numpy as np
import tensorflow as tf

from musickit.data.augmentation import transpose_piano_rolls
from musickit.losses.piano_roll import WeightedBinaryCrossentropy
from musickit.metrics.likelihood import FrameNegativeLogLikelihood
from musickit.training.optimizers import OptimizerSettings, build_optimizer


def pad_rolls(rolls):
    """Pad rolls to one length: ``(inputs, targets, weights)`` for next-frame prediction.

    ``weights[i, t]`` is 1 where ``targets[i, t]`` is a real frame (frames
    ``1..T-1`` of piece ``i``), 0 on padding.

    >>> import numpy as np
    >>> inputs, targets, weights = pad_rolls([np.ones((3, 2)), np.ones((2, 2))])
    >>> inputs.shape, weights.tolist()
    ((2, 2, 2), [[1.0, 1.0], [1.0, 0.0]])
    """
    longest = max(len(roll) for roll in rolls)
    keys = np.asarray(rolls[0]).shape[1]
    padded = np.zeros((len(rolls), longest, keys), "float32")
    weights = np.zeros((len(rolls), longest - 1), "float32")
    for index, roll in enumerate(rolls):
        padded[index, : len(roll)] = roll
        weights[index, : len(roll) - 1] = 1.0
    return padded[:, :-1], padded[:, 1:], weights


def for_head(head, inputs, targets, *rest):
    """Arrange a batch for ``head``: the autoregressive head also takes the targets as input."""
    if head == "autoregressive":
        return ({"frames": inputs, "next_frames": targets}, targets, *rest)
    return (inputs, targets, *rest)


def flatten_frames(rolls):
    """``(..., keys, channels)`` rolls as ``(..., keys * channels)``, channels of one key side by side.

    A roll with an onset channel becomes the flat ``(sustain, onset)`` bit
    pairs that :class:`~musickit.models.PianoRollLSTM` with ``frame_channels=2``
    reads; :func:`unflatten_frames` undoes it.

    >>> import numpy as np
    >>> flatten_frames(np.arange(8).reshape(1, 2, 2, 2))[0].tolist()
    [[0, 1, 2, 3], [4, 5, 6, 7]]
    """
    rolls = np.asarray(rolls)
    return rolls.reshape(rolls.shape[:-2] + (-1,))


def unflatten_frames(rolls, channels):
    """Undo :func:`flatten_frames`: ``(..., keys * channels)`` back to ``(..., keys, channels)``."""
    rolls = np.asarray(rolls)
    return rolls.reshape(rolls.shape[:-1] + (-1, channels)) if channels > 1 else rolls


def adapt_windows(dataset, head, frame_channels=1):
    """Map a ``(inputs, targets)`` window dataset to what a model with ``head`` takes.

    With ``frame_channels=2`` the ``(batch, steps, keys, 2)`` windows of a roll
    with an onset channel are flattened to ``(batch, steps, 2 * keys)``.
    Windows must start at a bar line for a model with a metre input (the
    windows of :func:`musickit.data.piano_roll_windows` start at multiples of
    their hop, so a hop that is a multiple of the bar keeps them there).
    """

    def arrange(inputs, targets):
        if frame_channels > 1:
            shape = tf.shape(inputs)
            inputs = tf.reshape(inputs, [shape[0], shape[1], -1])
            targets = tf.reshape(targets, [shape[0], shape[1], -1])
        return for_head(head, inputs, targets)

    return dataset.map(arrange)


def sequence_dataset(rolls, head, batch_size=16, transpose=0, shuffle=True, seed=0, length_multiple=32):
    """Whole pieces with frame weights, batched by similar length; optional transposition.

    Pieces are bucketed by length and each batch is padded only to its bucket
    boundary (a multiple of ``length_multiple``), so short chorales are not
    padded to the longest one: on JSB this computes about half the frames
    that padding everything to one length would, and a handful of batch
    shapes keeps compiled backends from retracing every step.

    Yields ``(model_inputs, targets, weights)`` batches for ``model.fit``.
    """
    rolls = [np.asarray(roll, "float32") for roll in rolls]
    keys = rolls[0].shape[1]
    longest = max(len(roll) for roll in rolls)
    boundaries = list(range(length_multiple + 1, longest + length_multiple + 1, length_multiple))

    def pieces():
        for roll in rolls:
            yield roll, np.int32(len(roll))

    signature = (tf.TensorSpec((None, keys), tf.float32), tf.TensorSpec((), tf.int32))
    dataset = tf.data.Dataset.from_generator(pieces, output_signature=signature).cache()
    if shuffle:
        dataset = dataset.shuffle(len(rolls), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.bucket_by_sequence_length(
        lambda roll, length: length,
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        pad_to_bucket_boundary=True,
    )
    if transpose:
        randoms = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(batch_size)
        dataset = tf.data.Dataset.zip((dataset, randoms)).map(lambda pair, random: (*pair, random))
    else:
        dataset = dataset.map(lambda batch, lengths: (batch, lengths, tf.zeros_like(lengths, tf.int64)))

    def arrange(batch, lengths, randoms):
        if transpose:
            batch = transpose_piano_rolls(batch, randoms[: tf.shape(batch)[0]], max_shift=transpose)
        # Fill a bucket's last, smaller batch with empty rows (weight 0): one
        # batch size per bucket means one compiled step per bucket.
        missing = batch_size - tf.shape(batch)[0]
        batch = tf.pad(batch, [[0, missing], [0, 0], [0, 0]])
        lengths = tf.pad(lengths, [[0, missing]])
        steps = tf.range(tf.shape(batch)[1] - 1)
        weights = tf.cast(steps[tf.newaxis, :] < lengths[:, tf.newaxis] - 1, tf.float32)
        return for_head(head, batch[:, :-1], batch[:, 1:], weights)

    return dataset.map(arrange, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def compile_model(model, learning_rate=1e-3, positive_weight=1.0, clipnorm=1.0):
    """Build ``model``, then compile it with Adam, weighted BCE and the ``nll`` metric.

    ``positive_weight=1`` trains on the exact NLL. ``nll`` is a *weighted*
    metric so that padding frames (weight 0) do not count. The model is built
    here because ``BackupAndRestore`` needs weights before ``fit``.
    """
    if not model.built:
        model(model.dummy_inputs())
    model.compile(
        optimizer=build_optimizer(OptimizerSettings(learning_rate, clipnorm=clipnorm, algorithm="adam")),
        loss=WeightedBinaryCrossentropy(positive_weight),
        weighted_metrics=[FrameNegativeLogLikelihood(name="nll", from_logits=True)],
    )
    return model


def sequence_negative_log_likelihood(model, rolls, batch_size=32):
    """Mean NLL in nats per frame, summed over keys, over frames ``1..T-1`` of every roll.

    The Boulanger-Lewandowski protocol: each piece is read from its start, so
    the first frame is context only. Rolls with an onset channel are
    flattened (the NLL then counts sustain and onset bits).
    """
    rolls = [flatten_frames(roll) if np.ndim(roll) == 3 else roll for roll in rolls]
    inputs, targets, weights = pad_rolls(rolls)
    model_inputs, _, _ = for_head(model.head, inputs, targets, weights)
    logits = np.asarray(model.predict(model_inputs, batch_size=batch_size, verbose=0), "float64")
    per_key = np.maximum(logits, 0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))
    return float((per_key.sum(-1) * weights).sum() / weights.sum())
