"""General left STP with short rows of ``B``: block products down the columns (numba).

Where ``q`` is small (a few entries a block row), the fused kernel of `numba_dense`
runs its multiply-add loops along ``j`` (a handful of iterations, each pass paying its
setup) and BLAS multiplies ``a+b−1`` thin matrices at 5-10 GFlop/s. This kernel
vectorises along the rows ``i`` of ``A`` instead: a tile of ``mt`` rows of one stack
entry is transposed into a buffer (``AT[col, ii]``), every block entry ``(d, j)`` is
accumulated over ``c`` as an ``mt``-long vector (``acc[j, ii] += AT[c·b+k_d, ii] ·
B[c·a+l_d, j]``, four terms a pass), written into the tile's block rows, and the
tile's bands are placed by `numba_place` (``bench_stp.py --sweep``: the planner
measures it against the other kernels and keeps it only where it wins).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .numba_dense import _band_offsets, _chunks, _threads
from .numba_place import _t4
from .numba_place import place_band as _place_band
from .plans import left_blocks

__all__ = ["left_cols", "buffer_sizes", "TILE"]

_U = np.uint64
_JIT = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}
# The tile height (rows of A per task).
TILE = 64


@numba.njit(**_JIT)
def _transpose(A, abase, n, h, AT, ld):  # pragma: no cover - compiled
    # AT[col·ld + ii] = A[abase + ii·n + col] for ii < h: 4×4 register transposes
    # (the last tile of a row or column overlapping the one before), scalar below 4.
    # One entry a load and store with stores ld apart ran at 2.7 ns an entry.
    if h < 4 or n < 4 or AT.itemsize > 8:
        for ii in range(h):
            src = abase + _U(ii * n)
            for col in range(n):
                AT[_U(col) * ld + _U(ii)] = A[src + _U(col)]
        return
    un = _U(n)
    for ii in range(0, h, 4):
        if ii > h - 4:
            ii = h - 4
        s0 = abase + _U(ii) * un
        for col in range(0, n, 4):
            if col > n - 4:
                col = n - 4
            uc = _U(col)
            _t4(
                A,
                s0 + uc,
                s0 + un + uc,
                s0 + _U(2) * un + uc,
                s0 + _U(3) * un + uc,
                AT,
                uc * ld + _U(ii),
                ld,
            )


@numba.njit(**_JIT)
def _cols_tasks(A, B, NA, NB, m, n, p, q, a, b, kk, ll, T, out, mt, t0, t1, AT, acc, C):  # noqa: E501  # pragma: no cover
    # A task is one tile: stack entry r, rows i0 .. i0+h of A (h <= mt).
    g = n // b
    D = kk.shape[0]
    tiles = (m + mt - 1) // mt
    step_a = 1 if NA > 1 else 0
    step_b = 1 if NB > 1 else 0
    umt = _U(mt)
    # AT's rows padded by 4 entries: rows 512 bytes apart (mt = 64) share cache sets
    uld = _U(mt + 4)
    g4 = g - g % 4
    Dq = D * q
    band = a * q * b
    for task in range(t0, t1):
        r = task // tiles
        i0 = (task - r * tiles) * mt
        h = min(mt, m - i0)
        abase = _U((r * step_a * m + i0) * n)
        bbase = _U(r * step_b * p * q)
        _transpose(A, abase, n, h, AT, uld)
        for d in range(D):
            k = _U(kk[d])
            lr = _U(ll[d])
            for x in range(q * mt):
                acc[_U(x)] = A[0] * 0
            for c in range(0, g4, 4):
                r0 = (_U(c * b) + k) * uld
                r1 = r0 + _U(b) * uld
                r2 = r1 + _U(b) * uld
                r3 = r2 + _U(b) * uld
                bo = bbase + (_U(c * a) + lr) * _U(q)
                sb = _U(a * q)
                for j in range(q):
                    uj = _U(j)
                    b0 = B[bo + uj]
                    b1 = B[bo + sb + uj]
                    b2 = B[bo + _U(2) * sb + uj]
                    b3 = B[bo + _U(3) * sb + uj]
                    o = uj * umt
                    for ii in range(h):
                        u = _U(ii)
                        acc[o + u] += (AT[r0 + u] * b0 + AT[r1 + u] * b1) + (
                            AT[r2 + u] * b2 + AT[r3 + u] * b3
                        )
            for c in range(g4, g):
                r0 = (_U(c * b) + k) * uld
                bo = bbase + (_U(c * a) + lr) * _U(q)
                for j in range(q):
                    bv = B[bo + _U(j)]
                    o = _U(j) * umt
                    for ii in range(h):
                        acc[o + _U(ii)] += AT[r0 + _U(ii)] * bv
            for j in range(q):
                o = _U(j) * umt
                dst = _U(d * q + j)
                for ii in range(h):
                    C[_U(ii * Dq) + dst] = acc[o + _U(ii)]
        first = (r * m + i0) * band
        for ii in range(h):
            _place_band(C, ii * Dq, T, a, b, q, out, first + ii * band)


@numba.njit(cache=True, nogil=True, parallel=True)
def _cols_par(A, B, NA, NB, m, n, p, q, a, b, kk, ll, T, out, mt, n_tasks, n_chunks):  # noqa: E501  # pragma: no cover
    for c in numba.prange(n_chunks):
        AT = np.empty(n * (mt + 4), dtype=out.dtype)
        acc = np.empty(q * mt, dtype=out.dtype)
        C = np.empty(kk.shape[0] * q * mt, dtype=out.dtype)
        t0 = c * n_tasks // n_chunks
        t1 = (c + 1) * n_tasks // n_chunks
        _cols_tasks(A, B, NA, NB, m, n, p, q, a, b, kk, ll, T, out, mt, t0, t1, AT, acc, C)


def left_cols(A3, B3, out3, parallel):
    """Left STP of ``(NA, m, n)`` and ``(NB, p, q)`` stacks (NA, NB equal or 1) into ``out3``.

    All inputs C-contiguous, ``a, b > 1``. Tiles of up to 64 rows of ``A``; the
    buffers (``n·mt`` transposed entries, ``(a+b−1)·q·mt`` block entries) are sized
    per call.
    """
    m, n = A3.shape[-2:]
    p, q = B3.shape[-2:]
    g = math.gcd(n, p)
    a, b = p // g, n // g
    kk, ll = left_blocks(a, b)
    T = _band_offsets(a, b, q)
    mt = min(TILE, m)
    n_tasks = out3.shape[0] * (-(-m // mt))
    args = (A3.reshape(-1), B3.reshape(-1), A3.shape[0], B3.shape[0], m, n, p, q, a, b)
    args += (kk, ll, T, out3.reshape(-1), mt)
    if _threads(parallel) and n_tasks > 1:
        _cols_par(*args, n_tasks, _chunks(n_tasks, True))
    else:
        bufs = (np.empty(size, dtype=out3.dtype) for size in buffer_sizes(n, q, kk.size, mt))
        _cols_tasks(*args, 0, n_tasks, *bufs)
    return out3


def buffer_sizes(n, q, D, mt):
    """Entries of the serial kernel's buffers ``AT``, ``acc`` and ``C``."""
    return n * (mt + 4), q * mt, D * q * mt
