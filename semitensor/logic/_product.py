"""Products of logical matrices by index arithmetic, and `stp` with logical operands.

For ``A = δ_m[a]`` (``m × n``) and ``B = δ_p[b]`` (``p × q``) with ``t = lcm(n, p)``,
``α = t/n``, ``β = t/p``, column ``c = j·β + s`` of ``B ⊗ I_β`` is the unit vector at
``b_j·β + s`` (SPEC §1), and column ``r = i·α + u`` of ``A ⊗ I_α`` is the unit vector at
``a_i·α + u``; composing the two gives every column of ``A ⋉ B`` in ``O(q·β)`` integer
operations, whatever the divisibility of ``n`` and ``p``. The right STP uses
``I_β ⊗ B`` (column ``s·q + j`` at ``s·p + b_j``) and ``I_α ⊗ A`` (column
``u·n + i`` at ``u·m + a_i``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._validation import check_side

__all__ = ["stp_pair", "kron", "khatri_rao", "power", "stp_operands"]


def _lm():
    from ._matrix import LogicalMatrix

    return LogicalMatrix


def stp_pair(A, B, side="left"):
    """``A ⋉ B`` (or ``A ⋊ B``) of two `LogicalMatrix` operands, as a `LogicalMatrix`."""
    side = check_side(side)
    (m, n), (p, q) = A.shape, B.shape
    a = A.indices.astype(np.int64)
    b = B.indices.astype(np.int64)
    t = math.lcm(n, p)
    alpha, beta = t // n, t // p
    c = np.arange(q * beta, dtype=np.int64)
    if side == "left":
        j, s = np.divmod(c, beta)
        i, u = np.divmod(b[j] * beta + s, alpha)
        out = a[i] * alpha + u
    else:
        s, j = np.divmod(c, q)
        u, i = np.divmod(s * p + b[j], n)
        out = u * m + a[i]
    return _lm()._trusted(out, m * alpha)


def kron(A, B):
    """Kronecker product of two `LogicalMatrix` operands: column ``j·q + l`` is ``a_j·p + b_l``."""
    p = B.shape[0]
    a = A.indices.astype(np.int64)
    b = B.indices.astype(np.int64)
    return _lm()._trusted((a[:, None] * p + b[None, :]).reshape(-1), A.shape[0] * p)


def khatri_rao(A, B):
    """Column-wise Kronecker product: column ``j`` is ``a_j ⊗ b_j``, at ``a_j·p + b_j``."""
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            "the Khatri-Rao product needs the same number of columns; "
            f"got shapes {A.shape} and {B.shape}"
        )
    p = B.shape[0]
    out = A.indices.astype(np.int64) * p + B.indices.astype(np.int64)
    return _lm()._trusted(out, A.shape[0] * p)


def power(A, k, side="left"):
    """``A ⋉ A ⋉ … ⋉ A`` (``k`` factors) by repeated squaring; ``k = 0``: the identity."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be a non-negative integer; got {k!r} of type {type(k).__name__}")
    k = int(k)
    if k < 0:
        raise ValueError(f"k must be a non-negative integer; got {k}")
    if k == 0:
        if not A.is_square:
            raise ValueError(f"power 0 (the identity) needs a square matrix; got shape {A.shape}")
        return _lm()._trusted(np.arange(A.shape[0]), A.shape[0])
    result, base = None, A
    while k:
        if k & 1:
            result = base if result is None else stp_pair(result, base, side)
        k >>= 1
        if k:
            base = stp_pair(base, base, side)
    return result


def stp_operands(arrays, side):
    """`semitensor.stp` when at least one operand is a `LogicalMatrix`.

    Runs of consecutive logical operands are multiplied in δ-form (the STP is
    associative). If every operand is logical the result is a `LogicalMatrix`;
    otherwise each logical factor becomes a dense array of the library, device and
    dtype of the first dense operand, and the dense `stp` finishes the product.
    """
    from .. import product

    side = check_side(side)
    if len(arrays) < 2:
        raise TypeError(f"stp needs at least two operands; got {len(arrays)}")
    LogicalMatrix = _lm()
    groups = []
    for x in arrays:
        if isinstance(x, LogicalMatrix) and groups and isinstance(groups[-1], LogicalMatrix):
            groups[-1] = stp_pair(groups[-1], x, side)
        else:
            groups.append(x)
    if len(groups) == 1:
        return groups[0]
    ref = next(x for x in groups if not isinstance(x, LogicalMatrix))
    if not hasattr(ref, "dtype"):
        ref = np.asarray(ref)
    dense = [
        x.to_dense(like=ref, dtype=ref.dtype) if isinstance(x, LogicalMatrix) else x for x in groups
    ]
    return product.stp(*dense, side=side)
