"""Yang & Lerch (2018) distribution comparison of a generated set with a reference set.

For one feature (a scalar per piece such as pitch range, or a vector such as
the pitch-class histogram) three distributions of distances are built:

* intra-reference: distances between every pair of reference pieces;
* intra-generated: the same inside the generated set;
* inter-set: every generated piece against every reference piece.

Each is smoothed with a Gaussian kernel density estimate
(:class:`scipy.stats.gaussian_kde`, Scott's bandwidth) and compared on one
grid. If the generated pieces look like the reference, a generated piece is
as far from a reference piece as two reference pieces are from each other,
so the intra-reference and inter-set curves overlap: the *overlap area*
(in [0, 1], higher is closer) is large and the *KL divergence*
KL(intra-reference || inter-set), in nats, is small.

Reference: L.-C. Yang and A. Lerch, "On the evaluation of generative models
in music", Neural Computing and Applications 32, 2020 (preprint 2018).
Their toolbox (mgeval) integrates the overlap only over the data range and
evaluates the two densities of its KL on two different grids; here both
use one grid that extends five kernel widths beyond all the data, so the
numbers are proper areas and divergences.
"""

import dataclasses

import numpy as np
from scipy.spatial.distance import cdist, pdist

GRID_SIZE = 512
# Distances between all pairs of a few hundred pieces run to tens of thousands;
# a kernel density estimate from 2,000 evenly spaced order statistics of them is
# indistinguishable on a 512-point grid and a hundred times cheaper.
MAX_KDE_SAMPLES = 2000
_FLOOR = 1e-12


def _as_matrix(values):
    """Rows are pieces; scalars become one column; rows with any NaN are dropped."""
    matrix = np.asarray(values, dtype=float)
    matrix = matrix.reshape(len(matrix), -1) if matrix.size else matrix.reshape(0, 1)
    return matrix[~np.isnan(matrix).any(axis=1)]


def intra_set_distances(values):
    """Euclidean distances between every pair of pieces in one set (absolute differences for scalars)."""
    matrix = _as_matrix(values)
    return pdist(matrix) if len(matrix) >= 2 else np.zeros(0)


def inter_set_distances(first, second):
    """Distances between every piece of ``first`` and every piece of ``second``."""
    first, second = _as_matrix(first), _as_matrix(second)
    if not len(first) or not len(second):
        return np.zeros(0)
    return cdist(first, second).ravel()


def _bandwidth(samples):
    """Scott's kernel width for ``samples`` (0 for fewer than two distinct values)."""
    samples = np.asarray(samples, dtype=float)
    if len(samples) < 2 or samples.std() == 0:
        return 0.0
    return float(samples.std(ddof=1) * len(samples) ** (-1.0 / 5.0))


def densities_on_grid(*sample_sets, grid_size=GRID_SIZE):
    """Kernel density estimates of several sample sets on one shared grid.

    Each set gets :class:`scipy.stats.gaussian_kde` with Scott's width, but
    never narrower than 1% of the pooled spread of all sets: a kernel much
    narrower than the grid spacing would fall between grid points and the
    estimate would vanish. A set whose samples are all equal (say every
    piece uses 7 pitch classes, so every distance is 0) has no spread for a
    kernel to learn; it gets a Gaussian 5% of the pooled spread wide (1e-3
    when every set is constant).

    Returns ``(grid, [density, ...])``; each density integrates to ~1.
    """
    sample_sets = [np.asarray(samples, dtype=float) for samples in sample_sets]
    pooled = np.concatenate(sample_sets)
    spread = float(pooled.max() - pooled.min()) if len(pooled) else 0.0
    fallback = 0.05 * spread if spread > 0 else 1e-3
    widths = [
        max(_bandwidth(samples), 0.01 * spread) if _bandwidth(samples) > 0 else fallback for samples in sample_sets
    ]
    grid = np.linspace(pooled.min() - 5 * max(widths), pooled.max() + 5 * max(widths), grid_size)
    densities = []
    for samples, width in zip(sample_sets, widths):
        if _bandwidth(samples) > 0:
            density = _gaussian_kde(_order_statistics(samples, MAX_KDE_SAMPLES), width, grid)
        else:
            density = np.exp(-0.5 * ((grid - samples.mean()) / width) ** 2) / (width * np.sqrt(2 * np.pi))
        densities.append(density)
    return grid, densities


