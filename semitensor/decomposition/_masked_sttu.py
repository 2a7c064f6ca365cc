"""Masked STTu: structured HOOI with imputation (EM) of the unobserved entries.

Each iteration fills the unobserved entries with the current reconstruction, runs
one structured HOOI sweep over every mode on the filled tensor, and projects the
core; it is the expectation-maximisation fit of Tucker with missing data (the one
TensorLy's ``tucker(mask=)`` runs). Each step does not raise the error on the
observed entries: the filled tensor agrees with the reconstruction off the mask, so
the HOOI step's decrease of the full error is a decrease of the observed one.
The rate slows as the missing fraction grows (see docs/missing.md).
"""

from __future__ import annotations

import math
import time

from ..formats.sttu import STTuTensor
from ._stopping import exact_level, logger, settled
from .fitinfo import FitInfo

__all__ = ["fit_masked_sttu"]


def fit_masked_sttu(prob, mask, ranks, n_iter_max, tol, callback, level):
    """Fit the observed entries of ``prob.x`` (zero elsewhere); returns ``(core, factors, info)``.

    The start is the structured HOSVD of the tensor with its unobserved entries set
    to the mean of the observed ones.
    """
    xp, x = prob.xp, prob.x
    t0 = time.perf_counter()
    observed = xp.sum(xp.astype(mask, x.dtype))
    mean = xp.sum(x) / observed
    filled = xp.where(mask, x, mean)
    norm_obs = math.sqrt(float(xp.vecdot(xp.reshape(x, (-1,)), xp.reshape(x, (-1,)))))
    n_modes = x.ndim
    k = [r // tn for r, tn in zip(ranks, prob.t)]
    factors = [prob.subspace(filled, n, k[n]) for n in range(n_modes)]
    info = FitInfo(method="hooi")
    exact = exact_level(prob.dtype_eps)
    info.stop_reason = "n_iter_max"
    for it in range(0, n_iter_max + 1):
        if it > 0:  # one structured HOOI sweep on the filled tensor
            for n in range(n_modes):
                y, _ = prob.project(filled, factors, [m for m in range(n_modes) if m != n])
                factors[n] = prob.subspace(y, n, k[n])
        core, _ = prob.project(filled, factors, range(n_modes))
        approx = STTuTensor(core, list(factors), prob.t, prob.side).to_tensor()
        diff = xp.where(mask, x - approx, xp.zeros((), dtype=x.dtype))
        err = math.sqrt(float(xp.vecdot(xp.reshape(diff, (-1,)), xp.reshape(diff, (-1,)))))
        err = err / norm_obs if norm_obs > 0 else 0.0
        filled = xp.where(mask, x, approx)
        info.errors.append(err)
        info.times.append(time.perf_counter() - t0)
        info.n_iter = it
        logger.log(level, "sttu masked (EM) iteration %d: observed rel_error=%.3e", it, err)
        if callback is not None and bool(callback(it, prob.decomposition(core, factors), err)):
            info.stop_reason = "callback"
            break
        if err <= exact:
            info.converged, info.stop_reason = True, "exact"
            break
        if it > 0 and settled(info.errors, tol):
            info.converged, info.stop_reason = True, "tol"
            break
    return core, factors, info
