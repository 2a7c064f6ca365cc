"""Ring-ALS on a dask tensor: every pass over the data is one chunk-wise contraction.

The one-core sweep of `_ring_als.Sweeper` with its data step replaced: the right-hand
side of core ``k`` (``X`` contracted with every other core) is summed over chunks,
each chunk contracting with the rows of the cores its index ranges select
(`block_sum`). The normal equations come from the cores alone, exactly as in the
numpy engine, on the client in numpy. A sweep is thus ``N`` passes over the data
(the numpy engine caches partial contractions of the tensor's size and makes about
one); memory per task is a chunk plus intermediates of its size.

The start is given cores, random cores (the draws of the numpy fit), or a Gram-route
TR-SVD sweep whose Grams are chunk-wise contractions. Two-core (DMRG) sweeps are not
run on dask: ``warmup`` must be ``"auto"`` (meaning none here) or 0, so a numpy fit
equals a dask fit with ``warmup=0`` and the same start.
"""

from __future__ import annotations

import logging
import math
import string
import time

import numpy as np

from .._kernels.dask_blocks import block_sum
from ..formats.str import STRTensor
from ._dask_prepare import frob_error
from ._linalg import _PAD, fix_signs, solve_spd
from ._progress import SweepBar
from ._ring_als import _block_gram, _eye_gram, _gram_step_left, _gram_step_right
from ._ring_fit import _EXACT, _EXACT_CHECK
from ._starts import random_ring
from ._stopping import logger, settled, stopped_early
from .fitinfo import FitInfo

__all__ = ["check_dask_warmup", "fit_tensor_ring_dask"]


def check_dask_warmup(warmup, name):
    """Two-core sweeps are not run on dask: ``"auto"`` or 0 only."""
    if warmup not in ("auto", 0):
        raise ValueError(
            f"{name}: warmup={warmup!r} is not available for a dask tensor (no two-core "
            "sweeps are run on dask); use warmup='auto' or 0"
        )


def _rhs_subscripts(n, k):
    """Einsum subscripts of ``b_k = X ×_{m≠k} H_m`` (mode letters, then bond letters)."""
    modes, bonds = string.ascii_lowercase[:n], string.ascii_uppercase[: n + 1]
    bonds = bonds[:n] + bonds[0]  # the ring closes: r_N = r_0
    cores = [bonds[m] + modes[m] + bonds[m + 1] for m in range(n) if m != k]
    return f"{modes},{','.join(cores)}->{bonds[k]}{modes[k]}{bonds[k + 1]}"


def rhs(x, cores, k):
    """Lazy ``b[a_k, i_k, a_{k+1}]``: the tensor contracted with every core but ``k``."""
    n = x.ndim
    subs = _rhs_subscripts(n, k)
    others = [m for m in range(n) if m != k]
    r, size, q = cores[k].shape

    def one(block, starts):
        sl = [slice(s, s + b) for s, b in zip(starts, block.shape)]
        ops = [cores[m][:, sl[m], :] for m in others]
        part = np.einsum(subs, block, *ops, optimize="greedy")
        out = np.zeros((r, size, q))
        out[:, sl[k], :] = part
        return out

    return block_sum(x, one, (r, size, q))


def ring_error(x, cores, norm_x):
    """``‖X − X̂‖/‖X‖`` chunk by chunk (the exact error, no cancellation)."""
    # A tensor ring is an STR with t = 1; its lazy reconstruction has the data's chunks.
    return frob_error(x, STRTensor(cores, 1).to_tensor(chunks=x.chunks)) / norm_x


def _right_grams(cores):
    g = [None] * (len(cores) + 1)
    g[-1] = _eye_gram(np, cores[0])
    for k in range(len(cores) - 1, 0, -1):
        g[k] = _gram_step_right(np, cores[k], g[k + 1])
    return g


def one_core_sweep(x, cores, norm_sq):
    """One ALS sweep (as `Sweeper.one_core_sweep`); updates ``cores``, returns the error."""
    n = len(cores)
    grams = _right_grams(cores)
    gl = None
    for k in range(n):
        b = rhs(x, cores, k).compute()
        gram = _block_gram(np, gl, grams[k + 1])
        rk, ib, re = b.shape
        bm = b.transpose(0, 2, 1).reshape(rk * re, ib)
        y = solve_spd(gram, bm)
        cores[k] = np.ascontiguousarray(y.reshape(rk, re, ib).transpose(0, 2, 1))
        if k == n - 1:
            inner, fit_sq = float(np.vdot(bm, y)), float(np.vdot(y, gram @ y))
            return math.sqrt(max(norm_sq - 2.0 * inner + fit_sq, 0.0) / norm_sq)
        gl = _gram_step_left(np, _eye_gram(np, cores[k]) if gl is None else gl, cores[k])
    raise AssertionError("unreachable: the loop returns at its last core")


