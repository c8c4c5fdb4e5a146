"""The copy head: a pointer over earlier positions, gated into the next-token distribution."""

import keras
import numpy as np

from musickit.layers.copy_head import CopyHead


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def _head(gate_bias):
    """A head of width 2 whose gate is the constant ``sigmoid(gate_bias)`` (its kernel set to zero)."""
    head = CopyHead(2, gate_bias=gate_bias)
    head.build((None, None, 2))
    head.gate.kernel.assign(np.zeros((3, 1), "float32"))
    return head


def test_nothing_to_copy_from_leaves_the_decoder_alone():
    logits = np.array([[[1.0, 2.0, 0.5]]], "float32")
    hidden = np.ones((1, 1, 2), "float32")
    head = _head(gate_bias=5.0)  # an open gate
    output = head(logits, hidden, head.keys(hidden), np.array([[1]]), np.zeros((1, 1, 1), bool))
    expected = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(_numpy(output), expected, atol=1e-4)


def test_mixture_by_hand():
    # Three positions with hidden states a, b, a; the last may copy from the first two. The projections start as
    # the identity, so its scores are a.a / sqrt(2) = 4 / 1.414 and a.b = 0: weights softmax([2.83, 0]).
    hidden = np.array([[[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]]], "float32")
    next_ids = np.array([[2, 0, 1]])  # position 0 was followed by token 2, position 1 by token 0
    allowed = np.tril(np.ones((3, 3), bool), -1)[None]
    logits = np.zeros((1, 3, 3), "float32")  # the decoder alone: uniform
    head = _head(gate_bias=0.0)  # gate 0.5
    probabilities = np.exp(_numpy(head(logits, hidden, head.keys(hidden), next_ids, allowed)))[0, 2]
    weights = np.exp([4 / np.sqrt(2), 0.0])
    weights /= weights.sum()
    expected = 0.5 * np.full(3, 1 / 3)
    expected[2] += 0.5 * weights[0]
    expected[0] += 0.5 * weights[1]
    np.testing.assert_allclose(probabilities, expected, atol=1e-4)
    # The first position has nothing before it: the decoder's distribution alone.
    first = np.exp(_numpy(head(logits, hidden, head.keys(hidden), next_ids, allowed)))[0, 0]
    np.testing.assert_allclose(first, np.full(3, 1 / 3), atol=1e-4)


def test_config_round_trip():
    head = CopyHead(8, gate_bias=-2.0, name="copy")
    clone = CopyHead.from_config(head.get_config())
    assert (clone.key_dim, clone.gate_bias, clone.name) == (8, -2.0, "copy")


def test_a_relation_adds_its_bonus_to_the_score():
    # Positions 0 and 1 look alike to position 2 (scores a.a / sqrt(2) for both); a relation marks position 1, so
    # its weight is softmax([2.83, 2.83 + 2]) with the initial bonus 2.
    hidden = np.array([[[2.0, 0.0], [2.0, 0.0], [2.0, 0.0]]], "float32")
    next_ids = np.array([[2, 0, 1]])
    allowed = np.tril(np.ones((3, 3), bool), -1)[None]
    relations = np.zeros((1, 3, 3, 1), "float32")
    relations[0, 2, 1, 0] = 1.0
    head = CopyHead(2, gate_bias=0.0, num_relations=1, relation_bonus=2.0)
    head.build((None, None, 2))
    head.gate.kernel.assign(np.zeros((4, 1), "float32"))  # hidden, best score, share on the relation
    output = head(np.zeros((1, 3, 3), "float32"), hidden, head.keys(hidden), next_ids, allowed, relations)
    probabilities = np.exp(_numpy(output))[0, 2]
    weights = np.exp([0.0, 2.0]) / np.exp([0.0, 2.0]).sum()
    expected = 0.5 * np.full(3, 1 / 3) + 0.5 * np.array([weights[1], 0.0, weights[0]])
    np.testing.assert_allclose(probabilities, expected, atol=1e-4)
