"""`sttu_decompose` on a dask array: HOSVD and HOOI with chunk-wise passes.

The driver is the numpy one (`sttu._fit`): only the problem object differs. Its
products are the dask `stp_mode_dot` (lazy, chunk-wise); a subspace needs a small
array, which is computed to numpy once (memoised by its dask key) and handed to the
numpy code. So HOOI forms each Gram after projecting the other modes: the data
gathered is ``I_n × ∏_{k≠n} R_k``, never the tensor. Every projection is settled
(`_settle`): gathered to the client when small, else persisted on the workers,
chunked as the data (at most ``R_n/I_n`` of its size); the sweeps reuse them as the
numpy driver reuses its tails, so a HOOI sweep reads the data once. The HOSVD
start needs the Gram of ``Z_n`` of the tensor itself: it is summed over chunks (over
pencils that hold all of mode ``n`` when the chunks split it), a pass per mode. The same data
and settings give the numpy result up to rounding. ``eps`` picks ranks from the same
Gram spectra; an ``eps`` below their resolution (where numpy would take an SVD) is
refused.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from .._kernels.dask_blocks import block_sum, is_dask
from ..formats.sttu import STTuTensor
from ..tenalg import stp_mode_dot
from ._dask_prepare import GATHER_ENTRIES, frob_error, prepare_dask
from ._prepare import cast_cores
from ._sttu_problem import _check_ranks, _Problem, check_sttu_arguments
from ._subspaces import _gram, gram_resolves, mode_blocks, rank_for_eps
from .sttu import _fit

__all__ = ["sttu_decompose_dask"]

# Computed small arrays kept (by dask key): the current sweep's intermediates.
_MEMO_SIZE = 16


class _DaskProblem(_Problem):
    """`sttu._Problem` whose tensor is a dask array (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        object.__setattr__(self, "memo", {})
        object.__setattr__(self, "grams", {})

    def known(self, y):
        """``y`` as numpy if it was computed before (or is numpy), else ``y``."""
        return self.memo.get(y.name, y) if is_dask(y) else y

    def numpy(self, y):
        """``y`` computed to numpy, once."""
        y = self.known(y)
        if is_dask(y):
            name, y = y.name, y.compute()
            if len(self.memo) >= _MEMO_SIZE:
                self.memo.pop(next(iter(self.memo)))
            self.memo[name] = y
        return y

    def project(self, y, factors, modes, keep=False):
        steps = []
        y = self.known(y)
        if not modes:
            return y, steps
        for m in modes:
            y = stp_mode_dot(y, factors[m].T, m, side=self.side)
            if keep:
                steps.append(y)
        # HOOI reuses these projections (its tails): settled, they are not recomputed
        # from the data at each use (which made N − 1 passes a sweep).
        if keep:
            steps = _settle(steps)
            return steps[-1], steps
        return _settle([y])[0], steps

    def subspace(self, y, n, k):
        if y is self.x:
            return self.gram_subspace(n, k)
        return super().subspace(self.numpy(y), n, k)

    def gram_subspace(self, n, k):
        """Leading subspace of ``Z_n`` of the tensor from its chunk-wise Gram."""
        if not self.grams:
            self.grams.update(enumerate(_all_grams(self.x, self.t, self.side)))
        lam, vecs = np.linalg.eigh(self.grams[n])
        sq = lam[::-1].clip(min=0.0)
        if not gram_resolves(sq, k, len(sq), self.dtype_eps):
            # numpy would take the SVD of Z_n here; on dask the Gram is all there is.
            logging.getLogger("semitensor.decomposition").debug(
                "sttu on dask: the Gram of mode %d does not resolve %d directions", n, k
            )
        return np.flip(vecs, axis=1)[:, :k]

    def eps_subspace(self, n, budget):
        """As `sttu._Problem.eps_subspace`, from the chunk-wise Gram of mode ``n``."""
        if not self.grams:
            self.grams.update(enumerate(_all_grams(self.x, self.t, self.side)))
        lam, vecs = np.linalg.eigh(self.grams[n])
        sq = lam[::-1].clip(min=0.0)
        k = rank_for_eps(sq, budget)
        return np.flip(vecs, axis=1)[:, :k], float(sq[k:].sum())

    def rel_error(self, core, factors):
        """As `sttu._Problem.rel_error`; below ``sqrt(u)`` the difference is chunk-wise."""
        core = self.numpy(core)
        if self.norm_x == 0.0:
            return 0.0
        sq = max(self.norm_x**2 - float(np.sum(core * core)), 0.0) / self.norm_x**2
        if sq > 1e4 * self.dtype_eps:
            return math.sqrt(sq)
        approx = STTuTensor(core, list(factors), self.t, self.side).to_tensor(chunks=self.x.chunks)
        return frob_error(self.x, approx) / self.norm_x

    def decomposition(self, core, factors):
        return super().decomposition(self.numpy(core), factors)


def _settle(arrays):
    """Dask arrays computed to numpy when small (`GATHER_ENTRIES`), else persisted.

    One submission when all are small (a persisted chain would otherwise be read
    again by the small arrays computed from it).
    """
    import dask

    lazy = [i for i, a in enumerate(arrays) if is_dask(a)]
    out = list(arrays)
    if any(arrays[i].size > GATHER_ENTRIES for i in lazy):
        for i, a in zip(lazy, dask.persist(*(arrays[i] for i in lazy))):
            out[i] = a
    small = [i for i in lazy if arrays[i].size <= GATHER_ENTRIES]
    for i, a in zip(small, dask.compute(*(out[i] for i in small))):
        out[i] = a
    return out


def _all_grams(x, t, side):
    """The Gram ``Z_nZ_nᵀ`` of every mode, summed over chunks (one pass per mode).

    A chunk that holds all of mode ``n`` gives its share of the Gram directly; a split
    mode is first gathered into pencils (``rechunk``: one chunk along ``n``, the
    other chunks kept), so a task holds one pencil. One pass per mode, not one for
    all: shared source chunks would otherwise stay in memory until every mode used
    them.
    """
    out = []
    for n in range(x.ndim):
        xn = x if x.numblocks[n] == 1 else x.rechunk({n: -1})
        j = x.shape[n] // t[n]
        lazy = block_sum(xn, lambda b, _, n=n: _gram(np, mode_blocks(np, b, n, t[n], side)), (j, j))
        out.append(lazy.compute())
    return out


def sttu_decompose_dask(
    tensor, ranks, t, *, side, method, n_iter_max, tol, eps, random_state, verbose, callback
):
    """`~semitensor.decomposition.sttu.sttu_decompose` of a dask array (same contract)."""
    x, out_dtype, scale, norm_x = prepare_dask(tensor, min_ndim=1)
    shape = tuple(x.shape)
    t, side, settings = check_sttu_arguments(
        shape, t, side, method, n_iter_max, tol, eps, random_state, verbose, callback
    )
    ranks = _check_ranks(ranks, settings.eps, shape, t)
    u = float(np.finfo(np.float64).eps)
    if settings.eps is not None:
        _check_eps_resolvable(settings.eps, shape, t, u)
    level = logging.INFO if verbose else logging.DEBUG
    prob = _DaskProblem(np, x, norm_x, t, side, u, scale)
    core, factors, info = _fit(prob, ranks, settings.eps, method, n_iter_max, tol, callback, level)
    (core,) = cast_cores(np, [prob.numpy(core)], out_dtype, scale)
    result = STTuTensor(core, cast_cores(np, factors, out_dtype), t, side)
    result.info = info
    return result


def _check_eps_resolvable(eps, shape, t, u):
    """ValueError for an ``eps`` that a Gram's eigenvalues cannot resolve.

    In memory such an ``eps`` takes the SVD of ``Z_n`` (see `sttu._Problem.eps_subspace`);
    on dask the Gram is all there is, and below this bound its eigenvalues are rounding.
    """
    j = max(size // tn for size, tn in zip(shape, t))
    smallest = math.sqrt(100 * len(shape) * j * j * u)
    if eps < smallest:
        raise ValueError(
            f"eps={eps} is below {smallest:.2g}, the smallest relative error the Gram "
            f"matrices of a dask tensor of shape {shape} resolve; use a larger eps, give "
            "ranks, or fit a numpy array"
        )
