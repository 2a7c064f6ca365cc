"""EM sweeps for ring fits with few missing entries: fill, one dense ALS sweep, refill.

Where only a few entries are missing, an exact masked sweep (`_masked_grid`,
`_masked_als`) forms per-slice Grams of size ``(r_k r_{k+1})²`` over almost the whole
tensor, while a dense one-core sweep (`_ring_als`) is a few large GEMMs. Filling the
unobserved entries with the current reconstruction and running a dense sweep is the
EM (majorise-minimise) step of the masked least-squares problem, so the error on the
observed entries never rises; its rate slows as the missing fraction grows.
Measured against the per-sample exact sweep (30 sweeps at most, Indian Pines
32×32×200, STT t = 2, R = 8; held-out relative error and seconds, EM against exact):
5% missing 0.0660 in 0.38 s against 0.0660 in 19.1 s; 20% missing 0.0653 in 0.53 s
against 0.0653 in 11.9 s; Kinetic with its own 0.4% missing: 0.0255 in 2.6 s against
0.0253 in 39 s. `_masked_fit.choose_route` weighs it against the dense-grid sweep.
"""

from __future__ import annotations

import math

import array_api_compat

from ._linalg import vdot
from ._ring_als import Ring, Sweeper
from ._starts import ring_to_tensor

__all__ = ["EMSweep"]


class EMSweep:
    """``sweep(cores) -> training error``: one EM step on the dense tensor ``x``."""

    def __init__(self, x, mask):
        self.xp = array_api_compat.array_namespace(x)
        self.x, self.mask = x, mask
        self.zero = self.xp.zeros((), dtype=x.dtype)
        self.norm_sq = vdot(self.xp, x, x)  # x is zero off the mask
        self.filled = None

    def __call__(self, cores):
        xp = self.xp
        if self.filled is None:
            self.filled = xp.where(self.mask, self.x, ring_to_tensor(cores))
        ring = Ring(self.filled, cores)
        Sweeper(ring).one_core_sweep()
        cores[:] = ring.cores
        approx = ring_to_tensor(cores)
        self.filled = xp.where(self.mask, self.x, approx)
        return self._error(approx)

    def error(self, cores):
        """The relative error on the observed entries of the ring ``cores``."""
        return self._error(ring_to_tensor(cores))

    def _error(self, approx):
        xp = self.xp
        diff = xp.where(self.mask, self.x - approx, self.zero)
        return math.sqrt(vdot(xp, diff, diff) / self.norm_sq)
