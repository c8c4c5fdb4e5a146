"""``tf.data`` pipelines that feed ``model.fit`` on every Keras backend.

All three pipelines follow one plan that keeps Python out of the hot path:

1. the encoded pieces are concatenated once into a single array (a tensor
   captured by the pipeline, not copied per element);
2. the *start index* of every window is computed once with NumPy;
3. ``tf.data`` shuffles and batches those integers, and one vectorised
   ``tf.gather`` per batch cuts all windows of the batch at once;
4. augmentation (transposition) runs on the whole batch, then ``prefetch``.

With ``deterministic=True`` (the default) the same ``seed`` gives the same
batches in the same order, epoch after epoch; each epoch still reshuffles,
reproducibly. Windows never straddle two pieces unless tokens are packed on
purpose.

Example:

>>> import numpy as np
>>> rolls = [np.eye(88, dtype="float32")[:40], np.eye(88, dtype="float32")[10:60]]
>>> dataset = piano_roll_windows(rolls, window_length=16, batch_size=4, transpose=0)
>>> inputs, targets = next(iter(dataset))
>>> tuple(inputs.shape), tuple(targets.shape)
((4, 16, 88), (4, 16, 88))
"""

import numpy as np
import tensorflow as tf

from musickit.data.augmentation import transpose_piano_rolls, transpose_token_windows
from musickit.errors import UsageError
from musickit.representations.conditions import class_ids

AUTOTUNE = tf.data.AUTOTUNE
DEFAULT_TRANSPOSE = 2


