"""The STP of small plain numpy operands without the general path's overhead.

Logic computations multiply a structure matrix by a few unit vectors thousands of
times (``M ⋉ p ⋉ q`` with ``M`` 2×4); the general path spends about 20-30 µs per call
on namespace lookup, validation, dtype settling and broadcasting, against 1-3 µs for
the GEMM itself (bench_stp.py --tiny). Here exact ``numpy.ndarray`` operands (not
subclasses), 1-d or 2-d, of one numeric dtype, whose inner sizes divide one another,
are multiplied at once; anything else returns ``None`` and takes the general path,
which also raises the errors.
"""

from __future__ import annotations

import numpy as np

from . import fastpath
from .dispatch import numpy_namespace, outer, stp_pair
from .guards import check_fits
from .plans import batch_shape

__all__ = ["small_product"]

# Largest product (entries) taken here where the general path chooses among kernels;
# products that are one GEMM on reshaped views there are one GEMM here at any size.
# A GEMM with inner size 1 is an outer product: elementwise, where OpenBLAS ran it
# 3-5× slower than numpy's broadcasting multiply (4×3 ⋊ 1×20000, bench_stp --sweep).
SMALL_ENTRIES = 1 << 16
_KINDS = frozenset("fciu")


def small_product(arrays, side):
    """``stp(*arrays, side=side)`` for small divisible numpy operands, else ``None``."""
    if len(arrays) < 2 or (side != "left" and side != "right"):
        return None
    first = arrays[0]
    if type(first) is not np.ndarray:
        return None
    dtype = first.dtype
    if dtype.kind not in _KINDS:
        return None
    if len(arrays) == 2:
        return _two(arrays[0], arrays[1], dtype, side)
    acc = None
    for x in arrays:
        if type(x) is not np.ndarray or x.dtype != dtype:
            return None
        if x.ndim == 2:
            mat = x
        elif x.ndim == 1:
            mat = x.reshape(x.shape[0], 1)
        else:
            return None
        acc = mat if acc is None else _pair(acc, mat, side)
        if acc is None:
            return None
    return acc


def _two(A, B, dtype, side):
    """Two plain numpy operands of one numeric dtype, any size, stacks included.

    Only the checks that can fail for such operands are made (0-d, zero inner sizes
    and non-broadcasting stacks are left to the general path's messages); the kernel
    choice is the general path's. Saves 15-25 µs per call, which is the whole cost
    of filling a 0.5 MB output.
    """
    if type(B) is not np.ndarray or B.dtype != dtype or A.ndim == 0 or B.ndim == 0:
        return None
    if A.ndim == 1:
        A = A.reshape(A.shape[0], 1)
    if B.ndim == 1:
        B = B.reshape(B.shape[0], 1)
    if A.shape[-1] == 0 or B.shape[-2] == 0:
        return None
    out = fastpath.lookup(A, B, side)  # a small product of these shapes planned before
    if out is not None:
        return out
    if A.ndim == 2 and B.ndim == 2:
        out = _pair(A, B, side)
        if out is not None:
            return out
    try:
        batch_shape(A.shape[:-2], B.shape[:-2])
    except ValueError:
        return None
    check_fits(A, B)
    return stp_pair(numpy_namespace(), A, B, side)


def _pair(A, B, side):
    m, n = A.shape
    p, q = B.shape
    if n == p:
        return _outer(A[:, 0], B[0]) if n == 1 else A @ B
    if n == 0 or p == 0:
        return None
    if n % p == 0:  # p | n
        b = n // p
        if side == "right":  # one GEMM on a view, as on the general path, at any size
            Aw = A.reshape(m * b, p)
            return (_outer(Aw[:, 0], B[0]) if p == 1 else Aw @ B).reshape(m, b * q)
        if m * q * b > SMALL_ENTRIES or (p == 1 and m * q * b >= _OUTER_MIN):
            return None  # the general path; p = 1 there: elementwise or compiled
        # out[i, j·b+γ] = Σ_k A[i, k·b+γ] B[k, j]
        return np.matmul(B.T, A.reshape(m, p, b)).reshape(m, q * b)
    if p % n == 0:  # n | p
        a = p // n
        if side == "left":  # out[i·a+α, j] = Σ_k A[i, k] B[k·a+α, j]: one GEMM, any size
            Bw = B.reshape(n, a * q)
            return (_outer(A[:, 0], Bw[0]) if n == 1 else A @ Bw).reshape(m * a, q)
        if m * a * q > SMALL_ENTRIES or (n == 1 and m * a * q >= _OUTER_MIN):
            return None
        return np.matmul(A, B.reshape(a, n, q)).reshape(a * m, q)
    return None


# From this many entries an outer product goes to the compiled kernel: numpy's
# broadcasting multiply ran 2-7× the cost of filling the output (one inner loop per
# row; slower than the naive route's GEMM at 5333×9 ⋊ 1×85). Below, the kernel's call
# overhead is more than the whole product.
_OUTER_MIN = 1 << 12


def _outer(x, y):
    """``x ⊗ y`` as an ``len(x)×len(y)`` matrix: compiled, or elementwise if small."""
    if x.shape[0] * y.shape[0] >= _OUTER_MIN:
        out = outer(x, y)
        if out is not None:
            return out
    return x[:, None] * y[None, :]
