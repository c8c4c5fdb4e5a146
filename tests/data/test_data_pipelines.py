import keras
import numpy as np
import pytest

from musickit.data.dataset import EncodedSplit
from musickit.data.pipelines import piano_roll_windows, section_snippet_pairs, token_windows, window_starts
from musickit.errors import UsageError


def as_numpy(dataset):
    return [keras.tree.map_structure(lambda tensor: tensor.numpy(), batch) for batch in dataset]


def numbered_roll(steps, key=0):
    """A roll whose step ``t`` sounds key ``key`` plus ``t % 40`` keys above it: every frame is different."""
    roll = np.zeros((steps, 88), dtype=np.float32)
    for step in range(steps):
        roll[step, key : key + 1 + step % 40] = 1
    return roll


def test_window_starts_stay_inside_each_piece():
    assert window_starts([10, 3, 6], window_size=5, hop=3).tolist() == [0, 3, 10, 13]
    assert window_starts([10, 3, 6], window_size=5, hop=3, pad_short=False).tolist() == [0, 3, 13]
    assert window_starts([0, 5], window_size=5, hop=1).tolist() == [0]


def test_piano_roll_targets_are_the_next_frame_at_every_step():
    rolls = [numbered_roll(20), numbered_roll(13, key=5)]
    batches = as_numpy(piano_roll_windows(rolls, window_length=8, hop=4, batch_size=3, transpose=0, shuffle=False))
    inputs = np.concatenate([batch[0] for batch in batches])
    targets = np.concatenate([batch[1] for batch in batches])
    # Starts 0, 4, 8 in the first piece (needs 9 frames each), then 0 and 4 in the second.
    assert inputs.shape == targets.shape == (5, 8, 88)
    expected_starts = [(0, 0), (0, 4), (0, 8), (1, 0), (1, 4)]
    for window, (piece, start) in enumerate(expected_starts):
        np.testing.assert_array_equal(inputs[window], rolls[piece][start : start + 8])
        np.testing.assert_array_equal(targets[window], rolls[piece][start + 1 : start + 9])


def test_short_pieces_are_padded_with_silence():
    (batch,) = as_numpy(piano_roll_windows([numbered_roll(3)], window_length=6, transpose=0, shuffle=False))
    inputs, targets = batch
    np.testing.assert_array_equal(inputs[0, :3], numbered_roll(3))
    assert not inputs[0, 3:].any() and not targets[0, 2:].any()


def test_transposition_keeps_notes_on_the_keyboard_and_shifts_whole_windows():
    roll = np.zeros((40, 88), dtype=np.float32)
    roll[:, 86] = 1  # next to the top key: at most one semitone up
    roll[::2, 80] = 1
    dataset = piano_roll_windows([roll] * 8, window_length=8, hop=8, batch_size=64, transpose=3, seed=1)
    inputs, targets = as_numpy(dataset)[0]
    windows = np.concatenate([inputs, targets[:, -1:]], axis=1)
    shifts = set()
    for window in windows:
        columns = np.nonzero(window.any(axis=0))[0]
        assert window.sum() == roll[:9].sum()  # no note lost
        shift = int(columns.max()) - 86
        shifts.add(shift)
        np.testing.assert_array_equal(window, np.roll(roll[:9], shift, axis=1))
    assert shifts == {-3, -2, -1, 0, 1}


def test_same_seed_same_batches_and_epochs_differ():
    rolls = [numbered_roll(50), numbered_roll(37, key=9)]
    make = lambda seed: piano_roll_windows(rolls, window_length=8, hop=2, batch_size=4, seed=seed)  # noqa: E731
    dataset = make(5)
    first, again = as_numpy(dataset), as_numpy(make(5))
    for one, other in zip(first, again):
        np.testing.assert_array_equal(one[0], other[0])
        np.testing.assert_array_equal(one[1], other[1])
    second_epoch = as_numpy(dataset)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, second_epoch))
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, as_numpy(make(6))))


def test_bad_window_settings_are_usage_errors():
    with pytest.raises(UsageError, match="window_length"):
        piano_roll_windows([numbered_roll(4)], window_length=0)
    with pytest.raises(UsageError, match="split empty"):
        piano_roll_windows([], window_length=4)
    with pytest.raises(UsageError, match="pitch_token_range"):
        token_windows([np.arange(5)], sequence_length=4, transpose=2)


def test_packed_token_windows_put_eos_between_pieces():
    pieces = [np.array([10, 11, 12]), np.array([20, 21])]
    (batch,) = as_numpy(token_windows(pieces, sequence_length=4, batch_size=8, eos_id=2, pad_id=0, shuffle=False))
    inputs, targets, weights = batch
    # Stream: 10 11 12 EOS 20 21 EOS; windows of 5 tokens every 4.
    np.testing.assert_array_equal(inputs["token_ids"], [[10, 11, 12, 2], [20, 21, 2, 0]])
    np.testing.assert_array_equal(targets, [[11, 12, 2, 20], [21, 2, 0, 0]])
    np.testing.assert_array_equal(inputs["padding_mask"], [[1, 1, 1, 1], [1, 1, 1, 0]])
    np.testing.assert_array_equal(weights, [[1, 1, 1, 1], [1, 1, 0, 0]])