def window_starts(lengths, window_size, hop, pad_short=True, cover_tail=False):
    """Start offsets, into the concatenation of pieces of ``lengths``, of every window of ``window_size``.

    Windows advance by ``hop`` inside each piece and never cross into the
    next one. A piece shorter than a window yields one window when
    ``pad_short`` (the caller pads it), none otherwise. With ``cover_tail``
    one more, partial window covers a piece's last tokens (the caller pads
    and masks it), so nothing is left out.

    >>> window_starts([10, 3, 6], window_size=5, hop=3).tolist()
    [0, 3, 10, 13]
    >>> window_starts([10], window_size=5, hop=3, cover_tail=True).tolist()
    [0, 3, 6]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    beyond = np.maximum(lengths - window_size, 0)
    full = beyond // hop + 1
    tail = -(-beyond // hop) + 1  # ceil: the last window reaches the piece's end
    counts = np.where(lengths >= window_size, tail if cover_tail else full, 1 if pad_short or cover_tail else 0)
    counts = np.where(lengths > 0, counts, 0)
    piece = np.repeat(np.arange(len(lengths)), counts)
    # Position of each window inside its piece: 0, 1, 2, ... restarted per piece.
    first_of_piece = np.repeat(np.cumsum(counts) - counts, counts)
    within = np.arange(counts.sum()) - first_of_piece
    return offsets[piece] + within * hop


def _check_positive(**values):
    for name, value in values.items():
        if value is None or int(value) != value or value < 1:
            raise UsageError(f"{name} must be a positive whole number, got {value!r}")


def _finish(indices, batch_size, make_batch, shuffle, seed, deterministic, drop_remainder, random_stream):
    """Shuffle window indices, batch them, build batches with ``make_batch``, prefetch."""
    dataset = tf.data.Dataset.from_tensor_slices(indices)
    if shuffle:
        # Indices are small, so the buffer holds every window: a full shuffle.
        dataset = dataset.shuffle(max(len(indices), 1), seed=seed, reshuffle_each_iteration=True)
    if random_stream:
        # One reproducible random integer per window for augmentation.
        randoms = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip((dataset, randoms)).batch(batch_size, drop_remainder=drop_remainder)
    else:
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
        dataset = dataset.map(lambda indices: (indices, tf.zeros(tf.shape(indices)[:1], tf.int64)))
    dataset = dataset.map(make_batch, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    options = tf.data.Options()
    options.deterministic = deterministic
    return dataset.with_options(options).prefetch(AUTOTUNE)


def _seed(seed, deterministic):
    if seed is None and deterministic:
        return 0
    return seed


def piano_roll_windows(
    rolls,
    window_length=64,
    hop=None,
    batch_size=32,
    transpose=DEFAULT_TRANSPOSE,
    shuffle=True,
    seed=0,
    deterministic=True,
    drop_remainder=False,
):
    """Windows of piano rolls with a next-frame target at every step (many-to-many).

    For a window starting at step ``t``, inputs are frames ``t .. t+W-1`` and
    targets frames ``t+1 .. t+W``. Pieces shorter than ``W + 1`` steps are
    padded with silence to one window.

    Args:
        rolls: a list of ``(steps, keys)`` or ``(steps, keys, channels)``
            arrays (an :class:`~musickit.data.dataset.EncodedSplit` works).
        window_length: ``W``, steps per input window.
        hop: steps between window starts; default ``W // 2``.
        batch_size: windows per batch.
        transpose: largest random shift in semitones (0 turns augmentation
            off); each window's shift is clipped so no note leaves the keys.
        shuffle: shuffle windows (every epoch, reproducibly from ``seed``).
        seed: seed for shuffling and augmentation.
        deterministic: same batches in the same order for the same seed.
        drop_remainder: drop the last, smaller batch (one shape helps JAX).

    Returns:
        A ``tf.data.Dataset`` of ``(inputs, targets)``, both
        ``(batch, W, keys[, channels])`` float32.
    """
    _check_positive(window_length=window_length, batch_size=batch_size)
    hop = hop or max(window_length // 2, 1)
    _check_positive(hop=hop)
    if transpose < 0:
        raise UsageError(f"transpose must be 0 (off) or a positive number of semitones, got {transpose}")
    rolls = [np.asarray(roll, dtype=np.float32) for roll in rolls]
    if not rolls:
        raise UsageError("no piano rolls to window; is the split empty? (try more files or another seed)")
    span = window_length + 1
    # Pad short pieces with silence so each still gives one window.
    padded = [
        np.pad(roll, [(0, span - len(roll))] + [(0, 0)] * (roll.ndim - 1)) if len(roll) < span else roll
        for roll in rolls
    ]
    starts = window_starts([len(roll) for roll in padded], span, hop)
    frames = np.concatenate(padded, axis=0)
    # 0/1 rolls (no velocity) travel as uint8 and become float32 only at the end: a quarter of the bytes to move.
    compact = bool(np.all((frames == 0) | (frames == 1)))
    frames = tf.constant(frames.astype(np.uint8) if compact else frames)
    offsets = tf.range(span, dtype=tf.int64)
    seed = _seed(seed, deterministic)

    def make_batch(batch_starts, randoms):
        windows = tf.gather(frames, batch_starts[:, tf.newaxis] + offsets[tf.newaxis, :])
        if transpose:
            windows = transpose_piano_rolls(windows, randoms, max_shift=transpose)
        windows = tf.cast(windows, tf.float32)
        return windows[:, :-1], windows[:, 1:]

    return _finish(starts, batch_size, make_batch, shuffle, seed, deterministic, drop_remainder, bool(transpose))


def _special_id(tokenizer, name, fallback):
    """A special token's id from a tokenizer (attribute ``eos_id`` / ``pad_id`` or ``token_to_id``)."""
    if tokenizer is None:
        return fallback
    for attribute in (f"{name}_id", f"{name}_token_id"):
        if hasattr(tokenizer, attribute):
            return int(getattr(tokenizer, attribute))
    if hasattr(tokenizer, "token_to_id"):
        return int(tokenizer.token_to_id(name.upper()))
    return fallback


