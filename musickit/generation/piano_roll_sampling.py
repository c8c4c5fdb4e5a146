"""Sampling piano rolls from a :class:`~musickit.models.PianoRollLSTM`, one frame at a time.

The LSTM state is carried from step to step, so each new frame costs one
LSTM step, never a re-run of the whole window. The per-step function is
compiled once per backend (through the engine's one compile path, in
:func:`compile_loop`).

How the controls act on a frame (the model gives each of the 88 keys a
probability of sounding):

* ``key`` / ``scale``: keys whose pitch class is outside the scale lose
  ``key_penalty`` from their logit (the default, ``None``, is a hard mask;
  ``2`` makes them about 7 times rarer). ``key="primer"`` estimates the
  key from the primer (Krumhansl-Schmuckler); a minor key then also allows
  the raised 6th and 7th, as tonal music does.
* ``repetition_penalty``: a key that has sounded (held or struck again) for
  the last ``repetition_window`` frames has its logit lowered by
  ``log(penalty)``, one that has sounded for twice as long by twice that, a
  key held for fewer frames proportionally less; it breaks drones and stuck notes.
* ``temperature`` then divides every key's logit, once (:meth:`SamplingConfig.temper`),
  after the biases above and before the rules below.
* ``top_k`` (independent head): only the ``k`` most probable keys of the
  frame may sound. Autoregressive head: at most ``k`` keys sound, drawn from
  low to high.
* ``top_p`` (independent head): keys are sorted by probability and only the
  smallest set holding ``top_p`` of the frame's total probability may sound.
  Autoregressive head: nucleus sampling on each key's own two outcomes (when
  the likelier outcome has probability ``>= top_p`` it is taken outright).
* ``max_polyphony``: at most this many keys sound (the most probable ones).
* ``min_voices``: at least this many keys sound (the corpus' usual voice
  count): when the sampled frame has fewer, the silent keys the model finds
  most probable are switched on, one by one (:func:`keep_voices`), so a
  voice that ends is taken up by another instead of leaving a hole. The
  model's own logits rank them; a key the model let go is struck again on
  the 8th-note grid and otherwise held as its onset bit says. A key a
  minor second or ninth from a sounding one (what the evaluator counts as a
  clash) loses ``clash_penalty`` in that ranking.
* ``clash_penalty`` (autoregressive head): a key with a key a minor second
  or ninth below just drawn sounding loses this logit.

Models with an onset channel (``frame_channels=2``) sample ``(sustain, onset)``
pairs: a key that starts sounding gets an onset, a key that keeps sounding is
held unless its onset bit re-strikes it, and only sustain bits count as
keys for the controls above. Models with a metre input are told the grid
position of every frame; the primer's first frame is at step 0 (a bar line).
"""

import math
import weakref

import keras
import numpy as np
from keras import ops

from musickit.errors import UsageError
from musickit.generation.compiling import compile_for_backend
from musickit.generation.sampling_config import SamplingConfig
from musickit.music.intervals import CLASH_INTERVALS
from musickit.music.keys import estimate_key


def sample_independent_frame(logits, uniform_noise, top_k=0, top_p=1.0, max_keys=0):
    """Sample a ``(batch, keys)`` frame of independent Bernoullis from tempered ``logits`` with the rules above.

    >>> import numpy as np
    >>> logits = np.array([[4.0, 3.0, -4.0]], "float32")
    >>> np.asarray(sample_independent_frame(logits, np.full((1, 3), 0.5, "float32"), top_k=1))
    array([[1., 0., 0.]], dtype=float32)
    """
    probability = ops.sigmoid(ops.convert_to_tensor(logits, "float32"))
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


