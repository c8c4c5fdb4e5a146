"""The VAE-GAN step: each phase moves its own network's weights and no other, on every backend."""

import keras
import numpy as np
import pytest

from musickit.models.music_vae import MusicVAE
from musickit.models.sequence_discriminator import MultiScaleDiscriminator
from musickit.training.adversarial import AdversarialTrainer
from tests.conftest import give_latent_projections_weights


def _weights(network):
    return [keras.ops.convert_to_numpy(variable).copy() for variable in network.trainable_variables]


def _moved(before, after):
    return [not np.allclose(first, second) for first, second in zip(before, after)]


@pytest.mark.usefixtures("eager_fits")
@pytest.mark.long
def test_each_phase_moves_only_its_own_network():
    keras.utils.set_random_seed(0)
    model = MusicVAE(
        vocabulary_size=8,
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=16,
        max_sequence_length=16,
        encoder_layers=1,
        num_bars=2,
        global_latent_dim=2,
        bar_latent_dim=2,
        bar_increments={3: 1.0},
        seed=0,
    )
    model.build()
    give_latent_projections_weights(model)  # trained by the VAE stage before this one (they start at zero)
    discriminator = MultiScaleDiscriminator(hidden_dim=8, num_convolutions=1)
    trainer = AdversarialTrainer(model, discriminator, seed=0)
    segments = np.array([[3, 5, 6, 3, 7, 4, 0], [3, 4, 3, 5, 5, 6, 7]])

    generator_before, discriminator_before = _weights(model), _weights(discriminator)
    logs = trainer.discriminator_step(segments)
    generator_after, discriminator_after = _weights(model), _weights(discriminator)
    assert not any(_moved(generator_before, generator_after))
    assert all(_moved(discriminator_before, discriminator_after)[:2])  # the token projection's kernel and bias
    assert sum(_moved(discriminator_before, discriminator_after)) >= len(discriminator_before) - 3
    assert np.isfinite(logs["discriminator_loss"])

    logs = trainer.generator_step(segments)
    assert not any(_moved(discriminator_after, _weights(discriminator)))
    moved = _moved(generator_after, _weights(model))
    assert sum(moved) >= 0.9 * len(moved)  # embeddings, encoder, posteriors and decoder all learn
    assert logs["reconstruction"] > 0 and np.isfinite(logs["adversarial"])