def token_windows(
    sequences,
    sequence_length=256,
    hop=None,
    batch_size=16,
    pack=True,
    eos_id=None,
    pad_id=None,
    tokenizer=None,
    transpose=0,
    pitch_token_range=None,
    shuffle=True,
    seed=0,
    deterministic=True,
    drop_remainder=False,
):
    """Windows of token ids for next-token prediction, with padding masks.

    Each piece is followed by ``eos_id``. With ``pack=True`` the pieces form
    one stream and windows run across piece boundaries (no padding except at
    the very end); with ``pack=False`` each piece is windowed on its own and
    its last window is padded with ``pad_id``.

    Args:
        sequences: a list of 1-D integer arrays.
        sequence_length: ``L``, tokens per input window.
        hop: tokens between window starts; default ``L`` (no overlap).
        eos_id, pad_id: special ids; taken from ``tokenizer`` when it has
            them (``eos_id``/``pad_id`` attributes or ``token_to_id("EOS")``).
        transpose: largest random pitch shift; 0 (the default) is off. It
            needs contiguous pitch tokens: ``pitch_token_range = (first_id,
            count)``, or a tokenizer with ``token_ids("Pitch")`` such as
            :class:`~musickit.representations.remi.REMITokenizer`. Every
            pitch token moves, drum notes included, so keep it off for drums.

    Returns:
        A ``tf.data.Dataset`` of ``({"token_ids", "padding_mask"}, targets,
        sample_weight)``: inputs and targets ``(batch, L)`` int32, the mask
        bool (True on real tokens), the weight float32 (1 where the target is
        a real token), a structure ``model.fit`` takes on every backend.
    """
    _check_positive(sequence_length=sequence_length, batch_size=batch_size)
    hop = hop or sequence_length
    _check_positive(hop=hop)
    eos_id = _special_id(tokenizer, "eos", 2) if eos_id is None else int(eos_id)
    pad_id = _special_id(tokenizer, "pad", 0) if pad_id is None else int(pad_id)
    if transpose and pitch_token_range is None and hasattr(tokenizer, "token_ids"):
        pitch_ids = tokenizer.token_ids("Pitch")  # REMI: a contiguous range of Pitch_<n> ids
        pitch_token_range = (pitch_ids.start, len(pitch_ids))
    if transpose and pitch_token_range is None:
        raise UsageError(
            "token transposition needs pitch_token_range=(first_pitch_id, number_of_pitch_ids) "
            "or a tokenizer with token_ids('Pitch'), such as REMITokenizer"
        )
    sequences = [np.asarray(sequence, dtype=np.int32).reshape(-1) for sequence in sequences]
    if not sequences:
        raise UsageError("no token sequences to window; is the split empty? (try more files or another seed)")
    pieces = [np.append(sequence, np.int32(eos_id)) for sequence in sequences]
    span = sequence_length + 1
    lengths = np.array([len(piece) for piece in pieces], dtype=np.int64)
    stream = np.concatenate(pieces)
    if pack:
        starts = window_starts([len(stream)], span, hop, cover_tail=True)
        ends = np.full(len(starts), len(stream), dtype=np.int64)
    else:
        starts = window_starts(lengths, span, hop, cover_tail=True)
        piece_ends = np.cumsum(lengths)
        ends = piece_ends[np.searchsorted(piece_ends, starts, side="right")]
    # One padding slot after the stream lets out-of-piece positions gather something harmless.
    tokens = tf.constant(np.append(stream, np.int32(pad_id)))
    stream_length = len(stream)
    offsets = tf.range(span, dtype=tf.int64)
    seed = _seed(seed, deterministic)

    def make_batch(window, randoms):
        batch_starts, batch_ends = window[:, 0], window[:, 1]
        positions = batch_starts[:, tf.newaxis] + offsets[tf.newaxis, :]
        real = positions < batch_ends[:, tf.newaxis]
        ids = tf.gather(tokens, tf.where(real, positions, stream_length))
        if transpose:
            ids = transpose_token_windows(ids, randoms, pitch_token_range[0], pitch_token_range[1], transpose)
        inputs = {"token_ids": ids[:, :-1], "padding_mask": real[:, :-1]}
        return inputs, ids[:, 1:], tf.cast(real[:, 1:], tf.float32)

    indices = np.stack([starts, ends], axis=1)
    return _finish(indices, batch_size, make_batch, shuffle, seed, deterministic, drop_remainder, bool(transpose))


def _label_ids(metadata, key, classes):
    """``(pieces,)`` int32: the index in ``classes`` of each piece's ``metadata[key]``, ``UNKNOWN_ID`` (-1) when
    absent or unknown (the convention of :mod:`musickit.representations.conditions`)."""
    return class_ids([item.get(key) for item in metadata], classes)


