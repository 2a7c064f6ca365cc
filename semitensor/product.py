"""Left and right semi-tensor products (SPEC §1): shape rules, kernel choice, chains.

The kernels in ``semitensor._kernels`` compute a two-operand product without any
identity Kronecker factor; this module validates the operands, settles the dtype,
broadcasts stacks, and for three or more operands picks the cheapest
parenthesisation (the STP is associative), as ``numpy.linalg.multi_dot`` does.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._kernels import dispatch, guards
from ._kernels.small import small_product
from ._namespace import as_arrays
from ._validation import check_side

__all__ = ["stp", "rstp", "stp_shape", "stp_cost"]

# Weight of writing one output entry, in flops, in the chain cost model: the
# placement of an entry (gather, or a zero fill for the right STP) costs about as
# much as a few multiply-adds on this hardware.
_WRITE_COST = 4.0


def stp_shape(shape_a, shape_b):
    """Shape of ``A ⋉ B`` (and ``A ⋊ B``) for 2-d shapes ``(m, n)`` and ``(p, q)``.

    Parameters
    ----------
    shape_a, shape_b : pair of int
        ``(m, n)`` and ``(p, q)``: non-negative sizes, the inner sizes ``n`` and ``p``
        positive.

    Returns
    -------
    tuple of int
        ``(m·t/n, q·t/p)`` with ``t = lcm(n, p)``.

    Raises
    ------
    TypeError
        A shape that is not a sequence of integers.
    ValueError
        A shape of length other than 2, a negative size, or an inner size of 0.

    Examples
    --------
    >>> from semitensor import stp_shape
    >>> stp_shape((3, 4), (2, 2))
    (3, 4)
    >>> stp_shape((2, 3), (2, 5))
    (4, 15)
    """
    m, n = _check_shape(shape_a, "shape_a")
    p, q = _check_shape(shape_b, "shape_b")
    t = math.lcm(n, p)
    return (m * (t // n), q * (t // p))


def _check_shape(shape, name):
    """``(rows, cols)`` of a 2-d shape: non-negative ints, the inner size positive."""
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(
            f"{name} must be a 2-d shape (rows, cols); got {shape!r} of type {type(shape).__name__}"
        ) from None
    if len(dims) != 2:
        raise ValueError(f"{name} must be a 2-d shape (rows, cols); got {dims!r}")
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(f"{name} must hold integers; got {dims!r}")
    if min(dims) < 0:
        raise ValueError(f"{name} must hold non-negative sizes; got {dims!r}")
    inner = dims[1] if name == "shape_a" else dims[0]
    if inner == 0:
        raise ValueError(
            f"{name} has inner size 0 in {dims!r}: inner sizes must be positive "
            "(the STP is defined through the lcm of the inner sizes)"
        )
    return int(dims[0]), int(dims[1])


def stp_cost(shape_a, shape_b, side="left"):
    """Model cost (flops plus weighted output writes) of one two-operand STP.

    The left STP needs ``2·m·q·g·(a+b−1)`` flops (SPEC §1: only ``a+b−1`` distinct
    blocks); the right STP needs ``2·m·q·t`` (its ``a+b−1`` non-empty blocks have
    inner sizes summing to ``t``). Each output entry adds ``_WRITE_COST``.

    Parameters
    ----------
    shape_a, shape_b : pair of int
        As in `stp_shape`.
    side : {"left", "right"}, default "left"

    Returns
    -------
    float
        Flops plus ``_WRITE_COST`` per output entry.

    Raises
    ------
    TypeError, ValueError
        As `stp_shape`; ``ValueError`` for a ``side`` other than "left" or "right".

    Examples
    --------
    >>> from semitensor import stp_cost
    >>> stp_cost((3, 4), (2, 2)) == 2 * 3 * 2 * 4 + 4.0 * 3 * 4
    True
    """
    m, n = _check_shape(shape_a, "shape_a")
    p, q = _check_shape(shape_b, "shape_b")
    side = check_side(side)
    g = math.gcd(n, p)
    a, b = p // g, n // g
    if side == "left":
        flops = 2 * m * q * g * (a + b - 1)
    else:
        flops = 2 * m * q * g * a * b
    return flops + _WRITE_COST * m * a * q * b


def _validate(arrays, side):
    side = check_side(side)
    if len(arrays) < 2:
        raise TypeError(f"stp needs at least two operands; got {len(arrays)}")
    names = [f"arrays[{i}]" for i in range(len(arrays))]
    for name, x in zip(names, arrays):
        guards.check_operand(x, name)
    xp, arrays = as_arrays(*arrays, names=names)
    mats = []
    for name, x in zip(names, arrays):
        if x.ndim == 0:
            raise ValueError(
                f"{name} is 0-d; the STP needs vectors (1-d, read as columns) or matrices"
            )
        mats.append(xp.reshape(x, (x.shape[0], 1)) if x.ndim == 1 else x)
    last = len(mats) - 1
    for i, (name, x) in enumerate(zip(names, mats)):
        # Every inner size enters an lcm, so it must be positive; the outer sizes
        # (rows of the first operand, columns of the last) may be 0.
        inner = ([x.shape[-2]] if i > 0 else []) + ([x.shape[-1]] if i < last else [])
        if 0 in inner:
            raise ValueError(
                f"{name} has shape {tuple(arrays[i].shape)}: inner sizes must be positive "
                "(the STP is defined through the lcm of the inner sizes)"
            )
    try:
        batch = np.broadcast_shapes(*(tuple(x.shape[:-2]) for x in mats))
    except ValueError:
        shapes = ", ".join(f"{nm}: {tuple(x.shape)}" for nm, x in zip(names, mats))
        raise ValueError(
            f"batch (leading) dimensions do not broadcast: {shapes}; the last two axes are "
            "the matrices, the leading ones must broadcast as in numpy.matmul"
        ) from None
    return side, xp, mats, tuple(batch)


def _settle_dtype(xp, mats):
    """Common dtype; Boolean operands give the Boolean STP (AND for ×, OR for +)."""
    if all(x.dtype == xp.bool for x in mats):
        return xp.bool, [xp.astype(x, xp.float32) for x in mats]
    dtype = xp.result_type(*mats)
    return dtype, [xp.astype(x, dtype, copy=False) for x in mats]


def _pair(xp, A, B, side, boolean):
    guards.check_fits(A, B)
    out = dispatch.stp_pair(xp, A, B, side)
    if boolean:
        # Counts of true terms are exact non-negative integers; casting back to bool
        # after every product keeps them from growing along a chain.
        out = xp.astype(out > 0, xp.float32)
    return out


def _chain_order(shapes, batches, side):
    """Optimal split and cost tables for an STP chain by dynamic programming (as multi_dot).

    ``shapes[i]`` are the 2-d shapes, ``batches[i]`` the batch sizes (product of
    leading dims). The shape of a sub-chain's product does not depend on its
    parenthesisation, so ``cost[i][j] = min_k cost[i][k] + cost[k+1][j] +
    batch(i..j) · stp_cost(shape(i..k), shape(k+1..j))``.
    """
    k = len(shapes)
    span = [[None] * k for _ in range(k)]
    bsz = [[1] * k for _ in range(k)]
    for i in range(k):
        span[i][i] = shapes[i]
        bsz[i][i] = batches[i]
        for j in range(i + 1, k):
            span[i][j] = stp_shape(span[i][j - 1], shapes[j])
            bsz[i][j] = max(bsz[i][j - 1], batches[j])
    cost = [[0.0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            best = math.inf
            for s in range(i, j):
                c = (
                    cost[i][s]
                    + cost[s + 1][j]
                    + bsz[i][j] * stp_cost(span[i][s], span[s + 1][j], side)
                )
                if c < best:
                    best, split[i][j] = c, s
            cost[i][j] = best
    return split, cost


def _chain(xp, mats, split, i, j, side, boolean):
    if i == j:
        return mats[i]
    s = split[i][j]
    left = _chain(xp, mats, split, i, s, side, boolean)
    right = _chain(xp, mats, split, s + 1, j, side, boolean)
    return _pair(xp, left, right, side, boolean)


def stp(*arrays, side="left"):
    """Semi-tensor product of two or more matrices, left to right (SPEC §1).

    ``A ⋉ B = (A ⊗ I_a)(B ⊗ I_b)`` (``side="left"``, Cheng's STP) or
    ``A ⋊ B = (I_a ⊗ A)(I_b ⊗ B)`` (``side="right"``), where ``A`` is ``m×n``, ``B``
    is ``p×q``, ``t = lcm(n, p)``, ``a = t/n``, ``b = t/p``. The result is
    ``(m·a)×(q·b)``; for ``n == p`` it is ``A @ B``.

    Parameters
    ----------
    *arrays : arrays, at least two
        numpy arrays or torch tensors (not mixed), or nested lists (read with numpy).
        A 1-d array of length ``k`` is a column (``k×1``). Arrays with more than two
        dimensions are stacks of matrices in the last two axes; leading dimensions
        broadcast as in ``matmul``. `semitensor.logic.LogicalMatrix` operands are
        multiplied in δ-form; if all operands are logical the result is one too.
    side : {"left", "right"}, default "left"

    Returns
    -------
    array
        At least 2-d (a column result stays ``k×1``); the library, device and
        promoted dtype of the inputs. All-Boolean inputs give the Boolean STP (AND
        for ×, OR for +) as a Boolean array.

    Raises
    ------
    TypeError
        Fewer than two operands, numpy and torch arrays mixed, a masked array (pass
        ``x.filled(value)`` or ``x.data``), or an operand that is not a Boolean,
        integer, real or complex array (ragged lists, strings, datetimes, structured
        dtypes, Python objects such as ``None``); the message names the operand.
    ValueError
        A 0-d operand, an inner size of 0, batch dimensions that do not broadcast,
        or an invalid ``side``.
    MemoryError
        A product larger than the host's memory, raised before any work with the
        shapes and the size in bytes.

    See Also
    --------
    rstp : the right STP, ``stp(..., side="right")``.

    Notes
    -----
    Cost: with ``g = gcd(n, p)`` the left STP needs ``2·m·q·g·(a+b−1)`` flops and
    the right STP ``2·m·q·t``, against ``2·m·q·t·a·b`` for the Kronecker definition.
    No ``X ⊗ I_k`` is formed: divisible shapes are one GEMM on reshaped views; the
    general left case computes the ``a+b−1`` distinct ``m×q`` blocks once and
    places them; the general right case multiplies the ``a+b−1`` non-empty slice
    pairs. On numpy (and torch CPU tensors that need no gradient) compiled kernels
    write each output row once where they win: for outputs of 4096 to 2²³ entries
    the first product of a shape times the candidate kernels and keeps the fastest
    for the process (a bounded plan cache, as FFT libraries plan), larger and smaller
    ones follow a cost model (docs/benchmarks.md); working memory stays near the
    output's size. Small 1-d/2-d
    numpy operands of one dtype whose inner sizes divide skip the general path's
    validation overhead (a few µs per call). For three or more operands the
    parenthesisation minimising flops plus output writes is chosen by dynamic
    programming.

    References
    ----------
    .. [1] D. Cheng, H. Qi, Y. Zhao, *An Introduction to Semi-Tensor Product of
       Matrices and Its Applications*, World Scientific, 2012.

    Examples
    --------
    Cheng's worked example:

    >>> import numpy as np
    >>> from semitensor import stp
    >>> X = np.array([[1, 2, 1, 1], [2, 3, 1, 2], [3, 2, 1, 0]])
    >>> Y = np.array([[1, -2], [2, -1]])
    >>> stp(X, Y)
    array([[ 3,  4, -3, -5],
           [ 4,  7, -5, -8],
           [ 5,  2, -7, -4]])

    For columns the left STP is the Kronecker product:

    >>> x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    >>> bool(np.array_equal(stp(x, y), np.kron(x, y)[:, None]))
    True
    """
    out = small_product(arrays, side)
    if out is not None:
        return out
    for x in arrays:
        # Operand types with a product of their own (semitensor.logic.LogicalMatrix:
        # index arithmetic, no dense form) take the whole chain; product.py imports
        # nothing from above it.
        dispatch = getattr(type(x), "__stp_dispatch__", None)
        if dispatch is not None:
            return dispatch(arrays, side)
    side, xp, mats, _ = _validate(arrays, side)
    dtype, mats = _settle_dtype(xp, mats)
    boolean = dtype == xp.bool
    if len(mats) == 2:
        out = _pair(xp, mats[0], mats[1], side, boolean)
    else:
        shapes = [tuple(x.shape[-2:]) for x in mats]
        batches = [math.prod(x.shape[:-2]) for x in mats]
        split, _ = _chain_order(shapes, batches, side)
        out = _chain(xp, mats, split, 0, len(mats) - 1, side, boolean)
    if boolean:
        out = out > 0
    return out


def rstp(*arrays):
    """Right semi-tensor product ``A ⋊ B = (I_a ⊗ A)(I_b ⊗ B)``; see `stp`.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor import rstp
    >>> x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    >>> bool(np.array_equal(rstp(x, y), np.kron(y, x)[:, None]))
    True
    """
    return stp(*arrays, side="right")
