"""Masked ring fits (STT, STR): the mask checked, the samples taken, sweeps, held-out data.

`take_mask` turns ``(tensor, mask)`` (or a `numpy.ma` array) into a tensor whose
unobserved entries are zero and a checked boolean mask; `fit_masked_ring` fits a
tensor ring to the observed entries by `_masked_als.masked_sweep` (exact masked
least squares per core slice) from a start, with restarts, and records the
training error (on the observed entries) and, with a validation mask, the held-out
error per sweep, stopping when the held-out error has not improved for
`PATIENCE` sweeps and returning the best state it saw.
"""

from __future__ import annotations

import logging
import math
import time

import array_api_compat
import numpy as np

from .._namespace import as_arrays, to_numpy
from .._validation import check_finite
from ._linalg import small_blas
from ._masked_als import Samples, masked_sweep, ring_values
from ._prepare import like_tensor
from ._starts import random_ring, tr_svd
from ._stopping import exact_level, logger, out_of_reach, settled
from .fitinfo import FitInfo

__all__ = ["take_mask", "fit_masked_ring", "samples_of", "PATIENCE"]

#: Sweeps without a better held-out error after which a fit with validation stops.
PATIENCE = 5
_EXACT = exact_level(2.0**-52)


def take_mask(tensor, mask, name="mask"):
    """``(tensor, mask)`` ready for a fit: unobserved entries set to 0, the mask checked.

    A `numpy.ma` array stands for its data and its mask (masked = unobserved), and
    combines with ``mask`` when both are given. Returns ``(tensor, None)`` when
    nothing is masked, so a mask of all True is exactly the unmasked fit.
    """
    if isinstance(tensor, np.ma.MaskedArray):
        observed = ~np.ma.getmaskarray(tensor)
        data = np.ma.getdata(tensor)
        if mask is not None:
            xp, (m,) = as_arrays(mask, names=[name])
            observed = observed & _check_mask_array(m, data.shape, name, np.asarray(m))
        tensor, mask = data, observed
    if mask is None:
        return tensor, None
    xp, (x, m) = as_arrays(tensor, mask, names=["tensor", name])
    m = _check_mask_array(m, tuple(x.shape), name, m)
    if bool(xp.all(m)):
        return tensor, None
    if not bool(xp.any(m)):
        raise ValueError(f"{name} observes no entry (all False); at least one must be True")
    for k, size in enumerate(x.shape):
        axes = tuple(j for j in range(x.ndim) if j != k)
        seen = xp.any(m, axis=axes) if axes else m
        if not bool(xp.all(seen)):
            empty = [int(i) for i in np.flatnonzero(~to_numpy(seen))[:5]]
            raise ValueError(
                f"{name} observes no entry of mode {k} at index {empty[0]} (empty slices of "
                f"mode {k}: {empty}{' …' if len(empty) == 5 else ''}); every slice needs at "
                "least one observed entry, or its core slice is undetermined"
            )
    if xp.isdtype(x.dtype, ("real floating", "complex floating")):
        x = xp.where(m, x, xp.zeros((), dtype=x.dtype))
        check_finite(xp, x, "tensor (at its observed entries, where the mask is True)")
    else:
        x = xp.where(m, x, xp.zeros((), dtype=x.dtype))
    return x, m


def _check_mask_array(m, shape, name, original):
    xp = array_api_compat.array_namespace(m)
    if m.dtype != xp.bool:
        raise TypeError(
            f"{name} must be a boolean array (True = observed); got dtype {m.dtype} "
            f"(use np.isfinite(X) for the finite entries, or M.astype(bool))"
        )
    if tuple(m.shape) != tuple(shape):
        raise ValueError(
            f"{name} must have the tensor's shape {tuple(shape)}; got shape {tuple(m.shape)}"
        )
    return m


