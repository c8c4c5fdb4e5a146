"""Sampling piano rolls from a :class:`~musickit.models.PianoRollLSTM`, one frame at a time.

The LSTM state is carried from step to step, so each new frame costs one
LSTM step, never a re-run of the whole window. The per-step function is
compiled once per backend (the only backend-specific code here, in
:func:`_compile`).

How the controls act on a frame (the model gives each of the 88 keys a
probability of sounding):

* ``temperature`` divides every key's logit before anything else.
* ``key`` / ``scale``: keys whose pitch class is outside the scale cannot sound (a hard mask).
* ``repetition_penalty``: a key that has sounded for the last
  ``repetition_window`` frames has its logit lowered by ``log(penalty)``, a key
  held for fewer frames proportionally less; it breaks drones and stuck notes.
* ``top_k`` (independent head): only the ``k`` most probable keys of the
  frame may sound. Autoregressive head: at most ``k`` keys sound, drawn from
  low to high.
* ``top_p`` (independent head): keys are sorted by probability and only the
  smallest set holding ``top_p`` of the frame's total probability may sound.
  Autoregressive head: nucleus sampling on each key's own two outcomes (when
  the likelier outcome has probability ``>= top_p`` it is taken outright).
* ``max_polyphony``: at most this many keys sound (the most probable ones).
"""

import dataclasses
import math

import keras
import numpy as np
from keras import ops

from musickit.errors import UsageError
from musickit.music.keys import SCALES, scale_pitch_classes

MASKED_LOGIT = -1e9


