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
from ._masked_als import Samples, SampleSweep
from ._masked_em import EMSweep
from ._masked_grid import GRID_FROM, GridSweep
from ._prepare import like_tensor
from ._starts import random_ring, tr_svd
from ._stopping import exact_level, logger, out_of_reach, settled, stopped_early
from .fitinfo import FitInfo

__all__ = ["take_mask", "choose_route", "MaskedData", "fit_masked_ring", "samples_of", "PATIENCE"]

#: Sweeps without a better held-out error after which a fit with validation stops.
PATIENCE = 5
_EXACT = exact_level(2.0**-52)


def take_mask(tensor, mask, validation_mask=None, name="mask"):
    """``(tensor, train, held)`` ready for a fit: the masks checked, unused entries zeroed.

    A `numpy.ma` array stands for its data and its mask (masked = unobserved), and
    combines with ``mask`` when both are given. ``validation_mask`` marks observed
    entries held out of the fit (``train = mask & ~validation_mask``); their values
    are kept in the returned tensor, every other unobserved entry is set to 0.
    Returns ``(tensor, None, None)`` when nothing is masked or held out, so a mask of
    all True is exactly the unmasked fit.
    """
    if isinstance(tensor, np.ma.MaskedArray):
        observed = ~np.ma.getmaskarray(tensor)
        tensor = np.ma.getdata(tensor)
        if mask is not None:
            _, (m,) = as_arrays(mask, names=[name])
            observed = observed & _check_mask_array(m, tensor.shape, name)
        mask = observed
    if mask is None and validation_mask is None:
        return tensor, None, None
    xp, (x,) = as_arrays(tensor, names=["tensor"])
    shape = tuple(x.shape)
    if mask is None:
        mask = xp.ones(shape, dtype=xp.bool, device=array_api_compat.device(x))
    _, (x, m) = as_arrays(x, mask, names=["tensor", name])
    m = _check_mask_array(m, shape, name)
    held = None
    if validation_mask is not None:
        _, (x, held) = as_arrays(x, validation_mask, names=["tensor", "validation_mask"])
        held = _check_mask_array(held, shape, "validation_mask")
        if not bool(xp.any(held)):
            raise ValueError("validation_mask holds out no entry (all False)")
        keep = m | held
        m = m & ~held
    else:
        if bool(xp.all(m)):
            return tensor, None, None
        keep = m
    if not bool(xp.any(m)):
        raise ValueError(f"{name} observes no entry (all False); at least one must be True")
    _check_slices(xp, m, name)
    x = xp.where(keep, x, xp.zeros((), dtype=x.dtype))
    if xp.isdtype(x.dtype, ("real floating", "complex floating")):
        check_finite(xp, x, "tensor (at its observed entries, where the mask is True)")
    return x, m, held


def _check_slices(xp, m, name):
    """Every slice of every mode needs an observed entry: its core slice is otherwise free."""
    for k in range(m.ndim):
        axes = tuple(j for j in range(m.ndim) if j != k)
        seen = xp.any(m, axis=axes) if axes else m
        if not bool(xp.all(seen)):
            empty = [int(i) for i in np.flatnonzero(~to_numpy(seen))[:5]]
            raise ValueError(
                f"{name} observes no entry of mode {k} at index {empty[0]} (empty slices of "
                f"mode {k}: {empty}{' ...' if len(empty) == 5 else ''}); every slice needs at "
                "least one observed (training) entry, or its core slice is undetermined"
            )


def choose_route(observed, ranks):
    """The sweep of a masked ring fit: ``"em"``, ``"grid"`` or ``"samples"``.

    ``observed``: the fraction of the tensor's entries that are training entries;
    ``ranks``: the ring's ``(r_0, …, r_N = r_0)``. Below `GRID_FROM` observed, the
    exact sweep per sample (`_masked_als`); above, whichever of the exact sweep on
    the dense grid (`_masked_grid`) and EM sweeps (`_masked_em`) reaches a given
    held-out error sooner by a cost model: per entry of the tensor, a grid sweep
    costs ``Σ_k d_k (d_k + 3)/2`` multiply-adds (``d_k = r_k r_{k+1}``), an EM sweep
    ``4 r_0 r_1 + 2 r_0 r_{N−1} + 16``, and EM needs about ``1/observed²`` times as
    many sweeps. Calibrated on held-out error against time (Indian Pines 32×32×200
    and china.jpg 214×320×3, STT t = 2 and STR, 20%, 35%, 50% missing, in
    docs/missing.md): EM was 2-2.7x sooner on Indian Pines at 20-35% missing and
    tied at 50% (2x sooner for STR at ring ranks 4), the grid 3x sooner on china.jpg
    at 50%, where its ranks ``(2, 4, 1, 2)`` make a grid sweep cheap.
    """
    if observed < GRID_FROM:
        return "samples"
    d = [ranks[k] * ranks[k + 1] for k in range(len(ranks) - 1)]
    grid = sum(dk * (dk + 3) / 2 for dk in d)
    em = 4 * ranks[0] * ranks[1] + 2 * ranks[0] * ranks[-2] + 16
    return "em" if em / observed**2 <= grid else "grid"