def _gaussian_kde(samples, width, grid, chunk=256):
    """Mean of Gaussians of standard deviation ``width`` centred on ``samples``, on ``grid``.

    What :class:`scipy.stats.gaussian_kde` computes for one dimension (its
    ``bw_method`` scalar times the samples' standard deviation is ``width``),
    written out in NumPy: scipy's general d-dimensional path solves a
    triangular system per call and was most of an evaluation's time.
    """
    density = np.zeros(len(grid))
    for first in range(0, len(samples), chunk):
        offsets = (grid[None, :] - samples[first : first + chunk, None]) / width
        density += np.exp(-0.5 * offsets**2).sum(axis=0)
    return density / (len(samples) * width * np.sqrt(2 * np.pi))


def _order_statistics(samples, count):
    """``count`` evenly spaced order statistics of ``samples`` (all of them when there are fewer)."""
    if len(samples) <= count:
        return samples
    return np.sort(samples)[np.linspace(0, len(samples) - 1, count).round().astype(int)]


def overlap_and_divergence(first, second):
    """``(overlap area, KL(first || second))`` of two samples from one shared density grid."""
    if not len(first) or not len(second):
        return float("nan"), float("nan")
    grid, (first_density, second_density) = densities_on_grid(first, second)
    return _overlap_and_divergence(grid, first_density, second_density)


def _overlap_and_divergence(grid, first_density, second_density):
    overlap = float(min(np.trapezoid(np.minimum(first_density, second_density), grid), 1.0))
    p = first_density / first_density.sum()
    q = second_density / second_density.sum()
    support = p > _FLOOR
    divergence = float(max((p[support] * np.log(p[support] / np.maximum(q[support], _FLOOR))).sum(), 0.0))
    return overlap, divergence


def overlap_area(first, second):
    """Area under the minimum of the two samples' density estimates, in [0, 1]; NaN without samples.

    >>> round(overlap_area([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]), 4)
    1.0
    >>> overlap_area([0.0, 0.1, 0.2], [50.0, 50.1, 50.2]) < 0.01
    True
    """
    return overlap_and_divergence(first, second)[0]


def kl_divergence(first, second):
    """KL(first || second) in nats between the samples' density estimates; NaN without samples.

    >>> kl_divergence([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0])
    0.0
    """
    return overlap_and_divergence(first, second)[1]


def _summary(distances):
    if not len(distances):
        return {"mean": float("nan"), "std": float("nan"), "count": 0}
    return {"mean": float(distances.mean()), "std": float(distances.std()), "count": int(len(distances))}


@dataclasses.dataclass
class DistanceDistributions:
    """The three distance samples of one feature and their comparison.

    ``overlap_area``/``kl_divergence`` compare intra-reference with inter-set
    (Yang & Lerch's headline numbers); the ``generated_`` ones compare
    intra-generated with inter-set, which flags a generated set that is much
    tighter (collapsed) or looser than the reference.
    """

    intra_reference: np.ndarray
    intra_generated: np.ndarray
    inter: np.ndarray

    def summary(self):
        """Means and spreads of the three samples plus overlap areas and KL divergences (a JSON-ready dict)."""
        overlap = divergence = generated_overlap = generated_divergence = float("nan")
        # One grid and one density per sample for both comparisons: the inter-set
        # density is the expensive one and is shared.
        present = [samples for samples in (self.intra_reference, self.intra_generated, self.inter) if len(samples)]
        if len(self.inter) and len(present) > 1:
            grid, densities = densities_on_grid(*present)
            inter = densities[-1]
            if len(self.intra_reference):
                overlap, divergence = _overlap_and_divergence(grid, densities[0], inter)
            if len(self.intra_generated):
                generated_overlap, generated_divergence = _overlap_and_divergence(grid, densities[-2], inter)
        return {
            "intra_reference": _summary(self.intra_reference),
            "intra_generated": _summary(self.intra_generated),
            "inter": _summary(self.inter),
            "overlap_area": overlap,
            "kl_divergence": divergence,
            "generated_overlap_area": generated_overlap,
            "generated_kl_divergence": generated_divergence,
        }


def compare_feature(generated, reference):
    """:class:`DistanceDistributions` of one feature: ``generated``/``reference`` hold one value (or vector) per piece.

    >>> result = compare_feature([60, 62, 64, 65], [60, 61, 63, 64, 66]).summary()
    >>> 0.5 < result["overlap_area"] <= 1.0
    True
    """
    return DistanceDistributions(
        intra_reference=intra_set_distances(reference),
        intra_generated=intra_set_distances(generated),
        inter=inter_set_distances(generated, reference),
    )


def compare_distributions(generated_features, reference_features):
    """:func:`compare_feature` for every feature name present in both dicts."""
    return {
        name: compare_feature(generated_features[name], reference_features[name])
        for name in generated_features
        if name in reference_features
    }
