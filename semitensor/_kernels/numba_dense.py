"""numba kernels that write every STP output row once, contiguously (numpy only).

The general left STP has ``a+b−1`` distinct ``m×q`` blocks spread over ``a·b`` output
positions (SPEC §1). With ``s = α + a·k'`` (``0 <= k' < b``) the block at output
position ``(α, β = s mod b)`` is ``d = k' + s // b`` (a new block starts exactly
where ``a`` or ``b`` divides ``s``). For one output row band ``i`` (the ``a`` rows
``i·a+α``, ``a·q·b`` contiguous entries) the kernels hold the ``a+b−1`` blocks' rows
``i`` in a small buffer and write the band front to back.

`numba_place` writes a band from its blocks (4×4 register transposes where it can).
Two ways to get the blocks: ``left_fused`` computes them in the kernel (fast where each
output entry needs a few multiply-adds), ``left_blas`` lets BLAS compute them a row
tile at a time and the kernel places them (fast where ``g`` is large). Every kernel
has a serial body over a task range and a parallel driver, so that products too small
to pay for waking threads stay on one thread (`numba_right` holds the right STP and
outer products).

All arrays reach the kernels flat (1-d) and are indexed with unsigned offsets: a view
per row costs an atomic reference-count pair (20-40 ns, more than a short row), and
numba's negative-index fix-up on signed indices blocked vectorisation. Imported only
when `route` picks a kernel: ``import semitensor`` never imports numba.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numba
import numpy as np

from .numba_place import place_band as _place_band
from .plans import left_blocks

__all__ = ["left_fused", "left_blas"]

_U = np.uint64
_JIT = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}


@numba.njit(**_JIT)
def _offsets(a, b, q, T):  # pragma: no cover - compiled
    # T[α·b + β] = q·d(α, β): where in a band's block buffer (D×q) each output
    # position (α, β) reads. s = α + a·k' walks row α; s // b and s mod b are updated
    # incrementally (two divisions per entry cost more than a short output row).
    step_q, step_r = a // b, a % b
    for al in range(a):
        be = al % b
        quot = al // b
        for kp in range(b):
            T[_U(al * b + be)] = _U((kp + quot) * q)
            be += step_r
            quot += step_q
            if be >= b:
                be -= b
                quot += 1


@numba.njit(**_JIT)
def _left_fused_tasks(A, B, NA, NB, m, n, p, q, a, b, kk, ll, T, out, t0, t1, C):  # noqa: E501  # pragma: no cover
    # A task is one band (stack entry r, row i); C holds its D×q block rows.
    g = n // b
    D = kk.shape[0]
    step_a = 1 if NA > 1 else 0
    step_b = 1 if NB > 1 else 0
    uq = _U(q)
    direct = a == 1 and (b >= q or b >= 8)
    for task in range(t0, t1):
        r = task // m
        i = task - r * m
        abase = _U((r * step_a * m + i) * n)
        bbase = _U(r * step_b * p * q)
        if direct:
            # p | n with long runs of b: out[i, j·b+γ] = Σ_k B[k, j] A[i, k·b+γ] straight
            # into the band, vectorised over γ (no block buffer, no transpose)
            o = _U(task * q * b)
            for j in range(q):
                bv = B[bbase + _U(j)]
                for x in range(b):
                    out[o + _U(x)] = bv * A[abase + _U(x)]
                for k in range(1, p):
                    bv = B[bbase + _U(k * q + j)]
                    ak = abase + _U(k * b)
                    for x in range(b):
                        out[o + _U(x)] += bv * A[ak + _U(x)]
                o += _U(b)
            continue
        if q < 4 and g >= 8:
            _dots(A, B, abase, bbase, a, b, g, q, kk, ll, C)
            _place_band(C, 0, T, a, b, q, out, task * a * q * b)
            continue
        for d in range(D):
            k = _U(kk[d])
            lr = _U(ll[d])
            cb = _U(d) * uq
            av = A[abase + k]
            bo = bbase + lr * uq
            for j in range(q):
                C[cb + _U(j)] = av * B[bo + _U(j)]
            # four terms per pass over the block row: one load and store of C per
            # four multiply-adds (200×20 ⋉ 15×300: 1.3× faster than one term a pass)
            g1 = 1 + (g - 1) // 4 * 4
            sa, sb = _U(b), _U(a) * uq
            for c in range(1, g1, 4):
                ao = abase + _U(c * b) + k
                a0, a1, a2, a3 = A[ao], A[ao + sa], A[ao + _U(2) * sa], A[ao + _U(3) * sa]
                b0 = bbase + (_U(c * a) + lr) * uq
                b1, b2, b3 = b0 + sb, b0 + _U(2) * sb, b0 + _U(3) * sb
                for j in range(q):
                    uj = _U(j)
                    C[cb + uj] += (a0 * B[b0 + uj] + a1 * B[b1 + uj]) + (
                        a2 * B[b2 + uj] + a3 * B[b3 + uj]
                    )
            for c in range(g1, g):
                av = A[abase + _U(c * b) + k]
                bo = bbase + (_U(c * a) + lr) * uq
                for j in range(q):
                    C[cb + _U(j)] += av * B[bo + _U(j)]
        _place_band(C, 0, T, a, b, q, out, task * a * q * b)


@numba.njit(**_JIT)
def _left_flat_tasks(A, B, NA, NB, m, n, p, q, a, b, KX, LX, T2, out, t0, t1, C):  # noqa: E501  # pragma: no cover
    # Bands of short rows (q·b < 32) with few terms: the block entries of a band as one
    # flat loop per term (KX, LX: A column and B offset of entry (d, j)), the band as
    # one flat gather (T2: source of every band entry). Loops over rows of a few
    # entries cost their setup per row (68×9 ⋉ 165×2: a = 55, q·b = 6).
    g = n // b
    step_a = 1 if NA > 1 else 0
    step_b = 1 if NB > 1 else 0
    size = a * q * b
    for task in range(t0, t1):
        r = task // m
        i = task - r * m
        abase = _U((r * step_a * m + i) * n)
        bbase = _U(r * step_b * p * q)
        for x in range(KX.shape[0]):
            C[_U(x)] = A[abase + KX[x]] * B[bbase + LX[x]]
        for c in range(1, g):
            ao = abase + _U(c * b)
            bo = bbase + _U(c * a * q)
            for x in range(KX.shape[0]):
                C[_U(x)] += A[ao + KX[x]] * B[bo + LX[x]]
        o = _U(task * size)
        for x in range(size):
            out[o + _U(x)] = C[T2[x]]


@numba.njit(cache=True, nogil=True, parallel=True)
def _left_flat_par(A, B, NA, NB, m, n, p, q, a, b, KX, LX, T2, out, n_tasks, n_chunks):  # noqa: E501  # pragma: no cover
    for c in numba.prange(n_chunks):
        C = np.empty(KX.shape[0], dtype=out.dtype)
        t0 = c * n_tasks // n_chunks
        t1 = (c + 1) * n_tasks // n_chunks
        _left_flat_tasks(A, B, NA, NB, m, n, p, q, a, b, KX, LX, T2, out, t0, t1, C)


@numba.njit(**_JIT)
def _dots(A, B, abase, bbase, a, b, g, q, kk, ll, C):  # pragma: no cover - compiled
    # Blocks of one band as dot products over c, for rows of q < 4 entries: a loop
    # over j of one to three entries per (block, term) cost its setup each time
    # (14×783 ⋉ 928×2: g = 29). Four partial sums hide the add latency.
    sa = _U(b)
    sb = _U(a * q)
    g4 = g - g % 4
    for d in range(kk.shape[0]):
        k = abase + _U(kk[d])
        for j in range(q):
            x = bbase + _U(ll[d] * q + j)
            s0 = s1 = s2 = s3 = A[k] * 0
            for c in range(0, g4, 4):
                ua = k + _U(c) * sa
                ub = x + _U(c) * sb
                s0 += A[ua] * B[ub]
                s1 += A[ua + sa] * B[ub + sb]
                s2 += A[ua + _U(2) * sa] * B[ub + _U(2) * sb]
                s3 += A[ua + _U(3) * sa] * B[ub + _U(3) * sb]
            for c in range(g4, g):
                s0 += A[k + _U(c) * sa] * B[x + _U(c) * sb]
            C[_U(d * q + j)] = (s0 + s1) + (s2 + s3)


@numba.njit(cache=True, nogil=True, parallel=True)
def _left_fused_par(A, B, NA, NB, m, n, p, q, a, b, kk, ll, T, out, n_tasks, n_chunks):  # noqa: E501  # pragma: no cover
    for c in numba.prange(n_chunks):
        C = np.empty(kk.shape[0] * q, dtype=out.dtype)
        t0 = c * n_tasks // n_chunks
        t1 = (c + 1) * n_tasks // n_chunks
        _left_fused_tasks(A, B, NA, NB, m, n, p, q, a, b, kk, ll, T, out, t0, t1, C)


@numba.njit(**_JIT)
def _place_tasks(C, D, T, a, b, q, out, o_first, t0, t1):  # pragma: no cover
    # C: the tile's bands one after another, D×q blocks each
    for task in range(t0, t1):
        _place_band(C, task * D * q, T, a, b, q, out, o_first + task * a * q * b)


@numba.njit(cache=True, nogil=True, parallel=True)
def _place_par(C, D, T, a, b, q, out, o_first, n_tasks, n_chunks):  # pragma: no cover
    for c in numba.prange(n_chunks):
        t0 = c * n_tasks // n_chunks
        t1 = (c + 1) * n_tasks // n_chunks
        _place_tasks(C, D, T, a, b, q, out, o_first, t0, t1)


def _chunks(n_tasks, parallel):
    """Chunks of tasks per call: a few per thread balances uneven rows."""
    if not parallel:
        return 1
    return max(1, min(n_tasks, 4 * numba.get_num_threads()))


def _threads(parallel):
    # A parallel region on one thread ran 3.4× slower than the serial body (73×312 ⋊
    # 344×2: 13.3 ms against 3.9 ms): the prange lowering loses the loops' optimisation.
    return parallel and numba.get_num_threads() > 1


def _sizes(A, B):
    m, n = A.shape[-2:]
    p, q = B.shape[-2:]
    g = math.gcd(n, p)
    return m, n, p, q, g, p // g, n // g


def _flat(x):
    return x.reshape(-1)


def _band_offsets(a, b, q):
    if a * b <= _CACHED_MAX:
        return _band_offsets_cached(a, b, q)
    return _new_band_offsets(a, b, q)


def _new_band_offsets(a, b, q):
    T = np.empty(a * b, dtype=np.uint64)
    _offsets(a, b, q, T)
    T.setflags(write=False)
    return T


def _new_flat_tables(a, b, q):
    kk, ll = left_blocks(a, b)
    T = _band_offsets(a, b, q)
    j = np.arange(q, dtype=np.uint64)
    KX = np.repeat(kk.astype(np.uint64), q)
    LX = (ll.astype(np.uint64)[:, None] * np.uint64(q) + j).reshape(-1)
    T2 = (T.reshape(a, 1, b) + j[None, :, None]).reshape(-1)
    for t in (KX, LX, T2):
        t.setflags(write=False)
    return KX, LX, T2


# Tables of at most _CACHED_MAX entries (32 KB) are kept for the next product of the
# same sizes, 64 of each: under 8 MB in all. Building the flat tables cost 11 µs, a
# third of a 0.2 MB product (68×9 ⋉ 165×2).
_CACHED_MAX = 4096
_band_offsets_cached = lru_cache(maxsize=64)(_new_band_offsets)
_flat_tables_cached = lru_cache(maxsize=64)(_new_flat_tables)


def left_fused(A3, B3, out3, parallel):
    """Left STP of ``(NA, m, n)`` and ``(NB, p, q)`` stacks (NA, NB equal or 1) into ``out3``.

    All inputs C-contiguous. The blocks of one output band are computed in the kernel
    into a ``D×q`` buffer (in the L1/L2 cache for the sizes this route is chosen for)
    and placed at once.
    """
    m, n, p, q, g, a, b = _sizes(A3, B3)
    kk, ll = left_blocks(a, b)
    T = _band_offsets(a, b, q)
    n_tasks = out3.shape[0] * m
    parallel = _threads(parallel)
    if _use_flat(q, g, a, b):
        return _left_flat(A3, B3, out3, parallel, n_tasks)
    args = (_flat(A3), _flat(B3), A3.shape[0], B3.shape[0], m, n, p, q, a, b, kk, ll, T)
    flat = _flat(out3)
    if parallel:
        _left_fused_par(*args, flat, n_tasks, _chunks(n_tasks, True))
    else:
        C = np.empty(kk.size * q, dtype=out3.dtype)
        _left_fused_tasks(*args, flat, 0, n_tasks, C)
    return out3


# Largest band (a·q·b entries) given a flat gather table: the table is one band.
_FLAT_MAX = 1 << 16


def _use_flat(q, g, a, b):
    # Rows of q < 4 entries: the flat loops (17192×129 ⋉ 6×1: 2.5 ms against 7.2 ms),
    # except p | n, whose direct loops ran 8× faster (481×5×1080 ⋉ 481×40×1)
    return ((q < 4 and a > 1) or (q * b < 32 and g < 8)) and a * q * b <= _FLAT_MAX


def prepared_left(m, n, p, q, g, a, b):
    """``(tables, serial kernel, scratch entries)`` of `left_fused` (for `fastpath`)."""
    if _use_flat(q, g, a, b):
        tables = _flat_tables_cached if a * q * b <= _CACHED_MAX else _new_flat_tables
        KX, LX, T2 = tables(a, b, q)
        return (KX, LX, T2), _left_flat_tasks, KX.size
    kk, ll = left_blocks(a, b)
    return (kk, ll, _band_offsets(a, b, q)), _left_fused_tasks, kk.size * q


def _left_flat(A3, B3, out3, parallel, n_tasks):
    m, n, p, q, g, a, b = _sizes(A3, B3)
    tables = _flat_tables_cached if a * q * b <= _CACHED_MAX else _new_flat_tables
    KX, LX, T2 = tables(a, b, q)
    args = (_flat(A3), _flat(B3), A3.shape[0], B3.shape[0], m, n, p, q, a, b, KX, LX, T2)
    if parallel:
        _left_flat_par(*args, _flat(out3), n_tasks, _chunks(n_tasks, True))
    else:
        C = np.empty(KX.size, dtype=out3.dtype)
        _left_flat_tasks(*args, _flat(out3), 0, n_tasks, C)
    return out3


def left_blas(A3, B3, out3, parallel, tile_bytes=1 << 20):
    """Left STP with the ``a+b−1`` blocks from BLAS, one cache-sized tile at a time.

    A tile is a range of output bands (stack entries × rows) whose blocks fit in
    ``tile_bytes``; the kernel places them before the next tile is computed, so the
    blocks never travel to memory and back.
    """
    m, n, p, q, g, a, b = _sizes(A3, B3)
    kk, ll = left_blocks(a, b)
    T = _band_offsets(a, b, q)
    D = kk.size
    count = out3.shape[0]
    A5 = A3.reshape(A3.shape[0], m, g, b)
    if a > 1:
        Bl = B3.reshape(B3.shape[0], g, a, q)[:, :, ll, :].transpose(0, 2, 1, 3)
    per_row = D * q * out3.itemsize
    if count > 1:
        rt, it = max(1, min(count, tile_bytes // max(1, per_row * m))), m
    else:
        rt, it = 1, max(1, min(m, tile_bytes // max(1, per_row)))
    buf = np.empty((rt, it, D, q), dtype=out3.dtype)
    flat = _flat(out3)
    parallel = _threads(parallel)
    for r0 in range(0, count, rt):
        r1 = min(count, r0 + rt)
        As = A5[r0:r1] if A3.shape[0] > 1 else A5
        if a > 1:
            Bs = Bl[r0:r1] if B3.shape[0] > 1 else Bl
        for i0 in range(0, m, it):
            i1 = min(m, i0 + it)
            C = buf[: r1 - r0, : i1 - i0]
            if a == 1:  # p | n: every block multiplies B, so one GEMM of it·b rows
                At = np.ascontiguousarray(As[:, i0:i1].transpose(0, 1, 3, 2))
                np.matmul(
                    At.reshape(At.shape[0], -1, g),
                    B3[r0:r1] if B3.shape[0] > 1 else B3,
                    out=C.reshape(r1 - r0, -1, q),
                )
            else:
                Ak = np.ascontiguousarray(As[:, i0:i1][..., kk].transpose(0, 3, 1, 2))
                np.matmul(Ak, Bs, out=C.transpose(0, 2, 1, 3))  # (rt, D, it, g) @ (·, D, g, q)
            n_tasks = (r1 - r0) * (i1 - i0)
            Cf = C.reshape(-1)  # contiguous: whole rows of buf, or one row range of it
            o_first = (r0 * m + i0) * a * q * b
            if parallel and n_tasks > 1:
                _place_par(Cf, D, T, a, b, q, flat, o_first, n_tasks, _chunks(n_tasks, True))
            else:
                _place_tasks(Cf, D, T, a, b, q, flat, o_first, 0, n_tasks)
    return out3