class MaskedData:
    """The training samples, held-out data and zero-filled tensor of one masked fit.

    Each `fit` runs the sweep `choose_route` picks for its ranks (``route`` forces
    one: ``"em"``, ``"grid"`` or ``"samples"``).
    """

    def __init__(self, x, train, held=None, route=None):
        xp = array_api_compat.array_namespace(x)
        self.samples = samples_of(x, train)
        # Held-out error per sweep from the dense tensor (a GEMM, not per-sample products).
        self.held = None if held is None else GridSweep(x, held)
        self.x = x if held is None else xp.where(train, x, xp.zeros((), dtype=x.dtype))
        self.train = train
        self.observed = self.samples.size / math.prod(x.shape)
        self.route = route
        self._grid = None

    def _sweep(self, route):
        if route == "em":
            return lambda: EMSweep(self.x, self.train)
        if route == "grid":
            if self._grid is None:  # the unfoldings serve every fit (restarts, ranks)
                self._grid = GridSweep(self.x, self.train)
            return lambda: Extrapolated(self._grid)
        return None

    def fit(self, ranks, settings, wrap=None):
        route = self.route or choose_route(self.observed, ranks)
        return fit_masked_ring(
            self.samples,
            ranks,
            settings,
            x=self.x,
            held_out=self.held,
            wrap=wrap,
            sweep=self._sweep(route),
        )


def _check_mask_array(m, shape, name):
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


class Extrapolated:
    """An exact masked sweep followed by a line search along the sweep's step.

    After sweep ``it`` moves the cores from ``H`` to ``H'``, the ring
    ``H + s (H' − H)`` with ``s = it^(1/3)`` (Bro's extrapolation for ALS) is tried
    and kept when its training error is lower, so no sweep raises the error; one
    error evaluation per sweep. In the slow linear phase of masked ALS it cuts the
    sweeps to a given error (measured, Indian Pines 64×64×200, 50% missing, STT
    t = 2, R = 8: held-out 0.06476 after 100 sweeps against 0.06498 without, which
    needed 250 sweeps for 0.06477). Used for the dense-grid route only: with few
    samples per parameter (the per-sample route, below 10% observed) reaching the
    training minimum sooner overfits (Indian Pines 32×32×200, 95% missing, about 4
    samples per parameter: held-out 0.173 at training error 0.055, against 0.145 at
    0.059 without). EM sweeps carry their fill from sweep to sweep and are not
    extrapolated.
    """

    def __init__(self, sweep):
        self.sweep = sweep
        self.it = 0

    def __call__(self, cores):
        old = list(cores)  # the sweep puts new arrays in the list, the old stay intact
        err = self.sweep(cores)
        self.it += 1
        if self.it > 1:
            step = self.it ** (1.0 / 3.0)
            trial = [h + step * (new - h) for h, new in zip(old, cores)]
            trial_err = self.sweep.error(trial)
            if trial_err < err:
                cores[:] = trial
                err = trial_err
        return err

    def error(self, cores):
        return self.sweep.error(cores)


def fit_masked_ring(samples, ranks, settings, *, x=None, held_out=None, wrap=None, sweep=None):
    """Fit a tensor ring of ``ranks`` to ``samples``; restarts keep the best.

    ``x``: the zero-filled dense tensor, when there is one (the "svd"
    start). ``held_out``: validation entries, never fitted: `Samples`, or anything
    with an ``error(cores)`` (e.g. a `_masked_grid.GridSweep` of the held-out mask). The best fit
    is the one of least held-out error when there is validation data, else of least
    training error. ``sweep``: a factory of the sweep to run (``sweep()(cores)``
    updates the cores and returns the training error, ``sweep().error(cores)`` is
    the training error of ``cores``; default `_masked_als.SampleSweep`). Returns
    ``(cores, info)``.
    """
    if held_out is not None and not hasattr(held_out, "error"):
        held_out = SampleSweep(held_out)
    with small_blas(samples.values):
        best = None
        for restart in range(settings.n_restarts):
            start = _start(settings, restart, x, samples, ranks)
            step = SampleSweep(samples) if sweep is None else sweep()
            cores, info = _fit(samples, start, settings, held_out, wrap, step)
            key = min(info.held_out_errors) if held_out is not None else info.rel_error
            if best is None or key < best[0]:
                best = (key, cores, info)
            if info.stop_reason == "callback":
                break
        return best[1], best[2]


def _fit(samples, cores, s, held_out, wrap, step):
    clock = time.perf_counter
    t0 = clock()
    cores = list(cores)
    err = step.error(cores)
    info = FitInfo(method="als", errors=[err], times=[clock() - t0])
    level = logging.INFO if s.verbose else logging.DEBUG
    best_val = None
    if held_out is not None:
        val = held_out.error(cores)
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
        err = step(cores)
        info.errors.append(err)
        info.times.append(clock() - t0)
        info.n_iter = it
        logger.log(level, "%s masked sweep %d: training error %.6e", s.name, it, err)
        if held_out is not None:
            val = held_out.error(cores)
            info.held_out_errors.append(val)
            if val < best_val[0]:
                best_val = (val, it, list(cores), err)
            elif it - best_val[1] >= PATIENCE:
                info.converged, info.stop_reason = True, "held_out"
                break
        if stopped_early(info, it, err, stop_by_callback, _EXACT, s.stop_at):
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