def tr_svd_dask(x, ranks, rng):
    """A TR-SVD sweep by the Gram route: each basis from a chunk-wise Gram (see `_starts`)."""
    import dask.array as da

    n, shape = x.ndim, x.shape
    r0, r1 = ranks[0], ranks[1]
    u = _basis(da.tensordot(x, x, axes=(range(1, n), range(1, n))).compute(), r0 * r1, rng)
    cores = [np.ascontiguousarray(u.reshape(shape[0], r1, r0).transpose(2, 0, 1))]
    # rest[a_1, i_1, …, i_{N−1}, a_0] = Σ_i u[i, (a_1, a_0)] X[i, …]
    rest = da.tensordot(u.reshape(shape[0], r1, r0), x, axes=([0], [0]))
    rest = da.moveaxis(rest, 1, -1)
    for k in range(1, n - 1):
        axes = list(range(2, rest.ndim))
        g = da.tensordot(rest, rest, axes=(axes, axes)).compute()
        m = ranks[k] * shape[k]
        u = _basis(g.reshape(m, m), ranks[k + 1], rng)
        cores.append(u.reshape(ranks[k], shape[k], ranks[k + 1]))
        rest = da.tensordot(u.reshape(ranks[k], shape[k], -1), rest, axes=([0, 1], [0, 1]))
    cores.append(np.ascontiguousarray(rest.compute()))
    return cores


def _basis(gram, k, rng):
    """Top-``k`` eigenvectors of a Gram (``_linalg.leading_basis``'s noise beyond its rank)."""
    _, v = np.linalg.eigh(gram)
    m = gram.shape[0]
    u = fix_signs(np, np.ascontiguousarray(np.flip(v, axis=1)[:, : min(k, m)]))
    if k > m:
        u = np.concatenate([u, rng.standard_normal((m, k - m)) * _PAD / math.sqrt(m)], axis=1)
    return np.ascontiguousarray(u)


def fit_tensor_ring_dask(x, ranks, settings, norm_x, *, wrap=None):
    """`_ring_fit.fit_tensor_ring` on a dask tensor: start, one-core sweeps, restarts."""
    s = settings
    best = None
    for restart in range(s.n_restarts):
        if restart == 0 and not isinstance(s.init, str):
            start = [np.array(c, dtype=np.float64) for c in s.init]
        elif restart == 0 and s.init == "svd":
            start = tr_svd_dask(x, ranks, s.rng)
        else:
            start = random_ring(x.shape, ranks, s.rng, scale=norm_x)
        if s.method == "svd":
            err = ring_error(x, start, norm_x)
            info = FitInfo(method="svd", converged=True, stop_reason="closed_form", errors=[err])
            return start, info
        cores, info = _fit(x, start, s, norm_x, wrap)
        if best is None or info.rel_error < best[1].rel_error:
            best = (cores, info)
        if info.stop_reason == "callback":
            break
    return best


def _fit(x, cores, s, norm_x, wrap):
    t0 = time.perf_counter()
    level = logging.INFO if s.verbose else logging.DEBUG
    err = ring_error(x, cores, norm_x)
    info = FitInfo(method="als", errors=[err], times=[time.perf_counter() - t0])

    def stop_by_callback(it, err):
        if s.callback is None:
            return False
        copies = [np.array(c, copy=True) for c in cores]
        return s.callback(it, wrap(copies) if wrap else copies, err)

    if stop_by_callback(0, err):
        info.stop_reason = "callback"
        return cores, info
    if err <= _EXACT:
        info.converged, info.stop_reason = True, "exact"
        return cores, info
    info.stop_reason = "n_iter_max"
    bar = SweepBar(s.verbose, s.n_iter_max, s.name)
    try:
        for it in range(1, s.n_iter_max + 1):
            err = one_core_sweep(x, cores, norm_x**2)
            if err < _EXACT_CHECK:
                err = ring_error(x, cores, norm_x)
            info.errors.append(err)
            info.times.append(time.perf_counter() - t0)
            info.n_iter = it
            bar.update(err)
            logger.log(level, "%s sweep %d (dask): relative error %.6e", s.name, it, err)
            if stopped_early(info, it, err, stop_by_callback, _EXACT, s.stop_at):
                break
            if settled(info.errors, s.tol):
                info.converged, info.stop_reason = True, "tol"
                break
    finally:
        bar.close()
    return cores, info
