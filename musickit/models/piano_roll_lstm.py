"""The piano-roll LSTM: next-frame prediction over an 88-key multi-hot roll."""

import warnings

import keras
from keras import ops

from musickit.layers.frame_heads import AutoregressiveFrameHead

FRAME_HEADS = ("independent", "autoregressive")

_warned_about_recurrent_dropout = False


def _gpu_visible():
    """Whether the active Keras backend sees a GPU (asked of that backend only: JAX/torch never import TensorFlow)."""
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
        frame_channels: ``1`` for a plain roll; ``2`` for a roll with an onset
            channel (:class:`~musickit.representations.PianoRoll` with
            ``onset_channel=True``), whose ``(keys, 2)`` frames arrive
            flattened to ``2 * num_pitches`` bits, ``(sustain, onset)`` key by
            key, so the autoregressive head draws a key's onset right after
            its sustain bit.
        metre_period: ``0`` for no metre input; else the LSTM and the head
            also get a one-hot of the predicted frame's position modulo this
            many steps (16: the 16th-note position in a 4/4 bar), so onsets
            can follow the beat instead of a Markov chain. A metre gate then
            adds one learned logit per position to every key that would start
            a note (and, with onsets, to every re-strike): "nothing starts on
            an off-beat 16th" is one weight learned from all 88 keys at once,
            where through the per-key weights it would take thousands of steps.

    Call arguments:
        inputs: ``(batch, steps, frame_size)`` frames, or a dict with
            ``"frames"``, (required by the autoregressive head)
            ``"next_frames"``, the frames to predict, and (optional)
            ``"positions"``, ``(batch, steps)`` integer grid positions of the
            frames to predict; without them frame ``t`` is at step ``t``, so
            the first input frame is assumed to start a bar.

    Example:

    >>> import numpy as np
    >>> model = PianoRollLSTM(lstm_units=8, num_layers=1, dense_units=8)
    >>> model(np.zeros((2, 16, 88), "float32")).shape
    (2, 16, 88)
    >>> metred = PianoRollLSTM(lstm_units=8, num_layers=1, frame_channels=2, metre_period=16, head="autoregressive")
    >>> frames = np.zeros((2, 16, 176), "float32")
    >>> metred({"frames": frames, "next_frames": frames}).shape
    (2, 16, 176)

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
        frame_channels=1,
        metre_period=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if head not in FRAME_HEADS:
            raise ValueError(f"head must be one of {FRAME_HEADS}, got {head!r}")
        if frame_channels not in (1, 2):
            raise ValueError(f"frame_channels must be 1 (sustain) or 2 (sustain, onset), got {frame_channels!r}")
        if metre_period < 0:
            raise ValueError(f"metre_period must be 0 (off) or a number of grid steps, got {metre_period!r}")
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
        self.frame_channels = frame_channels
        self.metre_period = metre_period
        self.frame_size = num_pitches * frame_channels

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
        self.metre_gate = (
            keras.layers.Dense(frame_channels, use_bias=False, kernel_initializer="zeros", name="metre_gate")
            if metre_period
            else None
        )
        if head == "independent":
            self.frame_head = keras.layers.Dense(self.frame_size, name="frame_head")
        else:
            self.frame_head = AutoregressiveFrameHead(self.frame_size, head_hidden_units, name="frame_head")

    def _metre(self, positions, dtype):
        """One-hot of ``positions % metre_period``."""
        return ops.one_hot(ops.mod(ops.cast(positions, "int32"), self.metre_period), self.metre_period, dtype=dtype)

    def _default_positions(self, frames):
        steps = ops.shape(frames)[1]
        return ops.broadcast_to(ops.arange(1, steps + 1, dtype="int32")[None, :], ops.shape(frames)[:2])

    def start_logit_bias(self, frames, metre):
        """The metre gate's logit bias for the frames after ``frames`` (``(..., frame_size)``).

        Per position: one learned value added to the sustain bit of every key
        that is silent in ``frames`` (a note would start) and, with onsets, one
        to the onset bit of every key that sounds (a re-strike).
        """
        gate = self.metre_gate(metre)  # (..., channels)
        frames = ops.cast(frames, gate.dtype)
        if self.frame_channels == 1:
            return gate * (1.0 - frames)
        shape = ops.shape(frames)
        pairs = ops.reshape(frames, tuple(shape[:-1]) + (self.num_pitches, 2))
        sounding = pairs[..., 0]
        start = ops.expand_dims(gate[..., 0], -1) * (1.0 - sounding)
        restrike = ops.expand_dims(gate[..., 1], -1) * sounding
        return ops.reshape(ops.stack([start, restrike], axis=-1), shape)

    def _context(self, frames, training=None, initial_states=None, positions=None):
        """Run the LSTM stack; return the per-step context and each layer's final ``[h, c]``."""
        metre = None
        if self.metre_period:
            positions = self._default_positions(frames) if positions is None else positions
            metre = self._metre(positions, frames.dtype)
            sequence = ops.concatenate([frames, metre], axis=-1)
        else:
            sequence = frames
        final_states = []
        for index, layer in enumerate(self.lstm_layers):
            initial = None if initial_states is None else initial_states[index]
            sequence, hidden, cell = layer(sequence, initial_state=initial, training=training)
            final_states.append([hidden, cell])
        return self._project(sequence, frames, training, metre), final_states

    def _project(self, sequence, frames, training=None, metre=None):
        if self.context_dense is not None:
            sequence = self.context_dropout(self.context_dense(sequence), training=training)
        if self.frame_skip:
            # The current frame goes straight to the head: "a key that sounds
            # now probably sounds next" is then one weight per key, learned in
            # the first steps instead of through the LSTM (what makes the per-key
            # Markov chain strong on a fine grid).
            sequence = ops.concatenate([sequence, ops.cast(frames, sequence.dtype)], axis=-1)
        if metre is not None:
            sequence = ops.concatenate([sequence, ops.cast(metre, sequence.dtype)], axis=-1)
        return sequence

    def call(self, inputs, training=None):
        positions = None
        if isinstance(inputs, dict):
            frames, next_frames, positions = inputs["frames"], inputs.get("next_frames"), inputs.get("positions")
        else:
            frames, next_frames = inputs, None
        context, _ = self._context(frames, training=training, positions=positions)
        bias = 0.0
        if self.metre_period:
            positions = self._default_positions(frames) if positions is None else positions
            bias = self.start_logit_bias(frames, self._metre(positions, context.dtype))
        if self.head == "independent":
            return self.frame_head(context) + bias
        if next_frames is None:
            raise ValueError(
                "the autoregressive head needs the frames to predict: call the model with "
                '{"frames": frames, "next_frames": next_frames} (use musickit.generation to sample)'
            )
        return self.frame_head(context, next_frames) + bias

    def dummy_inputs(self, steps=1):
        """Zero inputs of the right structure for this head, e.g. to build the model."""
        frames = ops.zeros((1, steps, self.frame_size))
        return frames if self.head == "independent" else {"frames": frames, "next_frames": frames}

    # Stateful stepping for generation: one frame of work per step.
    def initial_states(self, batch_size):
        zeros = ops.zeros((batch_size, self.lstm_units))
        return [[zeros, zeros] for _ in self.lstm_layers]

    def step(self, frame, states, position=None):
        """Advance one frame: ``(batch, frame_size)`` frame in, ``(context, new_states)`` out.

        ``position`` (an integer, with ``metre_period``) is the grid step of
        the frame to predict, one after ``frame``'s. The head's logits for
        that frame need :meth:`step_logit_bias` added.
        """
        metre = None
        if self.metre_period:
            if position is None:
                raise ValueError("a model with metre_period needs the position of the frame to predict")
            metre = ops.broadcast_to(self._metre(position, frame.dtype), (ops.shape(frame)[0], self.metre_period))
            output = ops.concatenate([frame, metre], axis=-1)
        else:
            output = frame
        new_states = []
        for layer, (hidden, cell) in zip(self.lstm_layers, states):
            output, (hidden, cell) = layer.cell(output, [hidden, cell], training=False)
            new_states.append([hidden, cell])
        return self._project(output, frame, training=False, metre=metre), new_states

    def step_logit_bias(self, frame, position):
        """The logit bias to add to the head's logits after :meth:`step` (0 without a metre input)."""
        if not self.metre_period:
            return ops.zeros(ops.shape(frame), dtype=frame.dtype)
        metre = ops.broadcast_to(self._metre(position, frame.dtype), (ops.shape(frame)[0], self.metre_period))
        return self.start_logit_bias(frame, metre)

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
                "frame_channels": self.frame_channels,
                "metre_period": self.metre_period,
            }
        )
        return config