def test_unpacked_token_windows_pad_each_piece():
    pieces = [np.array([10, 11, 12]), np.array([20, 21])]
    (batch,) = as_numpy(
        token_windows(pieces, sequence_length=4, batch_size=8, pack=False, eos_id=2, pad_id=0, shuffle=False)
    )
    inputs, targets, weights = batch
    np.testing.assert_array_equal(inputs["token_ids"], [[10, 11, 12, 2], [20, 21, 2, 0]])
    np.testing.assert_array_equal(targets, [[11, 12, 2, 0], [21, 2, 0, 0]])
    np.testing.assert_array_equal(weights, [[1, 1, 1, 0], [1, 1, 0, 0]])


def test_token_transposition_moves_only_pitch_tokens_within_their_range():
    # Pitch tokens are ids 100..187 (MIDI 21..108); 5 and 7 are other tokens.
    piece = np.array([5, 100 + 39, 7, 100 + 43, 5, 100 + 86])  # C4, E4, B7 (one below the top)
    dataset = token_windows(
        [piece] * 64,
        sequence_length=6,
        batch_size=64,
        pack=False,
        eos_id=2,
        pad_id=0,
        transpose=4,
        pitch_token_range=(100, 88),
        seed=3,
    )
    ((inputs, _, _),) = as_numpy(dataset)
    shifts = set()
    for ids in inputs["token_ids"]:
        shift = int(ids[1]) - 139
        shifts.add(shift)
        np.testing.assert_array_equal(ids, [5, 139 + shift, 7, 143 + shift, 5, 186 + shift])
    assert shifts == {-4, -3, -2, -1, 0, 1}


def test_section_snippet_pairs_pair_every_window_with_its_pieces_snippets():
    split = EncodedSplit(
        [np.arange(10, 20), np.arange(30, 33)],
        [
            {"style": "folk", "sections": [("A", np.array([10, 11, 12])), ("B", np.array([15, 16]))]},
            {"style": "bach", "sections": []},
        ],
    )
    dataset = section_snippet_pairs(
        split, snippet_length=2, max_sections=3, sequence_length=6, batch_size=8, eos_id=2, pad_id=0, shuffle=False
    )
    ((inputs, targets, weights),) = as_numpy(dataset)
    # Piece 0 has 11 tokens with EOS: windows at 0 and 6 (the second padded); piece 1 has one window.
    np.testing.assert_array_equal(inputs["token_ids"][:, :3], [[10, 11, 12], [16, 17, 18], [30, 31, 32]])
    np.testing.assert_array_equal(inputs["snippet_ids"][0], [[10, 11], [15, 16], [0, 0]])
    np.testing.assert_array_equal(inputs["snippet_ids"][2], [[30, 31], [0, 0], [0, 0]])
    np.testing.assert_array_equal(inputs["snippet_mask"], [[1, 1, 0], [1, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(inputs["section_ids"][0], [0, 1, 0])
    np.testing.assert_array_equal(inputs["style_id"], [1, 1, 0])  # styles sorted: bach, folk
    np.testing.assert_array_equal(targets[1], [17, 18, 19, 2, 0, 0])
    np.testing.assert_array_equal(weights[1], [1, 1, 1, 1, 0, 0])


def test_piano_roll_windows_feed_model_fit():
    keras.utils.set_random_seed(0)
    rolls = [numbered_roll(30), numbered_roll(25, key=20)]
    dataset = piano_roll_windows(rolls, window_length=8, batch_size=4)
    model = keras.Sequential([keras.Input((8, 88)), keras.layers.Dense(88, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(dataset, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


def test_token_windows_feed_model_fit_with_masks_and_weights():
    keras.utils.set_random_seed(0)
    token_ids = keras.Input((6,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((6,), dtype="bool", name="padding_mask")
    embedded = keras.layers.Embedding(40, 8)(token_ids)
    # The mask zeroes padded positions, so the model really consumes both inputs.
    embedded = embedded * keras.ops.expand_dims(keras.ops.cast(padding_mask, "float32"), -1)
    logits = keras.layers.Dense(40)(embedded)
    model = keras.Model({"token_ids": token_ids, "padding_mask": padding_mask}, logits)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    pieces = [np.arange(3, 30), np.arange(5, 12)]
    history = model.fit(token_windows(pieces, sequence_length=6, batch_size=4), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_onset_and_velocity_rolls_keep_their_channels_and_values():
    roll = np.zeros((12, 88, 2), dtype=np.float32)
    roll[:, 40, 0] = 0.5  # a velocity roll: values other than 0/1 stay float
    roll[0, 40, 1] = 0.5
    dataset = piano_roll_windows([roll] * 8, window_length=4, hop=4, batch_size=16, transpose=2, seed=0)
    ((inputs, targets),) = as_numpy(dataset)
    assert inputs.shape == (16, 4, 88, 2) and inputs.dtype == np.float32
    for window, target in zip(inputs, targets):
        (key,) = np.nonzero(window[..., 0].any(axis=0))[0]
        assert 38 <= key <= 42 and set(np.unique(window)) <= {0.0, 0.5}
        assert target[..., 0].any(axis=0)[key]  # targets moved by the same shift as inputs