def keep_voices(sustain, logits, min_voices, clash_penalty=0.0, blocked=None):
    """Switch on silent keys of ``sustain`` (``(batch, keys)`` 0/1), most probable first, until ``min_voices`` sound.

    ``logits`` (``(batch, keys)``, tempered, biases included) rank the silent
    keys; a key a minor second or ninth from a sounding key (or from one
    switched on just before) loses ``clash_penalty`` in the ranking, and a key where
    ``blocked`` (optional ``(batch, keys)`` 0/1) is 1 is never switched on.
    Rows that already sound ``min_voices`` keys are unchanged; nothing is
    switched off.

    >>> import numpy as np
    >>> sustain = np.array([[1.0, 0.0, 0.0, 0.0, 0.0]], "float32")
    >>> logits = np.array([[0.0, 3.0, 2.0, -1.0, 0.5]], "float32")
    >>> np.asarray(keep_voices(sustain, logits, 3)).tolist()  # keys 1 and 2, the two most probable
    [[1.0, 1.0, 1.0, 0.0, 0.0]]
    >>> np.asarray(keep_voices(sustain, logits, 3, clash_penalty=10.0)).tolist()  # 1 clashes with 0; then 4, not 3
    [[1.0, 0.0, 1.0, 0.0, 1.0]]
    >>> np.asarray(keep_voices(sustain, logits, 3, blocked=np.array([[0, 1, 0, 0, 0]]))).tolist()  # not key 1
    [[1.0, 0.0, 1.0, 0.0, 1.0]]
    """
    sustain = ops.cast(ops.convert_to_tensor(sustain), "float32")
    logits = ops.cast(ops.convert_to_tensor(logits), "float32")
    keys = sustain.shape[-1]
    for _ in range(int(min_voices)):  # one key a round: a key switched on changes its neighbours' clash
        score = logits - clash_penalty * _clash_neighbours(sustain)
        score = ops.where(sustain > 0, -1e9, score)
        if blocked is not None:
            score = ops.where(blocked > 0, -1e9, score)
        best = ops.one_hot(ops.argmax(score, axis=-1), keys, dtype="float32")
        short = ops.cast(ops.sum(sustain, axis=-1, keepdims=True) < min_voices, "float32")
        sustain = ops.minimum(sustain + short * best, 1.0)
    return sustain


def _clash_neighbours(sustain):
    """1.0 at each key a clash interval (:data:`~musickit.music.intervals.CLASH_INTERVALS`) from a sounding key."""
    keys = sustain.shape[-1]
    neighbours = ops.zeros_like(sustain)
    for interval in CLASH_INTERVALS:
        if interval >= keys:
            continue
        zeros = ops.zeros_like(sustain[:, :interval])
        above = ops.concatenate([sustain[:, interval:], zeros], axis=1)  # key k sees key k + interval
        below = ops.concatenate([zeros, sustain[:, :-interval]], axis=1)  # and key k - interval
        neighbours = neighbours + above + below
    return ops.minimum(neighbours, 1.0)


def _largest_mask(values, count):
    """1.0 at the ``count`` largest entries of each row (ties broken by position), else 0.0."""
    _, indices = ops.top_k(values, count)
    return ops.minimum(ops.sum(ops.one_hot(indices, values.shape[-1], dtype="float32"), axis=-2), 1.0)


