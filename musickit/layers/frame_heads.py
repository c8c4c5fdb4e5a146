"""Output heads that turn a context vector into a distribution over one piano-roll frame."""

import keras
import numpy as np
from keras import ops

from musickit.music.intervals import CLASH_INTERVALS


@keras.saving.register_keras_serializable(package="musickit")
class AutoregressiveFrameHead(keras.layers.Layer):
    """A MADE-style head: key ``k``'s probability depends on the context and the keys below it.

    The classic piano-roll model treats the 88 keys of a frame as independent
    Bernoullis, so it cannot say "C and E together, or neither". This head
    factorises the frame as ``p(frame) = prod_k p(key_k | keys_<k, context)``,
    like NADE (Larochelle & Murray 2011) in the RNN-NADE of
    Boulanger-Lewandowski et al. (2012), but computes all 88 conditionals in one
    pass with masked weights (MADE, Germain et al. 2015): hidden unit ``h`` has
    a degree ``m(h)`` in ``1..K-1``, sees keys ``j < m(h)`` and feeds keys
    ``k >= m(h)``. A direct strictly-lower-triangular key-to-key connection
    adds the pairwise (chord) terms.

    Training is teacher-forced: the true frame is an input. Sampling draws the
    keys from low to high, keeping the hidden pre-activation up to date in
    O(hidden_units) per key (:meth:`sample`).

    Args:
        num_pitches: number of keys in a frame (88 for the piano).
        hidden_units: width of the masked hidden layer.

    Call arguments:
        context: ``(batch, steps, features)`` or ``(batch, features)``.
        frame: the true frame(s) being predicted, same leading shape with
            ``num_pitches`` last; only keys below each key are used for it.

    Returns:
        Logits of every key, shape of ``frame``.

    Example:

    >>> import numpy as np
    >>> head = AutoregressiveFrameHead(num_pitches=4, hidden_units=8)
    >>> head(np.zeros((2, 3, 5), "float32"), np.zeros((2, 3, 4), "float32")).shape
    (2, 3, 4)

    References:
        - [Germain et al., 2015](https://arxiv.org/abs/1502.03509) (MADE)
        - [Boulanger-Lewandowski et al., 2012](https://arxiv.org/abs/1206.6392)
    """

    def __init__(self, num_pitches=88, hidden_units=256, **kwargs):
        super().__init__(**kwargs)
        self.num_pitches = num_pitches
        self.hidden_units = hidden_units

    def build(self, context_shape, frame_shape=None):
        keys, hidden, features = self.num_pitches, self.hidden_units, context_shape[-1]
        self.input_kernel = self.add_weight(name="input_kernel", shape=(keys, hidden), initializer="glorot_uniform")
        self.context_kernel = self.add_weight(
            name="context_kernel", shape=(features, hidden), initializer="glorot_uniform"
        )
        self.hidden_bias = self.add_weight(name="hidden_bias", shape=(hidden,), initializer="zeros")
        self.output_kernel = self.add_weight(name="output_kernel", shape=(hidden, keys), initializer="glorot_uniform")
        self.direct_kernel = self.add_weight(name="direct_kernel", shape=(keys, keys), initializer="zeros")
        self.context_output_kernel = self.add_weight(
            name="context_output_kernel", shape=(features, keys), initializer="glorot_uniform"
        )
        self.output_bias = self.add_weight(name="output_bias", shape=(keys,), initializer="zeros")

        # Masks follow from the degrees alone, so they are numpy constants, not weights.
        key_index = np.arange(keys)
        hidden_degree = np.arange(hidden) % max(keys - 1, 1) + 1
        self._input_mask = (key_index[:, None] < hidden_degree[None, :]).astype("float32")
        self._output_mask = (hidden_degree[:, None] <= key_index[None, :]).astype("float32")
        self._direct_mask = (key_index[:, None] < key_index[None, :]).astype("float32")

    def _masked(self):
        return (
            self.input_kernel * ops.cast(self._input_mask, self.input_kernel.dtype),
            self.output_kernel * ops.cast(self._output_mask, self.output_kernel.dtype),
            self.direct_kernel * ops.cast(self._direct_mask, self.direct_kernel.dtype),
        )

    def call(self, context, frame):
        input_kernel, output_kernel, direct_kernel = self._masked()
        frame = ops.cast(frame, context.dtype)
        hidden = ops.relu(ops.matmul(frame, input_kernel) + ops.matmul(context, self.context_kernel) + self.hidden_bias)
        return (
            ops.matmul(hidden, output_kernel)
            + ops.matmul(frame, direct_kernel)
            + ops.matmul(context, self.context_output_kernel)
            + self.output_bias
        )

    def sample(
        self,
        context,
        uniform_noise,
        logit_bias=None,
        process_logit=None,
        top_p=1.0,
        max_keys=None,
        channels=1,
        previous_sustain=None,
        clash_penalty=0.0,
    ):
        """Draw one frame per row of ``context`` (``(batch, features)``), keys low to high.

        Args:
            context: ``(batch, features)`` context vectors.
            uniform_noise: ``(batch, num_pitches)`` uniform [0, 1) numbers; a
                key sounds when its noise is below its probability, so the
                same noise gives the same frame.
            logit_bias: ``(batch, num_pitches)`` added to each key's logit
                (key masks use a large negative value, the repetition penalty
                ``-log(penalty)``).
            process_logit: optional function applied to each key's ``(batch,)``
                logit after ``logit_bias``, before the sigmoid: the sampler's
                temperature (:meth:`musickit.generation.sampling_config.SamplingConfig.temper`).
            top_p: nucleus sampling on each key's two outcomes (sound or not):
                when the likelier outcome has probability ``>= top_p`` it is
                taken without sampling. ``1.0`` samples every key.
            max_keys: at most this many keys sound; once reached, the keys above are silent.
            channels: ``2`` when the frame is ``(sustain, onset)`` pairs, key by
                key (a ``(keys, 2)`` piano roll flattened): only sustain bits
                count towards ``max_keys``, an onset bit is 0 where its key is
                silent and 1 where its key starts sounding (it did not sound
                in ``previous_sustain``), and is sampled only for a key that
                keeps sounding (hold or re-strike). Later keys see these
                consistent bits.
            previous_sustain: ``(batch, num_pitches // channels)`` keys that
                sounded in the previous frame (needed with ``channels=2``).
            clash_penalty: logit taken from a key with a key a minor second
                or ninth below (:data:`~musickit.music.intervals.CLASH_INTERVALS`)
                just drawn sounding (keys are drawn low to high, so every
                clashing pair of the frame is seen once).

        Returns:
            ``(batch, num_pitches)`` float frame of 0/1.
        """
        if channels not in (1, 2):
            raise ValueError(f"channels must be 1 or 2 (sustain, onset), got {channels}")
        if channels == 2 and previous_sustain is None:
            raise ValueError("channels=2 needs previous_sustain, the keys sounding in the previous frame")
        input_kernel, output_kernel, direct_kernel = self._masked()
        batch = ops.shape(context)[0]
        keys = self.num_pitches
        pre_activation = ops.matmul(context, self.context_kernel) + self.hidden_bias
        context_logits = ops.matmul(context, self.context_output_kernel) + self.output_bias
        if logit_bias is not None:
            context_logits = context_logits + ops.cast(logit_bias, context_logits.dtype)
        frame = ops.zeros((batch, keys), dtype=context.dtype)
        limit = float(max_keys if max_keys else keys)
        sustain_bits = ops.cast(np.arange(keys) % channels == 0, frame.dtype)
        if previous_sustain is not None:
            previous_sustain = ops.cast(previous_sustain, frame.dtype)

        def body(key, state):
            frame, pre_activation = state
            one_hot = ops.one_hot(key, keys, dtype=frame.dtype)
            logit = (
                ops.sum(ops.relu(pre_activation) * ops.take(output_kernel, key, axis=1), axis=-1)
                + ops.sum(frame * ops.take(direct_kernel, key, axis=1), axis=-1)
                + ops.take(context_logits, key, axis=1)
            )
            if clash_penalty:
                below = sum(
                    ops.take(frame, ops.maximum(key - channels * interval, 0), axis=1)
                    * ops.cast(key >= channels * interval, frame.dtype)
                    for interval in CLASH_INTERVALS
                )
                logit = logit - clash_penalty * ops.minimum(below, 1.0) * ops.cast(key % channels == 0, frame.dtype)
            if process_logit is not None:
                logit = process_logit(logit)
            probability = ops.sigmoid(logit)
            noise = ops.take(uniform_noise, key, axis=1)
            likelier_is_sure = ops.maximum(probability, 1.0 - probability) >= top_p
            sampled = ops.where(likelier_is_sure, probability >= 0.5, noise < probability)
            if channels == 1:
                room = ops.sum(frame, axis=-1) < limit
                sounding = ops.cast(ops.logical_and(sampled, room), frame.dtype)
            else:
                is_onset = key % 2 == 1
                sustain_count = ops.sum(frame * sustain_bits, axis=-1)
                room = ops.logical_or(sustain_count < limit, is_onset)
                # For an onset bit: the key's sustain bit was drawn just before (index key - 1).
                key_sounds = ops.take(frame, ops.maximum(key - 1, 0), axis=1) > 0
                key_sounded = ops.take(previous_sustain, key // 2, axis=1) > 0
                onset = ops.logical_and(key_sounds, ops.logical_or(ops.logical_not(key_sounded), sampled))
                sampled = ops.where(is_onset, onset, sampled)
                sounding = ops.cast(ops.logical_and(sampled, room), frame.dtype)
            frame = frame + ops.expand_dims(sounding, -1) * one_hot
            pre_activation = pre_activation + ops.expand_dims(sounding, -1) * ops.take(input_kernel, key, axis=0)
            return frame, pre_activation

        frame, _ = ops.fori_loop(0, keys, body, (frame, pre_activation))
        return frame

    def get_config(self):
        config = super().get_config()
        config.update({"num_pitches": self.num_pitches, "hidden_units": self.hidden_units})
        return config
