"""The piano-roll LSTM: next-frame prediction over an 88-key multi-hot roll."""

import warnings

import keras
from keras import ops

from musickit.layers.frame_heads import AutoregressiveFrameHead

FRAME_HEADS = ("independent", "autoregressive")

_warned_about_recurrent_dropout = False


def _gpu_visible():
    """Whether the active Keras backend sees a GPU (asked of that backend only, so JAX/torch never import TensorFlow)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return any(device.platform == "gpu" for device in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    return False


def warn_if_recurrent_dropout_on_gpu(recurrent_dropout):
    """Warn once per process when ``recurrent_dropout > 0`` is asked for with a GPU visible.

    Keras runs an LSTM with cuDNN only without recurrent dropout; measured on an
    H200 (issue 12) the 2 x 512 piano-roll LSTM trains about 20 times slower on
    torch with ``recurrent_dropout=0.2`` than with 0 (2x on JAX). Regularise
    with ``dropout`` (between layers) instead.
    """
    global _warned_about_recurrent_dropout
    if recurrent_dropout and not _warned_about_recurrent_dropout and _gpu_visible():
        _warned_about_recurrent_dropout = True
        warnings.warn(
            f"recurrent_dropout={recurrent_dropout} turns off the cuDNN LSTM kernel: on a GPU training is about 20x "
            "slower (torch/TensorFlow); use recurrent_dropout=0 and regularise with dropout instead",
            stacklevel=3,
        )


@keras.saving.register_keras_serializable(package="musickit")
class PianoRollLSTM(keras.Model):
    """Stacked LSTM over piano-roll frames, predicting frame ``t+1`` from frames ``<= t``.

    Every position predicts its next frame (many-to-many), so a window of
    ``W`` frames gives ``W`` training targets. Two frame heads:

    * ``"independent"``: 88 sigmoids, the classic model (keys independent
      given the LSTM state);
    * ``"autoregressive"``: :class:`~musickit.layers.frame_heads.AutoregressiveFrameHead`,
      where key ``k`` also depends on the keys below it in the same frame, so
      chords are modelled jointly. It needs the true next frame as an input
      during training (teacher forcing).

    The model returns logits; pair it with
    :class:`~musickit.losses.piano_roll.WeightedBinaryCrossentropy`.

    Args:
        num_pitches: keys per frame.
        lstm_units: units of each LSTM layer.
        num_layers: number of stacked LSTM layers.
        dropout: input dropout of each LSTM layer.
        recurrent_dropout: recurrent dropout of each LSTM layer.
        dense_units: width of the ReLU layer between the LSTMs and the head (0 skips it).
        dense_dropout: dropout after that layer.
        head: ``"independent"`` or ``"autoregressive"``.
        head_hidden_units: hidden width of the autoregressive head.
        frame_skip: also give the head the current frame itself, next to the
            LSTM's summary, so persistence of held notes is learned at once.

    Call arguments:
        inputs: ``(batch, steps, num_pitches)`` frames, or a dict with
            ``"frames"`` and (required by the autoregressive head)
            ``"next_frames"``, the frames to predict.

    Example:

    >>> import numpy as np
    >>> model = PianoRollLSTM(lstm_units=8, num_layers=1, dense_units=8)
    >>> model(np.zeros((2, 16, 88), "float32")).shape
    (2, 16, 88)

    References:
        - [Boulanger-Lewandowski et al., 2012](https://arxiv.org/abs/1206.6392)
        - [Bai, Kolter, Koltun, 2018](https://arxiv.org/abs/1803.01271) (LSTM 8.45 on JSB)
    """

    def __init__(
        self,
        num_pitches=88,
        lstm_units=512,
        num_layers=2,
        dropout=0.3,
        recurrent_dropout=0.2,
        dense_units=256,
        dense_dropout=0.4,
        head="independent",
        head_hidden_units=256,
        frame_skip=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if head not in FRAME_HEADS:
            raise ValueError(f"head must be one of {FRAME_HEADS}, got {head!r}")
        self.num_pitches = num_pitches
        self.lstm_units = lstm_units
        self.num_layers = num_layers
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        warn_if_recurrent_dropout_on_gpu(recurrent_dropout)
        self.dense_units = dense_units
        self.dense_dropout = dense_dropout
        self.head = head
        self.head_hidden_units = head_hidden_units
        self.frame_skip = frame_skip

        self.lstm_layers = [
            keras.layers.LSTM(
                lstm_units,
                return_sequences=True,
                return_state=True,
                dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                name=f"lstm_{index}",
            )
            for index in range(num_layers)
        ]
        self.context_dense = (
            keras.layers.Dense(dense_units, activation="relu", name="context_dense") if dense_units else None
        )
        self.context_dropout = keras.layers.Dropout(dense_dropout, name="context_dropout")
        if head == "independent":
            self.frame_head = keras.layers.Dense(num_pitches, name="frame_head")
        else:
            self.frame_head = AutoregressiveFrameHead(num_pitches, head_hidden_units, name="frame_head")

    def _context(self, frames, training=None, initial_states=None):
        """Run the LSTM stack; return the per-step context and each layer's final ``[h, c]``."""
        sequence, final_states = frames, []
        for index, layer in enumerate(self.lstm_layers):
            initial = None if initial_states is None else initial_states[index]
            sequence, hidden, cell = layer(sequence, initial_state=initial, training=training)
            final_states.append([hidden, cell])
        return self._project(sequence, frames, training), final_states

    def _project(self, sequence, frames, training=None):
        if self.context_dense is not None:
            sequence = self.context_dropout(self.context_dense(sequence), training=training)
        if self.frame_skip:
            # The current frame goes straight to the head: "a key that sounds
            # now probably sounds next" is then one weight per key, learned in
            # the first steps instead of through the LSTM (what makes the per-key
            # Markov chain strong on a fine grid).
            sequence = ops.concatenate([sequence, ops.cast(frames, sequence.dtype)], axis=-1)
        return sequence

    def call(self, inputs, training=None):
        if isinstance(inputs, dict):
            frames, next_frames = inputs["frames"], inputs.get("next_frames")
        else:
            frames, next_frames = inputs, None
        context, _ = self._context(frames, training=training)
        if self.head == "independent":
            return self.frame_head(context)
        if next_frames is None:
            raise ValueError(
                "the autoregressive head needs the frames to predict: call the model with "
                '{"frames": frames, "next_frames": next_frames} (use musickit.generation to sample)'
            )
        return self.frame_head(context, next_frames)

    def dummy_inputs(self, steps=1):
        """Zero inputs of the right structure for this head, e.g. to build the model."""
        frames = ops.zeros((1, steps, self.num_pitches))
        return frames if self.head == "independent" else {"frames": frames, "next_frames": frames}

    # Stateful stepping for generation: one frame of work per step.
    def initial_states(self, batch_size):
        zeros = ops.zeros((batch_size, self.lstm_units))
        return [[zeros, zeros] for _ in self.lstm_layers]

    def step(self, frame, states):
        """Advance one frame: ``(batch, keys)`` frame in, ``(context, new_states)`` out."""
        output, new_states = frame, []
        for layer, (hidden, cell) in zip(self.lstm_layers, states):
            output, (hidden, cell) = layer.cell(output, [hidden, cell], training=False)
            new_states.append([hidden, cell])
        return self._project(output, frame, training=False), new_states

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_pitches": self.num_pitches,
                "lstm_units": self.lstm_units,
                "num_layers": self.num_layers,
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "dense_units": self.dense_units,
                "dense_dropout": self.dense_dropout,
                "head": self.head,
                "head_hidden_units": self.head_hidden_units,
                "frame_skip": self.frame_skip,
            }
        )
        return config
