"""DDIM and DDPM sampling with guidance, driven by an oracle that knows the clean sample."""

import numpy as np
import pytest

from musickit.data.noise_schedule import cosine_alpha_bar
from musickit.generation.diffusion import diffusion_sample, sampler_settings, sampling_levels

SHAPE = (2, 4, 6, 1)


def oracle(clean_by_condition):
    """A v-predictor that knows the clean sample for each condition value (0 or 1)."""

    def predict(noisy, levels, conditions):
        clean = np.stack([clean_by_condition[int(c[0])] for c in conditions])
        alpha = cosine_alpha_bar(levels.reshape(-1, 1, 1, 1))
        noise = (noisy - np.sqrt(alpha) * clean) / np.sqrt(1 - alpha)
        return np.sqrt(alpha) * noise - np.sqrt(1 - alpha) * clean

    return predict


def test_levels_and_sampler_settings():
    assert sampling_levels(4, training_steps=1000).tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert sampler_settings("ddim", 50) == (50, 0.0) and sampler_settings("ddpm") == (1000, 1.0)
    with pytest.raises(ValueError):
        sampler_settings("euler")


@pytest.mark.parametrize("steps, eta", [(5, 0.0), (1000, 1.0)])
def test_ddim_and_ddpm_reach_the_clean_sample_of_a_perfect_model(steps, eta):
    target = np.random.default_rng(1).uniform(-0.9, 0.9, SHAPE[1:]).astype("float32")
    sample = diffusion_sample(oracle({1: target}), np.ones((2, 1)), None, SHAPE, steps=steps, eta=eta, seed=3)
    np.testing.assert_allclose(sample, np.stack([target, target]), atol=1e-3)


def test_ddim_is_deterministic_and_guidance_mixes_the_two_predictions():
    conditional, free = np.full(SHAPE[1:], 0.4, "float32"), np.full(SHAPE[1:], -0.2, "float32")
    predict = oracle({1: conditional, 0: free})
    conditions, unconditional = np.ones((2, 1)), np.zeros((2, 1))
    first = diffusion_sample(predict, conditions, unconditional, SHAPE, steps=4, guidance=1.0, seed=5)
    again = diffusion_sample(predict, conditions, unconditional, SHAPE, steps=4, guidance=1.0, seed=5)
    np.testing.assert_array_equal(first, again)
    only_free = diffusion_sample(predict, conditions, unconditional, SHAPE, steps=4, guidance=0.0, seed=5)
    np.testing.assert_allclose(only_free, -0.2, atol=1e-3)
    pushed = diffusion_sample(predict, conditions, unconditional, SHAPE, steps=1, guidance=2.0, seed=5)
    np.testing.assert_allclose(pushed, 1.0, atol=1e-3)  # 0.4 + (0.4 - (-0.2)) = 1.0, at the clip