class PianoRollSampler:
    """Generates continuations of a primer with a trained :class:`PianoRollLSTM`.

    Args:
        model: a ``PianoRollLSTM``.
        config: a :class:`~musickit.generation.sampling_config.SamplingConfig`.
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
        self.config = (config or SamplingConfig()).validate()
        self.lowest_pitch = lowest_pitch
        if not model.built:  # weights must exist before the step is traced
            model(model.dummy_inputs())
        self._prime, self._generate = self._compiled_loops()

    def _compiled_loops(self):
        """``(prime, generate)`` compiled for this model and configuration, shared by every sampler of the pair.

        TensorFlow reads variables when a compiled function runs, so one pair per
        (model, configuration) serves every later sampler (a recipe's per-epoch
        samples trace once, not once per call, and never warn of retracing).
        JAX bakes the weights into a compiled function as constants, so there
        each sampler compiles its own and sees the current weights.
        """
        if keras.backend.backend() != "tensorflow":
            return compile_loop(self._prime_loop), compile_loop(self._generation_loop)
        by_config = _COMPILED_LOOPS.setdefault(self.model, {})
        if self.config not in by_config:
            loops = _WeakModelLoops(self.model, self.config)  # holds the model weakly: the entry goes with it
            by_config[self.config] = (compile_loop(loops._prime_loop), compile_loop(loops._generation_loop))
        return by_config[self.config]

    def _step_function(self, frame, states, held, uniform_noise, key_bias, position):
        """One frame: advance the LSTM on ``frame`` (flat bits), sample the next one (at ``position``)."""
        context, states = self.model.step(frame, states, position)
        config = self.config
        channels = self.model.frame_channels
        window = float(max(config.repetition_window, 1))
        # Uncapped: a key sounding for two windows loses twice as much, so a drone ends however sure the model is.
        penalty = math.log(config.repetition_penalty) * held / window  # (batch, keys)
        if channels == 2:  # the penalty lowers the sustain bit only
            penalty = ops.reshape(ops.stack([penalty, ops.zeros_like(penalty)], axis=-1), ops.shape(key_bias))
        bias = key_bias - penalty + self.model.step_logit_bias(frame, position)
        limits = [value for value in (config.top_k, config.max_polyphony) if value]  # caps on keys at once
        if self.model.head == "independent":
            logits = config.temper(self.model.frame_head(context) + bias)
            if channels == 1:
                next_frame = sample_independent_frame(
                    logits, uniform_noise, config.top_k, config.top_p, config.max_polyphony
                )
            else:
                next_frame = _sample_independent_pairs(logits, uniform_noise, _sustain(frame), config)
        else:
            next_frame = self.model.frame_head.sample(
                context,
                uniform_noise,
                logit_bias=bias,
                process_logit=config.temper,
                top_p=config.top_p,
                max_keys=min(limits) if limits else None,
                channels=channels,
                previous_sustain=_sustain(frame) if channels == 2 else None,
                clash_penalty=config.clash_penalty,
            )
        voice_floor = min([config.voice_floor, *limits]) if config.min_voices else 0
        if voice_floor:
            independent = self.model.head == "independent"

            def frame_logits(sampled):  # the autoregressive head's conditionals, given the keys below as sampled
                return logits if independent else config.temper(self.model.frame_head(context, sampled) + bias)

            on_eighths = ops.cast(ops.mod(position, 2) == 0, "float32")  # the grid's strong half: not an off-beat 16th
            # With a repetition penalty, the floor never brings back a key that has sounded for a whole window:
            # the model may keep it (against the growing penalty), but a voice the floor fills in moves.
            blocked = ops.cast(held >= window, "float32") if config.repetition_penalty > 1 else None
            next_frame = _keep_frame_voices(
                next_frame,
                frame_logits,
                frame,
                uniform_noise,
                on_eighths,
                channels,
                voice_floor,
                config.clash_penalty,
                blocked,
            )
        held = (held + 1.0) * (_sustain(next_frame) if channels == 2 else next_frame)
        return next_frame, states, held

    def _prime_loop(self, frames, states):
        """Advance the LSTM over ``(steps, batch, bits)`` frames (the first at step 0); return the states."""

        def body(step, states):
            return self.model.step(ops.take(frames, step, axis=0), states, step + 1)[1]

        return ops.fori_loop(0, ops.shape(frames)[0], body, states)

    def _generation_loop(self, frame, states, held, uniform_noise, key_bias, first_position):
        """Sample ``uniform_noise.shape[0]`` frames in one compiled loop: ``(steps, batch, bits)``."""
        generated = ops.zeros(ops.shape(uniform_noise), dtype=frame.dtype)

        def body(step, carry):
            frame, states, held, generated = carry
            frame, states, held = self._step_function(
                frame, states, held, ops.take(uniform_noise, step, axis=0), key_bias, first_position + step
            )
            generated = ops.slice_update(generated, (step, 0, 0), ops.expand_dims(frame, 0))
            return frame, states, held, generated

        return ops.fori_loop(0, ops.shape(uniform_noise)[0], body, (frame, states, held, generated))[3]

    def primer_key(self, primer):
        """The key estimated from a ``(steps, keys[, 2])`` primer roll, e.g. ``"G major"``."""
        from musickit.representations.piano_roll import PianoRoll

        channels = self.model.frame_channels
        representation = PianoRoll(
            lowest_pitch=self.lowest_pitch, num_pitches=self.model.num_pitches, onset_channel=channels == 2
        )
        return estimate_key(representation.decode(primer))

    def generate(self, primer, num_steps, num_samples=1, seed=None):
        """Continue ``primer`` (``(steps, keys)``, or ``(steps, keys, 2)`` with onsets) by ``num_steps`` frames.

        Returns ``(num_samples, primer_steps + num_steps) + primer.shape[1:]``
        float32 0/1 rolls. The same ``seed`` gives the same rolls.
        """
        primer = np.asarray(primer, "float32")
        keys, channels = self.model.num_pitches, self.model.frame_channels
        expected = (keys,) if channels == 1 else (keys, channels)
        if primer.ndim != len(expected) + 1 or len(primer) < 1 or primer.shape[1:] != expected:
            shape = ", ".join(map(str, expected))
            raise UsageError(f"the primer must be (steps >= 1, {shape}) frames for this model, got {primer.shape}")
        primer_key = self.primer_key(primer) if self.config.key_from_prompt else None
        sustain = primer[..., 0] if channels == 2 else primer
        primer = primer.reshape(len(primer), -1)
        bits = primer.shape[1]
        random = np.random.default_rng(seed)
        batch = np.repeat(primer[None], num_samples, axis=0)
        # Prime on all frames but the last, which is the first input of the
        # generation loop. Both loops run compiled, one step per frame.
        states = self.model.initial_states(num_samples)
        if len(primer) > 1:
            states = self._prime(ops.convert_to_tensor(np.swapaxes(batch[:, :-1], 0, 1)), states)
        frame = ops.convert_to_tensor(batch[:, -1])
        held = ops.convert_to_tensor(_held_lengths(np.repeat(sustain[None], num_samples, axis=0)))
        key_bias = np.repeat(self.config.key_mask_bias(keys, self.lowest_pitch, primer_key), channels)
        key_bias = ops.convert_to_tensor(np.repeat(key_bias[None], num_samples, axis=0))
        shape = (num_samples, -1) + expected
        if num_steps < 1:
            return batch.reshape(shape)
        # All the randomness up front, from NumPy: the same seed gives the same
        # frames on every backend.
        noise = ops.convert_to_tensor(random.random((num_steps, num_samples, bits), dtype=np.float32))
        first_position = ops.convert_to_tensor(np.int32(len(primer)))
        generated = ops.convert_to_numpy(self._generate(frame, states, held, noise, key_bias, first_position))
        rolls = np.concatenate([batch, np.swapaxes(generated, 0, 1)], axis=1).astype("float32")
        return rolls.reshape(shape)


# model -> {SamplingConfig: (prime, generate)} on TensorFlow; an entry goes with its model.
_COMPILED_LOOPS = weakref.WeakKeyDictionary()


class _WeakModelLoops(PianoRollSampler):
    """The sampling loops of a (model, configuration) pair, holding the model weakly (for ``_COMPILED_LOOPS``)."""

    def __init__(self, model, config):  # no super().__init__: nothing to build or compile here
        self._model_reference = weakref.ref(model)
        self.config = config

    @property
    def model(self):
        return self._model_reference()


def _sustain(frame):
    """The sustain bits of flat ``(batch, 2 * keys)`` (sustain, onset) pairs: ``(batch, keys)``."""
    return ops.reshape(frame, (ops.shape(frame)[0], -1, 2))[..., 0]


def _keep_frame_voices(
    next_frame, frame_logits, frame, uniform_noise, strong_step, channels, voice_floor, clash_penalty, blocked=None
):
    """:func:`keep_voices` on a flat frame (``frame_logits(frame) -> logits``: the head's, given that frame).

    With onsets, a key switched on that did not sound in ``frame`` starts a
    note. One that did (the model ended it) is struck again on a
    ``strong_step`` (1.0: the 8th-note grid; a voice moves there), and on an
    off-beat 16th held or struck as the model's onset bit says, given that
    the key sounds (the chorales rarely start notes there).
    """
    if channels == 1:
        return keep_voices(next_frame, frame_logits(next_frame), voice_floor, clash_penalty, blocked)
    batch = ops.shape(next_frame)[0]

    def pairs(flat):
        return ops.reshape(flat, (batch, -1, 2))

    sampled = pairs(next_frame)
    sustain = keep_voices(sampled[..., 0], pairs(frame_logits(next_frame))[..., 0], voice_floor, clash_penalty, blocked)
    added = sustain - sampled[..., 0]
    sounded = ops.cast(_sustain(frame), "float32")
    onset = sampled[..., 1] + added * (1.0 - sounded)  # a new key: a new note
    held_frame = ops.reshape(ops.stack([sustain, onset], axis=-1), (batch, -1))
    restrike = ops.cast(pairs(uniform_noise)[..., 1] < ops.sigmoid(pairs(frame_logits(held_frame))[..., 1]), "float32")
    onset = onset + added * sounded * ops.maximum(restrike, strong_step)
    return ops.reshape(ops.stack([sustain, onset], axis=-1), (batch, -1))


def _sample_independent_pairs(logits, uniform_noise, previous_sustain, config):
    """Independent-head sampling of (sustain, onset) pairs from tempered logits; the controls act on sustain bits."""
    batch = ops.shape(logits)[0]
    logits = ops.reshape(logits, (batch, -1, 2))
    noise = ops.reshape(ops.convert_to_tensor(uniform_noise), (batch, -1, 2))
    sustain = sample_independent_frame(logits[..., 0], noise[..., 0], config.top_k, config.top_p, config.max_polyphony)
    restrike = ops.cast(noise[..., 1] < ops.sigmoid(logits[..., 1]), sustain.dtype)
    onset = sustain * ops.maximum(1.0 - ops.cast(previous_sustain, sustain.dtype), restrike)
    return ops.reshape(ops.stack([sustain, onset], axis=-1), (batch, -1))


def _held_lengths(rolls):
    """How many frames each key has been sounding at the end of each roll: ``(batch, keys)``."""
    held = np.zeros(rolls.shape[::2], "float32")
    for step in range(rolls.shape[1]):
        held = (held + 1.0) * (rolls[:, step] > 0.5)
    return held


def compile_loop(function):
    """Compile a sampling loop for the current backend (weights are read at trace time).

    Through the engine's one compile path (:func:`musickit.generation.compiling.compile_for_backend`):
    JAX and TensorFlow trace the loop once per shape and run it without returning to Python between
    frames (on TensorFlow one trace per input shape, not shapes relaxed to None: the steps need the
    number of keys); PyTorch runs eagerly without autograd.
    """
    return compile_for_backend(function, jit_compile=False)
