"""Velocity bins shared by the token representations.

MIDI velocities 1..127 are split into ``num_bins`` bins of (nearly) equal
width; a bin decodes to the middle whole velocity it holds. With 32 bins each
bin holds four velocities (the last one three), as in Magenta's performance
encoding, so a round trip moves a velocity by at most 2.
"""

import itertools

import numpy as np


class VelocityBins:
    """Map velocities to bins and back.

    Example:

    >>> bins = VelocityBins(32)
    >>> bins.bin_of(100), bins.velocity_of(24)
    (24, 98)
    >>> bins.bins_of([1, 4, 5, 127]).tolist()
    [0, 0, 1, 31]
    """

    def __init__(self, num_bins):
        self.num_bins = int(num_bins)
        # Bin b holds the velocities in [edges[b], edges[b + 1]).
        self.edges = np.linspace(1, 128, self.num_bins + 1)
        whole = np.ceil(self.edges).astype(int)  # first whole velocity of each bin
        self.velocities = [int(low + high - 1) // 2 for low, high in itertools.pairwise(whole)]

    def bins_of(self, velocities):
        """Bins of an array of velocities (clipped to 1..127)."""
        clipped = np.clip(np.asarray(velocities, dtype=np.float64), 1, 127)
        return np.searchsorted(self.edges, clipped, side="right") - 1

    def bin_of(self, velocity):
        return int(self.bins_of([velocity])[0])

    def velocity_of(self, velocity_bin):
        """The velocity a bin decodes to."""
        return self.velocities[velocity_bin]
