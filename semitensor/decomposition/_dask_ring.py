"""Ring-ALS on a dask tensor: two passes over the data a sweep, as in memory.

The one-core sweep of `_ring_als.Sweeper` with its data steps made chunk-wise. The
right-hand side of core 0 (``X`` contracted with the chain ``H_1 ⋯ H_{N−1}``) is
summed over chunks, each chunk meeting the chain's slice at its index ranges
(`block_total`); then ``X`` is contracted with the new ``H_0`` into the partial
contraction ``L_1[a_0, a_1, i_1, …]`` (`axis_total`), ``r_0 r_1 / I_0`` of the tensor's
size. Every later core works on ``L_k`` alone, as the numpy engine does: its
right-hand side is ``L_k`` against the chain of the cores after it, and ``L_{k+1}``
is ``L_k`` contracted with ``H_k``. An ``L_k`` of at most `_GATHER_ENTRIES` entries
is gathered to the client and the sweep goes on in numpy (no further round trips);
a larger one is persisted on the workers, chunked as the data, and replaced by the
next. A sweep thus reads the data twice; memory per task is a chunk plus shares of
its size times ``r_0 r_1 / c_0``. Where ``L_1`` would be larger than the tensor
(``r_0 r_1 > I_0``), or kept on a cluster would take more than a quarter of the
workers' memory limits, no cache is kept: each core's right-hand side is then its
own pass over the data (`rhs`, ``N`` passes a sweep).

The normal equations come from the cores alone, exactly as in the numpy engine, on
the client in numpy. The start is given cores, random cores (the draws of the numpy
fit), or a Gram-route TR-SVD sweep whose Grams are chunk-wise contractions. Two-core
(DMRG) sweeps are not run on dask: ``warmup`` must be ``"auto"`` (meaning none here)
or 0, so a numpy fit equals a dask fit with ``warmup=0`` and the same start.
"""

from __future__ import annotations

import functools
import logging
import math
import string
import time

import numpy as np

from .._kernels.dask_blocks import axis_total, block_total, is_dask
from ..formats.str import STRTensor
from ._dask_prepare import GATHER_ENTRIES, frob_error, worker_memory
from ._linalg import _PAD, fix_signs, solve_spd
from ._progress import SweepBar
from ._ring_als import _block_gram, _eye_gram, _gram_step_left, _gram_step_right
from ._ring_fit import _EXACT, _EXACT_CHECK
from ._starts import random_ring
from ._stopping import logger, settled, stopped_early
from .fitinfo import FitInfo

__all__ = ["check_dask_warmup", "fit_tensor_ring_dask"]

# ``L_1`` is cached where it holds at most this many times the tensor's entries ...
_CACHE_RATIO = 1.0
# ... and, kept on a cluster, at most this share of the workers' memory limits.
_CACHE_MEMORY = 0.25


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
    """``b[a_k, i_k, a_{k+1}]`` (numpy): the tensor contracted with every core but ``k``."""
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

    return block_total(x, one)


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


def one_core_sweep(x, cores, norm_sq, cached=None):
    """One ALS sweep (as `Sweeper.one_core_sweep`); updates ``cores``, returns the error.

    ``cached``: whether ``L_1`` may be kept (`_cache_fits`, computed here when None);
    it depends on the shapes only, so a fit decides it once.
    """
    n = len(cores)
    if cached is None:
        cached = _cache_fits(x.shape, cores[0])
    grams = _right_grams(cores)
    left, gl = x, None
    for k in range(n):
        b = _left_rhs(left, cores, k) if cached else rhs(x, cores, k)
        gram = _block_gram(np, gl, grams[k + 1])
        rk, ib, re = b.shape
        bm = b.transpose(0, 2, 1).reshape(rk * re, ib)
        y = solve_spd(gram, bm)
        cores[k] = np.ascontiguousarray(y.reshape(rk, re, ib).transpose(0, 2, 1))
        if k == n - 1:
            inner, fit_sq = float(np.vdot(bm, y)), float(np.vdot(y, gram @ y))
            return math.sqrt(max(norm_sq - 2.0 * inner + fit_sq, 0.0) / norm_sq)
        if cached:
            left = _advance(left, cores, k)
        gl = _gram_step_left(np, _eye_gram(np, cores[k]) if gl is None else gl, cores[k])
    raise AssertionError("unreachable: the loop returns at its last core")


