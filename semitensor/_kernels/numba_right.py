"""numba kernels of the right STP and of outer products (numpy only; see `numba_dense`).

``right_fused`` writes each right-STP output row segment as a short sum over the
overlap of the two partitions, into a zeroed output; ``outer`` writes an outer product
row by row. Imported only when a kernel is picked: ``import semitensor`` never
imports numba.
"""

from __future__ import annotations

import numba
import numpy as np

from .numba_dense import _JIT, _U, _chunks, _flat, _sizes, _threads

__all__ = ["right_fused", "outer"]


@numba.njit(**_JIT)
def _right_tasks(A, B, NA, NB, m, n, p, q, a, b, out, t0, t1):  # pragma: no cover
    # A task is one (stack entry, α): the segment bounds depend on α only, so the rows
    # below need no integer division. ``out`` arrives zeroed: only the a+b−1 non-empty
    # blocks' segments are written.
    step_a = 1 if NA > 1 else 0
    step_b = 1 if NB > 1 else 0
    row_len = b * q
    for task in range(t0, t1):
        r = task // a
        al = task - r * a
        first = (al * n) // p
        last = ((al + 1) * n - 1) // p
        abase = r * step_a * m * n
        bbase = _U(r * step_b * p * q)
        for i in range(m):
            orow = _U(((r * a + al) * m + i) * row_len)
            arow = abase + i * n - al * n
            lo = al * n
            for be in range(first, last + 1):
                o = orow + _U(be * q)
                hi = min((al + 1) * n, (be + 1) * p)
                # four terms per pass over the row segment: one load and store of the
                # output per four multiply-adds
                hi4 = lo + (hi - lo) // 4 * 4
                for s in range(lo, hi4, 4):
                    x = _U(arow + s)
                    a0, a1, a2, a3 = A[x], A[x + _U(1)], A[x + _U(2)], A[x + _U(3)]
                    b0 = bbase + _U((s - be * p) * q)
                    b1, b2, b3 = b0 + _U(q), b0 + _U(2 * q), b0 + _U(3 * q)
                    for j in range(q):
                        uj = _U(j)
                        out[o + uj] += (a0 * B[b0 + uj] + a1 * B[b1 + uj]) + (
                            a2 * B[b2 + uj] + a3 * B[b3 + uj]
                        )
                for s in range(hi4, hi):
                    av = A[_U(arow + s)]
                    br = bbase + _U((s - be * p) * q)
                    for j in range(q):
                        out[o + _U(j)] += av * B[br + _U(j)]
                lo = hi


@numba.njit(cache=True, nogil=True, parallel=True)
def _right_par(A, B, NA, NB, m, n, p, q, a, b, out, n_tasks, n_chunks):  # pragma: no cover
    for c in numba.prange(n_chunks):
        t0 = c * n_tasks // n_chunks
        t1 = (c + 1) * n_tasks // n_chunks
        _right_tasks(A, B, NA, NB, m, n, p, q, a, b, out, t0, t1)


@numba.njit(**_JIT)
def _outer(x, y, out):  # pragma: no cover - compiled
    q = y.shape[0]
    if q <= 3:  # column by column: rows of 1-3 entries cost their loop setup each
        for j in range(q):
            yj = y[j]
            for i in range(x.shape[0]):
                out[_U(i * q + j)] = x[i] * yj
        return
    for i in range(x.shape[0]):
        xi = x[i]
        o = _U(i * q)
        for j in range(q):
            out[o + _U(j)] = xi * y[j]


def outer(x, y):
    """``x[:, None] * y[None, :]`` of two 1-d arrays, row by row.

    numpy's broadcasting multiply (and a GEMM with inner size 1) ran 6-12× the cost of
    filling the output when the rows are short (``14868×1 ⋊ 1×3``: bench_stp --sweep).
    """
    out = np.empty((x.shape[0], y.shape[0]), dtype=x.dtype)
    _outer(np.ascontiguousarray(x), np.ascontiguousarray(y), out.reshape(-1))
    return out


def right_fused(A3, B3, out3, parallel):
    """Right STP of ``(NA, m, n)`` and ``(NB, p, q)`` stacks into ``out3``, row by row.

    ``out3`` is zeroed here (the ``a·b − (a+b−1)`` empty blocks stay zero).
    """
    m, n, p, q, g, a, b = _sizes(A3, B3)
    out3[...] = 0
    n_tasks = out3.shape[0] * a
    parallel = _threads(parallel)
    args = (_flat(A3), _flat(B3), A3.shape[0], B3.shape[0], m, n, p, q, a, b, _flat(out3))
    if parallel:
        _right_par(*args, n_tasks, _chunks(n_tasks, True))
    else:
        _right_tasks(*args, 0, n_tasks)
    return out3
