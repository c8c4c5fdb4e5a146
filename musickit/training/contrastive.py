"""Contrastive pre-training of the snippet encoder: augmented views of REMI snippets and a Keras model to fit.

Two views of one snippet differ by what should not change its identity: a
transposition, a little tempo and velocity jitter, and a few notes dropped.
The encoder learns to map both views close together and away from every
other snippet in the batch (:class:`~musickit.losses.contrastive.NTXentLoss`).

Views are made on REMI token ids directly (no re-tokenisation): Pitch,
Velocity and Tempo ids are contiguous families, so shifting an id within its
family is transposing, changing velocity or tempo; dropping a note removes
its ``Pitch Velocity Duration`` triple.

Example:

>>> import numpy as np
>>> from musickit.representations.remi import REMITokenizer
>>> from musickit.music.score import Note, Score
>>> tokenizer = REMITokenizer()
>>> ids = tokenizer.encode(Score(notes=[Note(60 + i, 80, i * 0.5, i * 0.5 + 0.5) for i in range(4)]))
>>> view = augment_snippet(ids, tokenizer, np.random.default_rng(0), transpose=0, velocity_jitter=0,
...                        tempo_jitter=0, note_dropout=0.0)
>>> bool((view == ids).all())
True
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from musickit.errors import UsageError
from musickit.losses.contrastive import NTXentLoss, RetrievalAccuracy
from musickit.models.snippet_classifier import SnippetEncoderModel
from musickit.training.optimizers import OptimizerSettings, build_optimizer


def augment_snippet(ids, tokenizer, rng, transpose=3, velocity_jitter=2, tempo_jitter=2, note_dropout=0.1):
    """One augmented view of REMI ``ids`` (a NumPy int32 array, possibly shorter: notes may be dropped).

    Args:
        transpose: largest shift in semitones (clipped to keep every pitch in range).
        velocity_jitter: largest change of each note's velocity bin.
        tempo_jitter: largest change of the tempo bins (one draw per view).
        note_dropout: probability of dropping each note (one note always stays).
    """
    ids = np.asarray(ids, dtype=np.int64).copy()
    ranges = tokenizer.token_ranges
    pitch_start, pitch_stop = ranges["Pitch"]
    velocity_start, velocity_stop = ranges["Velocity"]
    tempo_start, tempo_stop = ranges["Tempo"]
    is_pitch = (ids >= pitch_start) & (ids < pitch_stop)
    if transpose and is_pitch.any():
        low = max(-transpose, pitch_start - ids[is_pitch].min())
        high = min(transpose, pitch_stop - 1 - ids[is_pitch].max())
        ids[is_pitch] += rng.integers(low, high + 1)
    is_velocity = (ids >= velocity_start) & (ids < velocity_stop)
    if velocity_jitter and is_velocity.any():
        jitter = rng.integers(-velocity_jitter, velocity_jitter + 1, size=int(is_velocity.sum()))
        ids[is_velocity] = np.clip(ids[is_velocity] + jitter, velocity_start, velocity_stop - 1)
    is_tempo = (ids >= tempo_start) & (ids < tempo_stop)
    if tempo_jitter and is_tempo.any():
        ids[is_tempo] = np.clip(
            ids[is_tempo] + rng.integers(-tempo_jitter, tempo_jitter + 1), tempo_start, tempo_stop - 1
        )
    pitch_positions = np.flatnonzero(is_pitch)
    if note_dropout and len(pitch_positions) > 1:
        dropped = pitch_positions[rng.random(len(pitch_positions)) < note_dropout]
        if len(dropped) == len(pitch_positions):
            dropped = dropped[1:]
        # A note is Pitch [Velocity] [Duration]: drop the pitch and the velocity/duration right after it.
        remove = np.zeros(len(ids), bool)
        duration_start, duration_stop = ranges["Duration"]
        for position in dropped:
            remove[position] = True
            for follower in (position + 1, position + 2):
                if follower < len(ids) and (
                    velocity_start <= ids[follower] < velocity_stop or duration_start <= ids[follower] < duration_stop
                ):
                    remove[follower] = True
        ids = ids[~remove]
    return ids.astype(np.int32)


def contrastive_views(snippets, tokenizer, snippet_length, copies=1, seed=0, pad_id=0, **augmentation):
    """``(len(snippets) * copies, 2, snippet_length)`` int32: two independent views of every snippet per copy."""
    if not len(snippets):
        raise UsageError("no snippets to make contrastive views of; read more pieces")
    rng = np.random.default_rng(seed)
    views = np.full((len(snippets) * copies, 2, snippet_length), pad_id, np.int32)
    row = 0
    for _ in range(copies):
        for snippet in snippets:
            for side in range(2):
                view = augment_snippet(snippet, tokenizer, rng, **augmentation)[:snippet_length]
                views[row, side, : len(view)] = view
            row += 1
    return views


def contrastive_dataset(views, batch_size=32, seed=0):
    """A ``tf.data.Dataset`` of ``(views, dummy labels)`` for ``fit``; batches keep at least two pairs."""
    if len(views) < 2:
        raise UsageError("contrastive training needs at least two snippets (each batch must hold negatives)")
    dataset = tf.data.Dataset.from_tensor_slices((views, np.zeros(len(views), np.float32)))
    dataset = dataset.shuffle(len(views), seed=seed, reshuffle_each_iteration=True)
    # A last batch of one pair has no negatives: drop the remainder when it would be that small.
    drop = len(views) % batch_size == 1
    return dataset.batch(batch_size, drop_remainder=drop).prefetch(tf.data.AUTOTUNE)


@keras.saving.register_keras_serializable(package="musickit")
class ContrastivePretrainer(SnippetEncoderModel):
    """Wraps a :class:`~musickit.layers.snippet_encoder.SnippetEncoder` for NT-Xent training.

    Call arguments:
        views: integer ``(batch, 2, snippet_length)``.

    Returns:
        ``(batch, 2, projection_dim)`` projections of both views.

    Example:

    >>> from musickit.layers.snippet_encoder import ENCODER_PRESETS, SnippetEncoder
    >>> pretrainer = ContrastivePretrainer(SnippetEncoder(50, snippet_length=8, **ENCODER_PRESETS["tiny"]))
    >>> pretrainer.compile_for_contrast(temperature=0.2)
    >>> tuple(pretrainer(np.ones((4, 2, 8), "int32")).shape)
    (4, 2, 32)
    """

    def call(self, views, training=None):
        first = self.encoder.project(views[:, 0, :], training=training)
        second = self.encoder.project(views[:, 1, :], training=training)
        return ops.stack([first, second], axis=1)

    def compile_for_contrast(self, temperature=0.1, learning_rate=1e-3, **kwargs):
        """Compile with :class:`NTXentLoss` at ``temperature`` and :class:`RetrievalAccuracy`."""
        self.compile(
            optimizer=build_optimizer(OptimizerSettings(learning_rate, clipnorm=None)),
            loss=NTXentLoss(temperature),
            metrics=[RetrievalAccuracy()],
            **kwargs,
        )


def pretrain_encoder(
    encoder,
    split,
    tokenizer,
    snippet_length,
    epochs=4,
    copies=4,
    temperature=0.1,
    learning_rate=1e-3,
    batch_size=32,
    seed=0,
    jit_compile="auto",
    verbose="auto",
):
    """NT-Xent pre-training of ``encoder`` on the section snippets of ``split``; returns the last epoch's figures.

    Every distinct section of every piece (``split.metadata[i]["sections"]``,
    as :func:`musickit.data.sections.encode_sectioned` stores them) gives
    ``copies`` pairs of augmented views per epoch.

    Returns:
        ``{"contrastive_loss": float, "retrieval_accuracy": float}``: the top-1
        retrieval accuracy of the positive view among the batch.
    """
    snippets = [tokens[:snippet_length] for item in split.metadata for _, tokens in item["sections"]]
    views = contrastive_views(snippets, tokenizer, snippet_length, copies=copies, seed=seed, pad_id=tokenizer.pad_id)
    pretrainer = ContrastivePretrainer(encoder)
    pretrainer.compile_for_contrast(temperature, learning_rate=learning_rate, jit_compile=jit_compile)
    history = pretrainer.fit(
        contrastive_dataset(views, batch_size=batch_size, seed=seed), epochs=epochs, verbose=verbose, shuffle=False
    )
    return {
        "contrastive_loss": float(history.history["loss"][-1]),
        "retrieval_accuracy": float(history.history["retrieval_accuracy"][-1]),
    }
