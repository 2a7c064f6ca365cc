"""numba kernels for large stacks of tiny STPs on numpy arrays.

A stack of thousands of 4×4 products spends its time in per-matrix call overhead of
batched GEMM, reshapes and gathers; one compiled loop that writes every output entry
directly (SPEC §1 index formulas, see `generic`) is faster there. Imported only when
`route.choose` picks it, so ``import semitensor`` never imports numba.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .plans import left_blocks, right_blocks
from .route import PARALLEL_MIN_ENTRIES

__all__ = ["stp_stack"]


@numba.njit(cache=True, nogil=True)
def _left_stack(A, B, a, b, g, kk, ll, zero, out, r0, r1):  # pragma: no cover - compiled
    m = A.shape[1]
    q = B.shape[2]
    # 0 for an unbatched operand shared by the whole stack (ints, so that numba
    # does not unify the index with prange's unsigned counter into a float).
    step_a = 1 if A.shape[0] > 1 else 0
    step_b = 1 if B.shape[0] > 1 else 0
    for r in range(r0, r1):
        ra = r * step_a
        rb = r * step_b
        for i in range(m):
            for al in range(a):
                for kq in range(b):
                    # output position (α, β = s mod b), s = α + a·k', holds block
                    # d = k' + s // b (see `plans.left_blocks`)
                    s = al + a * kq
                    be = s % b
                    d = kq + s // b
                    kp = kk[d]
                    lp = ll[d]
                    for j in range(q):
                        acc = zero
                        for c in range(g):
                            acc += A[ra, i, c * b + kp] * B[rb, c * a + lp, j]
                        out[r, i * a + al, j * b + be] = acc


@numba.njit(cache=True, nogil=True)
def _right_stack(A, B, blocks, zero, out, r0, r1):  # pragma: no cover - compiled
    m, n = A.shape[1], A.shape[2]
    p, q = B.shape[1], B.shape[2]
    # 0 for an unbatched operand shared by the whole stack (ints, so that numba
    # does not unify the index with prange's unsigned counter into a float).
    step_a = 1 if A.shape[0] > 1 else 0
    step_b = 1 if B.shape[0] > 1 else 0
    for r in range(r0, r1):
        ra = r * step_a
        rb = r * step_b
        for blk in range(blocks.shape[0]):
            al = blocks[blk, 0]
            be = blocks[blk, 1]
            lo = blocks[blk, 2]
            hi = blocks[blk, 3]
            for i in range(m):
                for j in range(q):
                    acc = zero
                    for s in range(lo, hi):
                        acc += A[ra, i, s - al * n] * B[rb, s - be * p, j]
                    out[r, al * m + i, be * q + j] = acc


@numba.njit(cache=True, nogil=True, parallel=True)
def _left_par(A, B, a, b, g, kk, ll, zero, out, n_chunks):  # pragma: no cover - compiled
    n = out.shape[0]
    for c in numba.prange(n_chunks):
        _left_stack(A, B, a, b, g, kk, ll, zero, out, c * n // n_chunks, (c + 1) * n // n_chunks)


@numba.njit(cache=True, nogil=True, parallel=True)
def _right_par(A, B, blocks, zero, out, n_chunks):  # pragma: no cover - compiled
    n = out.shape[0]
    for c in numba.prange(n_chunks):
        _right_stack(A, B, blocks, zero, out, c * n // n_chunks, (c + 1) * n // n_chunks)


def _n_chunks(out):
    # One thread: the serial body (a parallel region on one thread runs its loops
    # several times slower); small stacks stay serial too (waking threads costs more).
    threads = numba.get_num_threads()
    if threads == 1 or out.size < PARALLEL_MIN_ENTRIES:
        return 1
    return min(out.shape[0], 4 * threads)


def stp_stack(A, B, side):
    """STP of numpy stacks ``A (..., m, n)``, ``B (..., p, q)``; batch shapes equal or empty.

    ``A`` and ``B`` already share one dtype (`product` settles it).
    """
    m, n = A.shape[-2:]
    p, q = B.shape[-2:]
    # Two stacks of equal order: the longer one sets the batch (the other has one entry).
    if A.ndim != B.ndim:
        batch = A.shape[:-2] if A.ndim > B.ndim else B.shape[:-2]
    else:
        batch = A.shape[:-2] if math.prod(A.shape[:-2]) >= math.prod(B.shape[:-2]) else B.shape[:-2]
    A3 = np.ascontiguousarray(A.reshape((-1, m, n)))
    B3 = np.ascontiguousarray(B.reshape((-1, p, q)))
    count = max(A3.shape[0], B3.shape[0])
    g = math.gcd(n, p)
    a, b = p // g, n // g
    zero = A.dtype.type(0)
    if side == "left":
        kk, ll = left_blocks(a, b)
        out = np.empty((count, m * a, q * b), dtype=A.dtype)
        chunks = _n_chunks(out)
        if chunks == 1:
            _left_stack(A3, B3, a, b, g, kk, ll, zero, out, 0, count)
        else:
            _left_par(A3, B3, a, b, g, kk, ll, zero, out, chunks)
    else:
        blocks = np.array(right_blocks(n, p), dtype=np.int64)
        out = np.zeros((count, m * a, q * b), dtype=A.dtype)
        chunks = _n_chunks(out)
        if chunks == 1:
            _right_stack(A3, B3, blocks, zero, out, 0, count)
        else:
            _right_par(A3, B3, blocks, zero, out, chunks)
    return out.reshape(tuple(batch) + out.shape[1:])
