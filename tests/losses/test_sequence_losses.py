"""Token losses: hand-computed cross-entropy, label smoothing, focal weighting, masking by sample weight."""

import math

import keras
import numpy as np
import pytest

from musickit.losses.sequence import SequenceCrossEntropy, SequenceFocalLoss, sequence_loss

PROBABILITIES = np.array([[[0.5, 0.25, 0.25], [0.8, 0.1, 0.1]]], "float32")
LOGITS = np.log(PROBABILITIES)
TARGETS = np.array([[0, 1]])


def test_cross_entropy_is_the_weighted_mean_over_counted_tokens():
    loss = SequenceCrossEntropy()
    assert float(loss(TARGETS, LOGITS)) == pytest.approx((-math.log(0.5) - math.log(0.1)) / 2, rel=1e-5)
    assert float(loss(TARGETS, LOGITS, sample_weight=np.array([[0.0, 1.0]]))) == pytest.approx(-math.log(0.1), rel=1e-5)


def test_label_smoothing_mixes_in_the_uniform_distribution():
    loss = SequenceCrossEntropy(label_smoothing=0.3)
    # Target 0 of the first token: 0.8 on the target (0.7 + 0.1), 0.1 on each other class.
    expected = -(0.8 * math.log(0.5) + 0.1 * math.log(0.25) + 0.1 * math.log(0.25))
    assert float(loss(TARGETS[:, :1], LOGITS[:, :1])) == pytest.approx(expected, rel=1e-5)


def test_focal_loss_scales_each_token_by_its_difficulty():
    focal = SequenceFocalLoss(gamma=2.0)
    expected = ((0.5**2) * -math.log(0.5) + (0.9**2) * -math.log(0.1)) / 2
    assert float(focal(TARGETS, LOGITS)) == pytest.approx(expected, rel=1e-5)
    assert float(SequenceFocalLoss(gamma=0.0)(TARGETS, LOGITS)) == pytest.approx(
        float(SequenceCrossEntropy()(TARGETS, LOGITS))
    )


def test_configs_round_trip_and_bad_values_are_refused():
    for loss in (SequenceCrossEntropy(label_smoothing=0.1), SequenceFocalLoss(gamma=1.5, label_smoothing=0.05)):
        restored = keras.losses.deserialize(keras.losses.serialize(loss))
        assert restored.get_config() == loss.get_config()
    with pytest.raises(ValueError):
        SequenceCrossEntropy(label_smoothing=1.0)
    with pytest.raises(ValueError):
        SequenceFocalLoss(gamma=-1)
    with pytest.raises(ValueError):
        sequence_loss("hinge")