def _cache_fits(shape, h0):
    """Whether ``L_1`` (``r_0 r_1 / I_0`` of the tensor) may be kept for the sweep."""
    r0, _, r1 = h0.shape
    if r0 * r1 > _CACHE_RATIO * shape[0]:
        return False
    entries = r0 * r1 * math.prod(shape[1:])
    memory = None if entries <= GATHER_ENTRIES else worker_memory()
    return memory is None or 8 * entries <= _CACHE_MEMORY * memory


def _chain(cores, lo, sl):
    """``(H_lo ⋯ H_{N−1})`` at the index ranges ``sl[lo:]``, as ``(r_lo, J, r_0)``."""
    c = cores[-1][:, sl[-1], :]
    for m in range(len(cores) - 2, lo - 1, -1):
        h = cores[m][:, sl[m], :]
        r, size, q = h.shape
        c = (h.reshape(r * size, q) @ c.reshape(q, -1)).reshape(r, -1, c.shape[-1])
    return c


def _rhs_share(block, starts, cores, k):
    """The share of one block of ``L_k`` (of ``X`` for k = 0) in ``b_k`` (for `block_total`)."""
    r, size, q = cores[k].shape
    out = np.zeros((r, size, q))
    if k == 0:  # b[a_0, i_0, a_1] = Σ_J X[i_0, J] C[a_1, J, a_0]
        sl = [slice(s, s + d) for s, d in zip(starts, block.shape)]
        c = _chain(cores, 1, sl)
        part = np.tensordot(block.reshape(block.shape[0], -1), c, axes=([1], [1]))
        out[:, sl[0], :] = part.transpose(2, 0, 1)
        return out
    # block[a_0, a_k, i_k, J'] of L_k; b[a_k, i_k, a_{k+1}] = Σ L C[a_{k+1}, J', a_0]
    sl = [None] * k + [slice(s, s + d) for s, d in zip(starts[2:], block.shape[2:])]
    c = _chain(cores, k + 1, sl)
    r0, rk, ck = block.shape[:3]
    part = np.tensordot(block.reshape(r0, rk * ck, -1), c, axes=([0, 2], [2, 1]))
    out[:, sl[k], :] = part.reshape(rk, ck, q)
    return out


def _left_rhs(left, cores, k):
    """``b_k`` (numpy) from ``L_k`` (``X`` for k = 0; dask or numpy)."""
    if k == len(cores) - 1:  # L_{N−1}[a_0, a_{N−1}, i_{N−1}] is b up to the order
        return np.ascontiguousarray(left.transpose(1, 2, 0))
    if is_dask(left):
        one = functools.partial(_rhs_share, cores=tuple(cores), k=k)
        return block_total(left, one)
    return _rhs_share(left, (0,) * left.ndim, cores, k)


def _advance_share(block, a, cores, k):
    """The share of one block of ``L_k`` (of ``X``) in ``L_{k+1}``, rows from ``a`` on."""
    r0, q = cores[0].shape[0], cores[k].shape[2]
    h = cores[k][:, a : a + block.shape[0 if k == 0 else 2], :]
    if k == 0:  # Σ_i H_0[a_0, i, a_1] X[i, J]
        out = np.tensordot(h, block.reshape(block.shape[0], -1), axes=([1], [0]))
        return out.reshape((r0, q) + block.shape[1:])
    # Σ_{a_k, i} H_k[a_k, i, a_{k+1}] L_k[a_0, a_k, i, J]
    rk, ck = h.shape[:2]
    out = np.matmul(h.reshape(rk * ck, q).T[None], block.reshape(r0, rk * ck, -1))
    return out.reshape((r0, q) + block.shape[3:])


def _advance(left, cores, k):
    """``L_{k+1}`` from ``L_k`` and the new ``H_k``: gathered when small, else persisted."""
    if not is_dask(left):
        return _advance_share(left, 0, cores, k)
    one = functools.partial(_advance_share, cores=tuple(cores), k=k)
    lead = (cores[0].shape[0], cores[k].shape[2])
    axis = 0 if k == 0 else 2
    size = math.prod(lead) * math.prod(left.shape[axis + 1 :])
    keep = size > GATHER_ENTRIES and k + 2 < len(cores)
    return axis_total(left, axis, one, lead, keep=keep)


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
    cached = _cache_fits(x.shape, cores[0])  # shapes only: one cluster query per fit
    try:
        for it in range(1, s.n_iter_max + 1):
            err = one_core_sweep(x, cores, norm_x**2, cached)
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