def section_snippet_pairs(
    split,
    styles=None,
    emotions=None,
    tempos=None,
    snippet_length=256,  # the proposal's snippet length; the CPU recipes pass 64
    max_sections=4,
    sequence_length=256,
    hop=None,
    batch_size=8,
    eos_id=None,
    pad_id=None,
    tokenizer=None,
    shuffle=True,
    seed=0,
    deterministic=True,
    drop_remainder=False,
):
    """Snippet/target pairs for the hierarchical model, from an :class:`EncodedSplit` of tokens.

    Every piece contributes its section snippets (the first
    ``snippet_length`` tokens of each marked section, A..D in order; a piece
    without markers is one section A, its opening) and windows of its own
    tokens as decoder targets; every window of a piece is paired with that
    piece's snippets and its style, emotion and tempo labels
    (``metadata["style"]``, ``["emotion"]``, ``["tempo"]``, as
    :func:`musickit.data.sections.encode_sectioned` stores them).

    Args:
        styles, emotions, tempos: the classes each label is an index into.
            ``styles`` defaults to the sorted styles of the split, so pass
            the same list for every split; ``emotions`` and ``tempos``
            default to :data:`musickit.representations.conditions.EMOTION_CLASSES`
            and :data:`~musickit.representations.conditions.TEMPO_CLASSES`.

    Returns:
        ``({"snippet_ids": (B, S, Ls), "snippet_mask": (B, S), "section_ids": (B, S),
        "style_id": (B,), "emotion_id": (B,), "tempo_id": (B,), "token_ids": (B, L),
        "padding_mask": (B, L)}, targets (B, L), sample_weight (B, L))``.
        ``section_ids`` index A=0 .. D=3 (0 where masked); ``style_id``,
        ``emotion_id`` and ``tempo_id`` (int32) index ``styles``,
        ``emotions`` and ``tempos``, ``-1`` for a piece without a known
        label. A model reads the ``"<name>_id"`` inputs of the conditions
        it was built with and ignores the others.
    """
    from musickit.representations.conditions import EMOTION_CLASSES, TEMPO_CLASSES, section_id

    _check_positive(
        snippet_length=snippet_length, max_sections=max_sections, sequence_length=sequence_length, batch_size=batch_size
    )
    if not len(split):
        raise UsageError("no pieces to pair; is the split empty? (try more files or another seed)")
    metadata = getattr(split, "metadata", None) or [{} for _ in split]
    styles = list(styles) if styles is not None else sorted({m.get("style") for m in metadata if m.get("style")})
    labels = {
        "style_id": _label_ids(metadata, "style", styles),
        "emotion_id": _label_ids(metadata, "emotion", EMOTION_CLASSES if emotions is None else list(emotions)),
        "tempo_id": _label_ids(metadata, "tempo", TEMPO_CLASSES if tempos is None else list(tempos)),
    }
    eos_id = _special_id(tokenizer, "eos", 2) if eos_id is None else int(eos_id)
    pad_id = _special_id(tokenizer, "pad", 0) if pad_id is None else int(pad_id)

    count = len(split)
    snippet_ids = np.full((count, max_sections, snippet_length), pad_id, dtype=np.int32)
    snippet_mask = np.zeros((count, max_sections), dtype=bool)
    section_ids = np.zeros((count, max_sections), dtype=np.int32)
    for piece, (sequence, item) in enumerate(zip(split, metadata)):
        sections = item.get("sections") or [("A", sequence)]
        for slot, (label, tokens) in enumerate(sections[:max_sections]):
            tokens = np.asarray(tokens, dtype=np.int32).reshape(-1)[:snippet_length]
            snippet_ids[piece, slot, : len(tokens)] = tokens
            snippet_mask[piece, slot] = True
            section_ids[piece, slot] = section_id(label)

    # Targets: each piece windowed on its own (padded at its end), as in token_windows(pack=False).
    span = sequence_length + 1
    pieces = [np.append(np.asarray(s, dtype=np.int32).reshape(-1), np.int32(eos_id)) for s in split]
    lengths = np.array([len(piece) for piece in pieces], dtype=np.int64)
    stream = np.concatenate(pieces)
    starts = window_starts(lengths, span, hop or sequence_length, cover_tail=True)
    piece_ends = np.cumsum(lengths)
    owner = np.searchsorted(piece_ends, starts, side="right")
    tables = {"snippet_ids": snippet_ids, "snippet_mask": snippet_mask, "section_ids": section_ids, **labels}
    tables = {name: tf.constant(table) for name, table in tables.items()}
    tokens = tf.constant(np.append(stream, np.int32(pad_id)))
    stream_length = len(stream)
    offsets = tf.range(span, dtype=tf.int64)

    def make_batch(window, _):
        batch_starts, batch_ends, batch_owner = window[:, 0], window[:, 1], window[:, 2]
        positions = batch_starts[:, tf.newaxis] + offsets[tf.newaxis, :]
        real = positions < batch_ends[:, tf.newaxis]
        ids = tf.gather(tokens, tf.where(real, positions, stream_length))
        inputs = {name: tf.gather(table, batch_owner) for name, table in tables.items()}
        inputs.update(token_ids=ids[:, :-1], padding_mask=real[:, :-1])
        return inputs, ids[:, 1:], tf.cast(real[:, 1:], tf.float32)

    indices = np.stack([starts, piece_ends[owner], owner], axis=1).astype(np.int64)
    seed = _seed(seed, deterministic)
    return _finish(indices, batch_size, make_batch, shuffle, seed, deterministic, drop_remainder, False)
