"""The cosine noise schedule of the mel-diffusion family (Nichol and Dhariwal 2021), for any array module.

A noise level ``t`` in [0, 1] keeps ``alpha_bar(t)`` of the signal's
variance: ``noisy = sqrt(alpha_bar) x + sqrt(1 - alpha_bar) noise``. Training
draws ``t`` from the ``TRAINING_STEPS`` levels ``1/1000 .. 1``; DDPM sampling
walks all of them, DDIM a subset. It sits with the data because the training
pipeline noises its windows; the samplers in :mod:`musickit.generation` read
it from here.

Example:

>>> import numpy as np
>>> float(cosine_alpha_bar(0.0)), round(float(cosine_alpha_bar(0.5)), 3), float(cosine_alpha_bar(1.0)) < 1e-4
(1.0, 0.494, True)
"""

import numpy as np

TRAINING_STEPS = 1000
OFFSET = 0.008  # keeps the first levels from being too clean to learn from (the paper's s)
MINIMUM_ALPHA_BAR = 1e-5  # alpha_bar(1) is 0 in the formula; a floor keeps sqrt and division finite


def cosine_alpha_bar(level, module=np):
    """``alpha_bar(t) = cos((t + s) / (1 + s) * pi / 2)^2 / cos(s / (1 + s) * pi / 2)^2``, floored.

    ``module`` is ``numpy``, ``tensorflow`` or ``keras.ops``: anything with ``cos`` and ``maximum``.
    """
    first = np.cos(OFFSET / (1 + OFFSET) * np.pi / 2) ** 2
    value = module.cos((level + OFFSET) / (1 + OFFSET) * (np.pi / 2)) ** 2 / first
    return module.maximum(value, MINIMUM_ALPHA_BAR)