@dataclasses.dataclass
class FrameSamplingConfig:
    """Sampling controls; :meth:`validate` turns impossible values into one-line errors.

    >>> FrameSamplingConfig(top_p=1.5).validate()
    Traceback (most recent call last):
    ...
    musickit.errors.UsageError: --top-p must be in (0, 1], got 1.5
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    key: str = None
    scale: str = None
    repetition_penalty: float = 1.0
    repetition_window: int = 16
    max_polyphony: int = 0

    def validate(self):
        if not self.temperature > 0:
            raise UsageError(f"--temperature must be > 0, got {self.temperature}")
        if self.top_k < 0:
            raise UsageError(f"--top-k must be >= 0 (0 turns it off), got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise UsageError(f"--top-p must be in (0, 1], got {self.top_p}")
        if self.repetition_penalty < 1:
            raise UsageError(f"--repetition-penalty must be >= 1 (1 turns it off), got {self.repetition_penalty}")
        if self.scale is not None and self.scale not in SCALES:
            raise UsageError(f"--scale must be one of {', '.join(SCALES)}, got {self.scale!r}")
        if self.scale is not None or self.key is not None:
            try:
                scale_pitch_classes(self.key or "C", self.scale)
            except ValueError as error:
                raise UsageError(f"--key: {error}") from None
        if self.max_polyphony < 0:
            raise UsageError(f"--max-polyphony must be >= 0 (0 turns it off), got {self.max_polyphony}")
        return self

    def key_mask_bias(self, num_pitches, lowest_pitch):
        """``(num_pitches,)`` logit bias: 0 for keys in the scale, a large negative value outside."""
        if self.key is None and self.scale is None:
            return np.zeros(num_pitches, "float32")
        allowed = scale_pitch_classes(self.key or "C", self.scale or ("major" if self.key is None else None))
        pitch_classes = (np.arange(num_pitches) + lowest_pitch) % 12
        return np.where(np.isin(pitch_classes, sorted(allowed)), 0.0, MASKED_LOGIT).astype("float32")


def sample_independent_frame(logits, uniform_noise, temperature=1.0, top_k=0, top_p=1.0, max_keys=0):
    """Sample a ``(batch, keys)`` frame of independent Bernoullis with the controls above.

    >>> import numpy as np
    >>> logits = np.array([[4.0, 3.0, -4.0]], "float32")
    >>> np.asarray(sample_independent_frame(logits, np.full((1, 3), 0.5, "float32"), top_k=1))
    array([[1., 0., 0.]], dtype=float32)
    """
    probability = ops.sigmoid(ops.convert_to_tensor(logits, "float32") / temperature)
    keys = probability.shape[-1]
    if top_k and top_k < keys:
        probability = probability * _largest_mask(probability, top_k)
    if top_p < 1.0:
        descending = ops.flip(ops.sort(probability, axis=-1), axis=-1)
        total = ops.maximum(ops.sum(descending, axis=-1, keepdims=True), 1e-12)
        mass_before = (ops.cumsum(descending, axis=-1) - descending) / total
        threshold = ops.min(ops.where(mass_before < top_p, descending, 2.0), axis=-1, keepdims=True)
        probability = ops.where(probability >= threshold, probability, 0.0)
    frame = ops.cast(ops.convert_to_tensor(uniform_noise, "float32") < probability, "float32")
    if max_keys and max_keys < keys:
        frame = frame * _largest_mask(ops.where(frame > 0, probability, -1.0), max_keys)
    return frame


def _largest_mask(values, count):
    """1.0 at the ``count`` largest entries of each row (ties broken by position), else 0.0."""
    _, indices = ops.top_k(values, count)
    return ops.minimum(ops.sum(ops.one_hot(indices, values.shape[-1], dtype="float32"), axis=-2), 1.0)


class PianoRollSampler:
    """Generates continuations of a primer with a trained :class:`PianoRollLSTM`.

    Args:
        model: a ``PianoRollLSTM``.
        config: a :class:`FrameSamplingConfig`.
        lowest_pitch: MIDI pitch of key 0 (21 for an 88-key roll), for the key mask.

    Example:

    >>> import numpy as np
    >>> from musickit.models.piano_roll_lstm import PianoRollLSTM
    >>> sampler = PianoRollSampler(PianoRollLSTM(lstm_units=8, num_layers=1, dense_units=0))
    >>> sampler.generate(np.zeros((4, 88), "float32"), num_steps=8, seed=1).shape
    (1, 12, 88)
    """

    def __init__(self, model, config=None, lowest_pitch=21):
        self.model = model
        self.config = (config or FrameSamplingConfig()).validate()
        self.lowest_pitch = lowest_pitch
        if not model.built:  # weights must exist before the step is traced
            model(model.dummy_inputs())
        self._prime = _compile(self._prime_loop)
        self._generate = _compile(self._generation_loop)

    def _step_function(self, frame, states, held, uniform_noise, key_bias):
        """One frame: advance the LSTM on ``frame``, sample the next one."""
        context, states = self.model.step(frame, states)
        config = self.config
        window = float(max(config.repetition_window, 1))
        bias = key_bias - math.log(config.repetition_penalty) * ops.minimum(held, window) / window
        if self.model.head == "independent":
            logits = self.model.frame_head(context) + bias
            next_frame = sample_independent_frame(
                logits, uniform_noise, config.temperature, config.top_k, config.top_p, config.max_polyphony
            )
        else:
            limits = [value for value in (config.top_k, config.max_polyphony) if value]
            next_frame = self.model.frame_head.sample(
                context,
                uniform_noise,
                logit_bias=bias,
                temperature=config.temperature,
                top_p=config.top_p,
                max_keys=min(limits) if limits else None,
            )
        held = (held + 1.0) * next_frame
        return next_frame, states, held

    def _prime_loop(self, frames, states):
        """Advance the LSTM over ``(steps, batch, keys)`` frames; return the states."""

        def body(step, states):
            return self.model.step(ops.take(frames, step, axis=0), states)[1]

        return ops.fori_loop(0, ops.shape(frames)[0], body, states)

    def _generation_loop(self, frame, states, held, uniform_noise, key_bias):
        """Sample ``uniform_noise.shape[0]`` frames in one compiled loop: ``(steps, batch, keys)``."""
        generated = ops.zeros(ops.shape(uniform_noise), dtype=frame.dtype)

        def body(step, carry):
            frame, states, held, generated = carry
            frame, states, held = self._step_function(
                frame, states, held, ops.take(uniform_noise, step, axis=0), key_bias
            )
            generated = ops.slice_update(generated, (step, 0, 0), ops.expand_dims(frame, 0))
            return frame, states, held, generated

        return ops.fori_loop(0, ops.shape(uniform_noise)[0], body, (frame, states, held, generated))[3]

    def generate(self, primer, num_steps, num_samples=1, seed=None):
        """Continue ``primer`` (``(steps, keys)``, at least one frame) by ``num_steps`` frames.

        Returns ``(num_samples, primer_steps + num_steps, keys)`` float32 0/1
        rolls. The same ``seed`` gives the same rolls.
        """
        primer = np.asarray(primer, "float32")
        if primer.ndim != 2 or len(primer) < 1 or primer.shape[1] != self.model.num_pitches:
            raise UsageError(f"the primer must be (steps >= 1, {self.model.num_pitches}) frames, got {primer.shape}")
        keys = self.model.num_pitches
        random = np.random.default_rng(seed)
        batch = np.repeat(primer[None], num_samples, axis=0)
        # Prime on all frames but the last, which is the first input of the
        # generation loop. Both loops run compiled, one step per frame.
        states = self.model.initial_states(num_samples)
        if len(primer) > 1:
            states = self._prime(ops.convert_to_tensor(np.swapaxes(batch[:, :-1], 0, 1)), states)
        frame = ops.convert_to_tensor(batch[:, -1])
        held = ops.convert_to_tensor(_held_lengths(batch))
        key_bias = ops.convert_to_tensor(
            np.repeat(self.config.key_mask_bias(keys, self.lowest_pitch)[None], num_samples, axis=0)
        )
        if num_steps < 1:
            return batch
        # All the randomness up front, from NumPy: the same seed gives the same
        # frames on every backend.
        noise = ops.convert_to_tensor(random.random((num_steps, num_samples, keys), dtype=np.float32))
        generated = ops.convert_to_numpy(self._generate(frame, states, held, noise, key_bias))
        return np.concatenate([batch, np.swapaxes(generated, 0, 1)], axis=1).astype("float32")


def _held_lengths(rolls):
    """How many frames each key has been sounding at the end of each roll: ``(batch, keys)``."""
    held = np.zeros(rolls.shape[::2], "float32")
    for step in range(rolls.shape[1]):
        held = (held + 1.0) * (rolls[:, step] > 0.5)
    return held


def _compile(function):
    """Compile a sampling loop for the current backend (weights are read at trace time).

    Backend-specific on purpose: JAX and TensorFlow trace the loop once per
    shape and run it without returning to Python between frames; PyTorch
    runs eagerly without autograd.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(function)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, reduce_retracing=True)
    if backend == "torch":
        import torch

        def without_autograd(*args):
            with torch.no_grad():
                return function(*args)

        return without_autograd
    return function
