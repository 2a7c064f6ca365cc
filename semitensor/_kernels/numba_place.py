"""Placing the blocks of one general left-STP output band (numba, numpy only).

A band is the ``a`` output rows ``i·a+α`` of one stack entry and row ``i``: ``a·q·b``
contiguous entries, ``out[(α·q + j)·b + β] = C[T[α·b + β] + j]`` where ``C`` holds the
band's ``D = a+b−1`` block rows (``D×q``) and ``T`` the row offset of each output
position's block (`numba_dense._offsets`). Row ``α`` of the band is the transpose of
the ``b×q`` matrix of ``C`` rows ``T[α·b : α·b+b]``.

The loops of `_place_scalar` move one entry per load and store (about one entry a
cycle, 2.5-3× the cost of filling the output). Where ``b, q >= 4`` and the entries are
4 or 8 bytes, `_place_tiles` transposes 4×4 tiles in registers instead (`_t4`: four
vector loads, eight shuffles, four vector stores), 1.2-2.7× faster than the scalar
loops on the shapes of ``bench_stp.py --sweep`` (AMD EPYC, AVX2, one thread,
2026-12-03). The last tile of a row or column overlaps the one before it where ``b``
or ``q`` is not a multiple of 4: it rewrites entries with the values they already
hold.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["place_band"]

_U = np.uint64
_JIT = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}


@intrinsic
def _t4(typingctx, src, s0, s1, s2, s3, dst, o, ds):  # pragma: no cover - compiled
    """``dst[o + r·ds + k] = src[s_k + r]`` for ``r, k < 4``, entries as integers."""
    sig = types.void(src, s0, s1, s2, s3, dst, o, ds)

    def codegen(context, builder, sig, args):
        word = ir.IntType(8 * context.get_abi_sizeof(context.get_data_type(sig.args[0].dtype)))
        vec = ir.VectorType(word, 4)
        src_ = context.make_array(sig.args[0])(context, builder, args[0])
        dst_ = context.make_array(sig.args[5])(context, builder, args[5])
        sp = builder.bitcast(src_.data, word.as_pointer())
        dp = builder.bitcast(dst_.data, word.as_pointer())

        def index(k):
            return context.cast(builder, args[k], sig.args[k], types.uint64)

        rows = []
        for k in range(1, 5):
            ptr = builder.bitcast(builder.gep(sp, [index(k)]), vec.as_pointer())
            rows.append(builder.load(ptr, align=word.width // 8))

        def mask(*xs):
            return ir.Constant(ir.VectorType(ir.IntType(32), 4), [ir.IntType(32)(x) for x in xs])

        # (a0 b0 a2 b2), (a1 b1 a3 b3), (c0 d0 c2 d2), (c1 d1 c3 d3), then halves
        t0 = builder.shuffle_vector(rows[0], rows[1], mask(0, 4, 2, 6))
        t1 = builder.shuffle_vector(rows[0], rows[1], mask(1, 5, 3, 7))
        t2 = builder.shuffle_vector(rows[2], rows[3], mask(0, 4, 2, 6))
        t3 = builder.shuffle_vector(rows[2], rows[3], mask(1, 5, 3, 7))
        cols = [
            builder.shuffle_vector(t0, t2, mask(0, 1, 4, 5)),
            builder.shuffle_vector(t1, t3, mask(0, 1, 4, 5)),
            builder.shuffle_vector(t0, t2, mask(2, 3, 6, 7)),
            builder.shuffle_vector(t1, t3, mask(2, 3, 6, 7)),
        ]
        off, step = index(6), index(7)
        for col in cols:
            ptr = builder.bitcast(builder.gep(dp, [off]), vec.as_pointer())
            builder.store(col, ptr, align=word.width // 8)
            off = builder.add(off, step)
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(**_JIT)
def _place_tiles(C, c0, T, a, b, q, out, o0):  # pragma: no cover - compiled
    # b, q >= 4. Row α: out[o + j·b + β] = C[c0 + T[α·b + β] + j] by 4×4 tiles, j
    # outer so that the output is written front to back.
    qb = q * b
    for al in range(a):
        t0 = al * b
        o = o0 + al * qb
        for j in range(0, q, 4):
            if j > q - 4:
                j = q - 4
            s = _U(c0 + j)
            oj = _U(o + j * b)
            for be in range(0, b, 4):
                if be > b - 4:
                    be = b - 4
                t = _U(t0 + be)
                _t4(
                    C,
                    s + T[t],
                    s + T[t + _U(1)],
                    s + T[t + _U(2)],
                    s + T[t + _U(3)],
                    out,
                    oj + _U(be),
                    _U(b),
                )


@numba.njit(**_JIT)
def _place_scalar(C, c0, T, a, b, q, out, o0):  # pragma: no cover - compiled
    # With b >= 8 (or q < b) the inner loop runs along β: contiguous stores, loads
    # gathered from b rows of C; else along j, stores stepping by b (within a cache
    # line or two): b-inner ran 1.5-3× faster at b = 13-37, j-inner 2-10× faster at
    # b = 3-4 with q = 300-500 (one thread, interleaved, 2026-12-02).
    if q == 1:
        for x in range(a * b):
            out[_U(o0 + x)] = C[_U(c0) + T[_U(x)]]
        return
    qb = q * b
    if b < 8 and q >= b:
        for al in range(a):
            for be in range(b):
                src = _U(c0) + T[_U(al * b + be)]
                o = _U(o0 + al * qb + be)
                for j in range(q):
                    out[o + _U(j * b)] = C[src + _U(j)]
    else:
        for al in range(a):
            t = _U(al * b)
            o = _U(o0 + al * qb)
            for j in range(q):
                c = _U(c0 + j)
                for be in range(b):
                    out[o + _U(be)] = C[c + T[t + _U(be)]]
                o += _U(b)


@numba.njit(**_JIT)
def place_band(C, c0, T, a, b, q, out, o0):  # pragma: no cover - compiled
    """``out[o0 + (α·q + j)·b + β] = C[c0 + T[α·b + β] + j]``: one band (module doc)."""
    if b >= 4 and q >= 4 and C.itemsize <= 8:
        _place_tiles(C, c0, T, a, b, q, out, o0)
    else:
        _place_scalar(C, c0, T, a, b, q, out, o0)
