"""A decoder-only baseline with the parameter count of another model: the fair side of an ablation.

Comparing the hierarchical transformer (encoder + decoder + cross-attention)
with a decoder-only Music Transformer of the same preset would hand the
hierarchical model more weights. :func:`matched_music_transformer` keeps the
width and heads and picks the depth and feed-forward width whose parameter
count is closest to a target: for each depth the count is linear in the
feed-forward width, so two probe builds per depth give the exact width, and
the depth whose feed-forward/width ratio is nearest the reference shape wins
(a plain, well-proportioned transformer, not a 1-layer giant).

Example:

>>> model = matched_music_transformer(50_000, vocabulary_size=100, hidden_dim=32, num_heads=2,
...                                   max_sequence_length=128)
>>> abs(count_parameters(model) - 50_000) / 50_000 < 0.02
True
"""

import keras
import numpy as np

from musickit.errors import UsageError
from musickit.models.music_transformer import MusicTransformer


def count_parameters(model, trainable_only=False):
    """Number of scalar weights of ``model`` (built first if needed), trainable or not.

    ``trainable_only`` leaves out the non-trainable ones: for a model that keeps statistics of its data
    as weights (a VAE's fitted prior, a step counter), the parameters a baseline should be matched to.
    """
    if not model.built:
        model.build()
    weights = model.trainable_weights if trainable_only else model.weights
    return int(sum(np.prod(weight.shape) for weight in weights))


def matched_music_transformer(
    target_parameters,
    vocabulary_size,
    hidden_dim,
    num_heads,
    max_sequence_length,
    feedforward_ratio=4,
    max_layers=12,
    **options,
):
    """A :class:`MusicTransformer` with ``hidden_dim``/``num_heads`` and about ``target_parameters`` weights.

    Args:
        target_parameters: int, the count to match (e.g. ``count_parameters(hierarchical_model)``).
        feedforward_ratio: the preferred ``intermediate_dim / hidden_dim``
            (4 in most transformers); the depth that comes closest wins.
        max_layers: deepest decoder tried.
        **options: other constructor arguments (``condition_sizes``, ``end_id``, ...).
    """
    target_parameters = int(target_parameters)

    def build(num_layers, intermediate_dim):
        return MusicTransformer(
            vocabulary_size=vocabulary_size,
            num_layers=num_layers,
            num_heads=num_heads,
            hidden_dim=hidden_dim,
            intermediate_dim=int(intermediate_dim),
            max_sequence_length=max_sequence_length,
            **options,
        )

    best = None
    for num_layers in range(1, max_layers + 1):
        low, high = (count_parameters(build(num_layers, width)) for width in (hidden_dim, 2 * hidden_dim))
        per_unit = (high - low) / hidden_dim  # parameters per unit of feed-forward width
        width = hidden_dim + (target_parameters - low) / per_unit
        if width < 8:
            break  # deeper models only get further from the target
        width = int(round(width / 8) * 8)
        score = abs(np.log(width / (feedforward_ratio * hidden_dim)))
        if best is None or score < best[0]:
            best = (score, num_layers, width)
    if best is None:
        raise UsageError(f"no decoder of width {hidden_dim} has as few as {target_parameters} parameters")
    keras.backend.clear_session()  # the probe builds are garbage; keep layer names fresh for the real one
    return build(best[1], best[2])
