"""Diffusion sampling (DDIM and DDPM) with classifier-free guidance, for any v-predicting denoiser.

The engine knows no concrete model: it takes ``predict(noisy, levels,
conditions) -> v`` (numpy in, numpy out; e.g. a Keras model's
``predict_on_batch`` on a dict) and walks the cosine schedule of
:mod:`musickit.data.noise_schedule` from pure noise (level 1) to level 0.

* **DDIM** (Song et al. 2021): ``steps`` evenly spaced levels of the 1000,
  ``eta = 0``: deterministic given the starting noise.
* **DDPM** (Ho et al. 2020): all 1000 levels with ``eta = 1``, which is
  ancestral sampling with the posterior variance.

Both are the one update ``x' = sqrt(a') x0 + sqrt(1 - a' - s^2) e + s z`` with
``s = eta sqrt((1 - a') / (1 - a) (1 - a / a'))``; ``x0 = sqrt(a) x - sqrt(1 - a) v``
is clipped to [-1, 1] and ``e`` recomputed from it.

Guidance ``w`` mixes the conditional and unconditional predictions,
``v = v_u + w (v_c - v_u)``; ``w = 1`` is the conditional model alone (one
pass), ``w = 0`` the unconditional one.

Example:

>>> import numpy as np
>>> def predict(noisy, levels, conditions):  # a perfect model of "the clean signal is 0": v = sqrt(a / (1 - a)) x
...     alpha = cosine_alpha_bar(levels.reshape(-1, 1, 1, 1))
...     return np.sqrt(alpha / (1 - alpha)) * noisy
>>> sample = diffusion_sample(predict, np.zeros((1, 3)), np.zeros((1, 3)), (1, 4, 4, 1), steps=5)
>>> sample.shape, float(np.abs(sample).max()) < 1e-2
((1, 4, 4, 1), True)
"""

import numpy as np

from musickit.data.noise_schedule import TRAINING_STEPS, cosine_alpha_bar

SAMPLERS = ("ddim", "ddpm")


def sampling_levels(steps, training_steps=TRAINING_STEPS):
    """``steps + 1`` noise levels from 1 down to 0, on the grid of the ``training_steps`` levels.

    >>> sampling_levels(4, training_steps=8).tolist()
    [1.0, 0.75, 0.5, 0.25, 0.0]
    """
    if not 1 <= steps <= training_steps:
        raise ValueError(f"steps must be between 1 and {training_steps}, got {steps}")
    grid = np.round(np.linspace(training_steps, 0, steps + 1)).astype(int)
    return grid / training_steps


def sampler_settings(sampler, ddim_steps=50):
    """``(steps, eta)`` of a sampler name: DDIM ``(ddim_steps, 0)``, DDPM ``(1000, 1)``."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    return (ddim_steps, 0.0) if sampler == "ddim" else (TRAINING_STEPS, 1.0)


def diffusion_sample(predict, conditions, unconditional, shape, steps=50, eta=0.0, guidance=1.0, seed=0, progress=None):
    """A sample of ``shape`` (numpy float32, about [-1, 1]) from ``predict`` (see the module docstring).

    Args:
        predict: ``predict(noisy, levels, conditions) -> v``; ``levels`` is ``(batch, 1)``.
        conditions: the conditioning input for the batch (e.g. note tokens).
        unconditional: the same shape, meaning "no condition" (used when ``guidance != 1``).
        shape: the sample's shape, batch first.
        steps, eta: the schedule's levels walked and the noise kept (DDIM 50/0, DDPM 1000/1).
        guidance: classifier-free guidance weight.
        seed: the starting noise and DDPM's noise.
        progress: optional ``callable(iterable) -> iterable`` (a progress bar).
    """
    generator = np.random.default_rng(seed)
    noisy = generator.standard_normal(shape).astype("float32")
    conditions = np.asarray(conditions, dtype="float32")
    guided = guidance != 1.0
    if guided:
        both = np.concatenate([conditions, np.asarray(unconditional, dtype="float32")], axis=0)
    levels = sampling_levels(steps)
    pairs = list(zip(levels[:-1], levels[1:]))
    for level, next_level in progress(pairs) if progress else pairs:
        batch_levels = np.full((shape[0], 1), level, dtype="float32")
        if guided:
            prediction = np.asarray(predict(np.concatenate([noisy, noisy]), np.concatenate([batch_levels] * 2), both))
            conditional, free = prediction[: shape[0]], prediction[shape[0] :]
            velocity = free + guidance * (conditional - free)
        else:
            velocity = np.asarray(predict(noisy, batch_levels, conditions))
        alpha, next_alpha = float(cosine_alpha_bar(level)), float(cosine_alpha_bar(next_level))
        if next_level == 0:
            next_alpha = 1.0
        clean = np.clip(np.sqrt(alpha) * noisy - np.sqrt(1 - alpha) * velocity, -1.0, 1.0)
        noise = (noisy - np.sqrt(alpha) * clean) / np.sqrt(1 - alpha)
        sigma = eta * np.sqrt((1 - next_alpha) / (1 - alpha) * (1 - alpha / next_alpha))
        noisy = np.sqrt(next_alpha) * clean + np.sqrt(max(1 - next_alpha - sigma**2, 0.0)) * noise
        if sigma > 0:
            noisy = noisy + sigma * generator.standard_normal(shape).astype("float32")
        noisy = noisy.astype("float32")
    return noisy