def samples_of(x, mask):
    """The observed entries of ``x`` under ``mask`` as `Samples` (x's library and device)."""
    xp = array_api_compat.array_namespace(x)
    flat = xp.reshape(x, (-1,))
    where = np.flatnonzero(to_numpy(xp.reshape(mask, (-1,))))
    indices = np.unravel_index(where, tuple(x.shape))
    values = xp.take(flat, xp.asarray(where, dtype=xp.int64, device=array_api_compat.device(x)))
    return Samples(list(indices), values, tuple(x.shape))


def _start(s, restart, x, samples, ranks):
    like = samples.values
    if restart == 0 and not isinstance(s.init, str):
        return like_tensor(s.init, like)
    if restart == 0 and s.init == "svd" and x is not None:
        # TR-SVD of the zero-filled tensor scaled by 1/(observed fraction): the
        # unbiased estimate of the full tensor (the standard start of completion).
        return tr_svd(x * (math.prod(samples.shape) / samples.size), ranks, s.rng)
    scale = math.sqrt(samples.norm_sq * math.prod(samples.shape) / samples.size)
    return random_ring(samples.shape, ranks, s.rng, scale=scale, like=like)


def fit_masked_ring(samples, ranks, settings, *, x=None, held_out=None, wrap=None):
    """Fit a tensor ring of ``ranks`` to ``samples``; restarts keep the best.

    ``x``: the zero-filled dense tensor, when there is one (the "svd"
    start). ``held_out``: `Samples` of validation entries, never fitted. The best fit
    is the one of least held-out error when there is validation data, else of least
    training error. Returns ``(cores, info)``.
    """
    with small_blas(samples.values):
        best = None
        for restart in range(settings.n_restarts):
            start = _start(settings, restart, x, samples, ranks)
            cores, info = _fit(samples, start, settings, held_out, wrap)
            key = info.held_out_errors[-1] if held_out is not None else info.rel_error
            if best is None or key < best[0]:
                best = (key, cores, info)
            if info.stop_reason == "callback":
                break
        return best[1], best[2]


def _fit(samples, cores, s, held_out, wrap):
    clock = time.perf_counter
    t0 = clock()
    cores = list(cores)
    err = samples.rel_error(ring_values(cores, samples.indices))
    info = FitInfo(method="als", errors=[err], times=[clock() - t0])
    level = logging.INFO if s.verbose else logging.DEBUG
    best_val = None
    if held_out is not None:
        val = held_out.rel_error(ring_values(cores, held_out.indices))
        info.held_out_errors.append(val)
        best_val = (val, 0, list(cores), err)

    def stop_by_callback(it, err):
        if s.callback is None:
            return False
        copies = [samples.xp.asarray(c, copy=True) for c in cores]
        return s.callback(it, wrap(copies) if wrap else copies, err)

    info.stop_reason = "n_iter_max"
    if stop_by_callback(0, err):
        info.stop_reason = "callback"
        return cores, info
    for it in range(1, s.n_iter_max + 1):
        err = masked_sweep(samples, cores)
        info.errors.append(err)
        info.times.append(clock() - t0)
        info.n_iter = it
        logger.log(level, "%s masked sweep %d: training error %.6e", s.name, it, err)
        if held_out is not None:
            val = held_out.rel_error(ring_values(cores, held_out.indices))
            info.held_out_errors.append(val)
            if val < best_val[0]:
                best_val = (val, it, list(cores), err)
            elif it - best_val[1] >= PATIENCE:
                info.converged, info.stop_reason = True, "held_out"
                break
        if stop_by_callback(it, err):
            info.stop_reason = "callback"
            break
        if err <= _EXACT:
            info.converged, info.stop_reason = True, "exact"
            break
        if s.stop_at is not None and err <= s.stop_at:
            info.converged, info.stop_reason = True, "eps"
            break
        if settled(info.errors, s.tol) or (
            s.stop_at is not None and out_of_reach(info.errors, s.stop_at)
        ):
            info.converged, info.stop_reason = True, "tol"
            break
    if held_out is not None and best_val[1] != info.n_iter and info.stop_reason != "callback":
        # Return the state of least held-out error (early stopping), recorded as such.
        cores = best_val[2]
        info.best_iter = best_val[1]
    return cores, info
