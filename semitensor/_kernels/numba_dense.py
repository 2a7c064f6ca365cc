"""numba kernels that write every STP output row once, contiguously (numpy only).

The general left STP has ``a+b−1`` distinct ``m×q`` blocks spread over ``a·b`` output
positions (SPEC §1). Placing them with strided numpy copies streams the whole output
``b`` times and sat 3-34× above the cost of filling the output (issue 16); here each
output row band is finished while it is in cache. With ``s = α + a·k'`` (``0 <= k' <
b``) the block at output position ``(α, β = s mod b)`` is ``d = k' + s // b`` (a new
block starts exactly where ``a`` or ``b`` divides ``s``), so no ``a×b`` table is built.

Two ways to get the blocks: ``left_fused`` computes them in the kernel (fast where each
output entry needs a few multiply-adds), ``left_blas`` lets BLAS compute them a row
tile at a time and the kernel places them (fast where ``g`` is large). ``right_fused``
writes each right-STP output row segment as a short sum over the overlap of the two
partitions (or zeros). Every kernel has a serial body over a task range and a parallel
driver, so that products too small to pay for waking threads stay on one thread.
Imported only when `route` picks a kernel: ``import semitensor`` never imports numba.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .plans import left_blocks

__all__ = ["left_fused", "left_blas", "right_fused"]

_U = np.uint64
_1, _2, _3 = _U(1), _U(2), _U(3)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _interleave(Ci, c0, w, src, b, orow, o0):  # pragma: no cover - compiled
    # orow[o0 + j·b + β] = Ci[src[β], c0 + j]: a b×w → w×b transpose, four rows and
    # four columns at a time: one element per iteration ran 1.3-1.9× slower
    # (200×20 ⋉ 15×300, 512×96 ⋉ 64×512, 1×322 ⋉ 392×853; one thread, 2026-12-02).
    if w < 4:
        # short rows: contiguous stores, loads gathered from the (cached) source
        for j in range(w):
            c = _U(c0 + j)
            o = _U(o0 + j * b)
            for be in range(b):
                orow[o + _U(be)] = Ci[_U(src[be]), c]
        return
    b4 = b - b % 4
    w4 = w - w % 4
    for be in range(0, b4, 4):
        # unsigned indices and no slices: numba's negative-index fix-up and per-slice
        # bookkeeping blocked vectorisation and dominated short rows (q < 8)
        s0, s1, s2, s3 = _U(src[be]), _U(src[be + 1]), _U(src[be + 2]), _U(src[be + 3])
        for j in range(0, w4, 4):
            c = _U(c0 + j)
            o = _U(o0 + j * b + be)
            x00, x01, x02, x03 = Ci[s0, c], Ci[s0, c + _1], Ci[s0, c + _2], Ci[s0, c + _3]
            x10, x11, x12, x13 = Ci[s1, c], Ci[s1, c + _1], Ci[s1, c + _2], Ci[s1, c + _3]
            x20, x21, x22, x23 = Ci[s2, c], Ci[s2, c + _1], Ci[s2, c + _2], Ci[s2, c + _3]
            x30, x31, x32, x33 = Ci[s3, c], Ci[s3, c + _1], Ci[s3, c + _2], Ci[s3, c + _3]
            orow[o], orow[o + _1], orow[o + _2], orow[o + _3] = x00, x10, x20, x30
            o += _U(b)
            orow[o], orow[o + _1], orow[o + _2], orow[o + _3] = x01, x11, x21, x31
            o += _U(b)
            orow[o], orow[o + _1], orow[o + _2], orow[o + _3] = x02, x12, x22, x32
            o += _U(b)
            orow[o], orow[o + _1], orow[o + _2], orow[o + _3] = x03, x13, x23, x33
        for j in range(w4, w):
            c = _U(c0 + j)
            o = _U(o0 + j * b + be)
            orow[o], orow[o + _1] = Ci[s0, c], Ci[s1, c]
            orow[o + _2], orow[o + _3] = Ci[s2, c], Ci[s3, c]
    for be in range(b4, b):
        s0 = _U(src[be])
        for j in range(w):
            orow[_U(o0 + j * b + be)] = Ci[s0, _U(c0 + j)]


@numba.njit(cache=True, nogil=True)
def _sources(a, b, src):  # pragma: no cover - compiled
    # Output position (0, β) with s = a·k' holds block d = k' + s // b.
    for kp in range(b):
        s = a * kp
        src[s % b] = kp + s // b


@numba.njit(cache=True, nogil=True)
def _next_sources(src, tmp):  # pragma: no cover - compiled
    # From α to α+1 every s grows by one: β moves right by one, and the entry that
    # wraps past b−1 starts its next block. No divisions (two per entry cost more
    # than writing a short output row).
    b = src.shape[0]
    last = src[b - 1] + 1
    for be in range(b - 1):
        tmp[be + 1] = src[be]
    tmp[0] = last
    for be in range(b):
        src[be] = tmp[be]


@numba.njit(cache=True, nogil=True)
def _left_fused_tasks(A, B, a, b, g, kk, ll, out, jt, t0, t1, C):  # pragma: no cover
    m = A.shape[1]
    q = B.shape[2]
    n_jt = (q + jt - 1) // jt
    step_a = 1 if A.shape[0] > 1 else 0
    step_b = 1 if B.shape[0] > 1 else 0
    src0 = np.empty(b, dtype=np.int64)
    _sources(a, b, src0)  # once: two divisions per entry cost more than a short row
    src = np.empty(b, dtype=np.int64)
    tmp = np.empty(b, dtype=np.int64)
    for task in range(t0, t1):
        r = task // (m * n_jt)
        i = (task // n_jt) % m
        j0 = (task % n_jt) * jt
        w = min(q, j0 + jt) - j0
        ra = r * step_a
        rb = r * step_b
        ura, urb, uj0 = _U(ra), _U(rb), _U(j0)
        for d in range(kk.shape[0]):
            # unsigned offsets, no row views: numba's negative-index fix-up blocked
            # vectorisation (5× slower), and a view per (block, term) cost more than
            # the short rows it served (15×1221 ⋉ 330×12: g = 33, q = 12)
            ud = _U(d)
            k = kk[d]
            lr = ll[d]
            av = A[ura, _U(i), _U(k)]
            row = _U(lr)
            for j in range(w):
                C[ud, _U(j)] = av * B[urb, row, uj0 + _U(j)]
            for c in range(1, g):
                av = A[ura, _U(i), _U(c * b + k)]
                row = _U(c * a + lr)
                for j in range(w):
                    C[ud, _U(j)] += av * B[urb, row, uj0 + _U(j)]
        src[:] = src0
        for al in range(a):
            if al > 0:
                _next_sources(src, tmp)
            _interleave(C, 0, w, src, b, out[r, i * a + al], j0 * b)


@numba.njit(cache=True, nogil=True, parallel=True)
def _left_fused_par(A, B, a, b, g, kk, ll, out, jt, n_tasks, n_chunks):  # pragma: no cover
    for c in numba.prange(n_chunks):
        C = np.empty((kk.shape[0], jt), dtype=out.dtype)
        t0 = c * n_tasks // n_chunks
        t1 = (c + 1) * n_tasks // n_chunks
        _left_fused_tasks(A, B, a, b, g, kk, ll, out, jt, t0, t1, C)


@numba.njit(cache=True, nogil=True)
def _place_tasks(C, a, b, out, r0, i0, jt, t0, t1):  # pragma: no cover
    # C: (rt, it, D, q) blocks of stack entries r0.. and rows i0..
    it = C.shape[1]
    q = C.shape[3]
    src0 = np.empty(b, dtype=np.int64)
    _sources(a, b, src0)
    src = np.empty(b, dtype=np.int64)
    tmp = np.empty(b, dtype=np.int64)
    for task in range(t0, t1):
        r = task // it
        i = task % it
        for j0 in range(0, q, jt):
            w = min(q, j0 + jt) - j0
            src[:] = src0
            for al in range(a):
                if al > 0:
                    _next_sources(src, tmp)
                _interleave(C[r, i], j0, w, src, b, out[r0 + r, (i0 + i) * a + al], j0 * b)


@numba.njit(cache=True, nogil=True, parallel=True)
def _place_par(C, a, b, out, r0, i0, jt, n_tasks, n_chunks):  # pragma: no cover
    for c in numba.prange(n_chunks):
        _place_tasks(
            C, a, b, out, r0, i0, jt, c * n_tasks // n_chunks, (c + 1) * n_tasks // n_chunks
        )


@numba.njit(cache=True, nogil=True)
def _right_tasks(A, B, a, b, out, t0, t1):  # pragma: no cover
    # A task is one (stack entry, α): the segment bounds depend on α only, so the rows
    # below need no integer division (several per row cost more than a short row).
    m, n = A.shape[1], A.shape[2]
    p, q = B.shape[1], B.shape[2]
    step_a = 1 if A.shape[0] > 1 else 0
    step_b = 1 if B.shape[0] > 1 else 0
    for task in range(t0, t1):
        r = task // a
        al = task % a
        ur, ura, urb = _U(r), _U(r * step_a), _U(r * step_b)
        first = (al * n) // p
        last = ((al + 1) * n - 1) // p
        for i in range(m):
            # plain indexing with unsigned offsets, no row views: creating views cost
            # more than the few entries of a short row (q < 8)
            urow, ui = _U(al * m + i), _U(i)
            for c in range(first * q):
                out[ur, urow, _U(c)] = 0
            for c in range((last + 1) * q, b * q):
                out[ur, urow, _U(c)] = 0
            lo = al * n
            for be in range(first, last + 1):
                base = _U(be * q)
                hi = min((al + 1) * n, (be + 1) * p)
                av = A[ura, ui, _U(lo - al * n)]
                br = _U(lo - be * p)
                for j in range(q):
                    out[ur, urow, base + _U(j)] = av * B[urb, br, _U(j)]
                for s in range(lo + 1, hi):
                    av = A[ura, ui, _U(s - al * n)]
                    br = _U(s - be * p)
                    for j in range(q):
                        out[ur, urow, base + _U(j)] += av * B[urb, br, _U(j)]
                lo = hi


@numba.njit(cache=True, nogil=True, parallel=True)
def _right_par(A, B, a, b, out, n_tasks, n_chunks):  # pragma: no cover
    for c in numba.prange(n_chunks):
        _right_tasks(A, B, a, b, out, c * n_tasks // n_chunks, (c + 1) * n_tasks // n_chunks)


def _chunks(n_tasks, parallel):
    """Chunks of tasks per call: a few per thread balances uneven rows."""
    if not parallel:
        return 1
    return max(1, min(n_tasks, 4 * numba.get_num_threads()))


def _sizes(A, B):
    m, n = A.shape[-2:]
    p, q = B.shape[-2:]
    g = math.gcd(n, p)
    return m, n, p, q, g, p // g, n // g


def left_fused(A3, B3, out3, parallel):
    """Left STP of ``(NA, m, n)`` and ``(NB, p, q)`` stacks (NA, NB equal or 1) into ``out3``.

    Blocks computed in the kernel, ``jt`` columns at a time, so that the ``D×jt`` block
    buffer and the output rows it fills stay in the L1 cache.
    """
    m, n, p, q, g, a, b = _sizes(A3, B3)
    kk, ll = left_blocks(a, b)
    jt = max(4, min(q, 16384 // b, 8192 // kk.size))
    n_tasks = out3.shape[0] * m * (-(-q // jt))
    if parallel:
        _left_fused_par(A3, B3, a, b, g, kk, ll, out3, jt, n_tasks, _chunks(n_tasks, True))
    else:
        C = np.empty((kk.size, jt), dtype=out3.dtype)
        _left_fused_tasks(A3, B3, a, b, g, kk, ll, out3, jt, 0, n_tasks, C)
    return out3


def left_blas(A3, B3, out3, parallel, tile_bytes=1 << 20):
    """Left STP with the ``a+b−1`` blocks from BLAS, one cache-sized tile at a time.

    A tile is a range of stack entries (stacks) or of rows (single matrices) whose
    blocks fit in ``tile_bytes``; the kernel places them before the next tile is
    computed, so the blocks never travel to memory and back.
    """
    m, n, p, q, g, a, b = _sizes(A3, B3)
    kk, ll = left_blocks(a, b)
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
    jt = max(4, min(q, 16384 // b))
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
            if parallel:
                _place_par(C, a, b, out3, r0, i0, jt, n_tasks, _chunks(n_tasks, True))
            else:
                _place_tasks(C, a, b, out3, r0, i0, jt, 0, n_tasks)
    return out3


def right_fused(A3, B3, out3, parallel):
    """Right STP of ``(NA, m, n)`` and ``(NB, p, q)`` stacks into ``out3``, row by row."""
    m, n, p, q, g, a, b = _sizes(A3, B3)
    n_tasks = out3.shape[0] * a
    if parallel:
        _right_par(A3, B3, a, b, out3, n_tasks, _chunks(n_tasks, True))
    else:
        _right_tasks(A3, B3, a, b, out3, 0, n_tasks)
    return out3
