"""DPO loss, implicit reward and pair accuracy against values worked out by hand."""

import math

import keras
import numpy as np
import pytest

from musickit.losses.preference import (
    dpo_loss,
    implicit_reward,
    pair_accuracy,
    preference_margin,
    sequence_log_probabilities,
)


def test_dpo_loss_matches_the_hand_computed_value():
    # beta 0.1: chosen moved +2 nats from the reference, rejected -1: margin 0.1 * (2 - (-1)) = 0.3.
    losses = dpo_loss([-8.0], [-11.0], [-10.0], [-10.0], beta=0.1)
    assert float(losses[0]) == pytest.approx(-math.log(1 / (1 + math.exp(-0.3))), rel=1e-5)
    # An unmoved policy scores log 2 whatever beta; the loss falls as the margin grows.
    assert float(dpo_loss([-3.0], [-4.0], [-3.0], [-4.0], beta=0.3)[0]) == pytest.approx(math.log(2), rel=1e-6)
    assert float(dpo_loss([0.0], [-50.0], [0.0], [0.0], beta=1.0)[0]) < 1e-6  # softplus keeps it finite


def test_reward_margin_and_accuracy():
    assert float(implicit_reward([-2.0], [-4.0], beta=0.5)[0]) == pytest.approx(1.0)
    margins = preference_margin([-1.0, -5.0, -2.0], [-3.0, -1.0, -2.0], [-2.0] * 3, [-2.0] * 3, beta=0.1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(margins), [0.2, -0.4, 0.0], atol=1e-6)
    # The tie (third pair) is not a win: 1 of 3.
    accuracy = pair_accuracy([-1.0, -5.0, -2.0], [-3.0, -1.0, -2.0], [-2.0] * 3, [-2.0] * 3)
    assert float(accuracy) == pytest.approx(1 / 3)


def test_sequence_log_probabilities_sum_only_the_weighted_tokens():
    probabilities = np.array([[[0.5, 0.5], [0.25, 0.75], [0.9, 0.1]]], "float32")
    value = sequence_log_probabilities(np.log(probabilities), np.array([[0, 1, 0]]), np.array([[0.0, 1.0, 1.0]]))
    assert float(value[0]) == pytest.approx(math.log(0.75) + math.log(0.9), rel=1e-5)


def test_the_recipes_default_beta_is_the_losss():
    from musickit.families.music_transformer.config import AlignmentConfig
    from musickit.losses.preference import DEFAULT_BETA

    assert AlignmentConfig().beta == DEFAULT_BETA == 0.1
