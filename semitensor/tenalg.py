"""Tensor algebra: unfolding, folding, the mode-n product and its semi-tensor form.

Conventions follow TensorLy: ``unfold(X, n)`` moves mode ``n`` to the front and
reshapes in C order, so ``unfold(X, n)[i_n, :]`` lists ``X[..., i_n, ...]`` with the
last remaining index fastest; ``fold`` inverts it. ``stp_mode_dot`` is SPEC §3.
"""

from __future__ import annotations

import math

import numpy as np

from ._kernels import dask_blocks
from ._kernels.guards import check_operand
from ._memory import check_allocation
from ._namespace import as_arrays, is_torch
from ._validation import check_bool, check_mode, check_nonnegative_int, check_side

__all__ = ["unfold", "fold", "mode_dot", "stp_mode_dot", "cheapest_mode_order"]

# Below this many trailing entries per batch, one large GEMM on a transposed copy
# beats a stack of thin GEMMs (measured on numpy/OpenBLAS, 2 cores).
_BATCHED_MIN_COLS = 32


def _operands(objs, names):
    """``as_arrays`` after refusing masked and non-numeric operands by their names."""
    for o, name in zip(objs, names):
        check_operand(o, name)
    return as_arrays(*objs, names=names)


def _check_tensor(xp, tensor, name="tensor", min_ndim=1):
    if tensor.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s); got a {tensor.ndim}-d array"
        )


def unfold(tensor, mode):
    """Mode-``mode`` unfolding (matricisation) of a tensor.

    Parameters
    ----------
    tensor : array, shape (I_1, ..., I_N)
        numpy array or torch tensor, ``N >= 1``.
    mode : int
        The mode that becomes the rows; negative values count from the end.

    Returns
    -------
    array, shape (I_mode, prod of the other sizes)
        Same library, dtype and device as ``tensor``.

    Raises
    ------
    ValueError
        If ``mode`` is out of range or ``tensor`` is 0-d.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor import unfold, fold
    >>> X = np.arange(24).reshape(2, 3, 4)
    >>> unfold(X, 1).shape
    (3, 8)
    >>> bool((fold(unfold(X, 1), 1, X.shape) == X).all())
    True
    """
    if dask_blocks.is_dask(tensor):
        return dask_blocks.unfold(tensor, check_mode(mode, max(tensor.ndim, 1)))
    xp, (tensor,) = _operands([tensor], ["tensor"])
    _check_tensor(xp, tensor)
    mode = check_mode(mode, tensor.ndim)
    # An explicit column count, not -1: reshape cannot infer -1 for an empty tensor.
    rest = math.prod(tensor.shape[:mode]) * math.prod(tensor.shape[mode + 1 :])
    return xp.reshape(xp.moveaxis(tensor, mode, 0), (tensor.shape[mode], rest))


def fold(matrix, mode, shape):
    """Refold a mode-``mode`` unfolding into a tensor of ``shape`` (inverse of `unfold`).

    Parameters
    ----------
    matrix : array, shape (shape[mode], prod of the other sizes)
    mode : int
    shape : tuple of int
        Shape of the tensor to rebuild.

    Returns
    -------
    array of shape ``shape``

    Raises
    ------
    ValueError
        If ``matrix`` is not 2-d or its size does not match ``shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor import fold
    >>> fold(np.zeros((4, 6)), 2, (2, 3, 4)).shape
    (2, 3, 4)
    """
    xp, (matrix,) = _operands([matrix], ["matrix"])
    if not isinstance(shape, (list, tuple)) or not shape:
        raise TypeError(f"shape must be a non-empty list or tuple of ints; got {shape!r}")
    shape = tuple(check_nonnegative_int(s, f"shape[{k}]") for k, s in enumerate(shape))
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-d; got shape {tuple(matrix.shape)}")
    mode = check_mode(mode, len(shape))
    rest = math.prod(shape[:mode]) * math.prod(shape[mode + 1 :])
    if tuple(matrix.shape) != (shape[mode], rest):
        raise ValueError(
            f"matrix of shape {tuple(matrix.shape)} is not a mode-{mode} unfolding of a tensor "
            f"of shape {shape}; expected ({shape[mode]}, {rest})"
        )
    full = (shape[mode],) + shape[:mode] + shape[mode + 1 :]
    return xp.moveaxis(xp.reshape(matrix, full), 0, mode)


def _contract_middle(xp, x3, u):
    """``out[b, j, c] = sum_k u[j, k] x3[b, k, c]`` by the cheaper of two GEMM layouts."""
    nb, k, nc = x3.shape
    j = u.shape[0]
    if nb == 1:
        return xp.reshape(u @ x3[0, ...], (1, j, nc))
    if nc == 1:
        return xp.reshape(x3[..., 0] @ xp.matrix_transpose(u), (nb, j, 1))
    if nc >= _BATCHED_MIN_COLS:
        return u @ x3
    # One GEMM over all batches: bring k to the front (one copy), multiply, move back.
    xk = xp.reshape(xp.permute_dims(x3, (1, 0, 2)), (k, nb * nc))
    return xp.permute_dims(xp.reshape(u @ xk, (j, nb, nc)), (1, 0, 2))


def _matrix_operand(xp, matrix, transpose, name="matrix"):
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be 2-d; got shape {tuple(matrix.shape)}")
    if transpose:
        matrix = (
            xp.conj(xp.matrix_transpose(matrix))
            if xp.isdtype(matrix.dtype, "complex floating")
            else xp.matrix_transpose(matrix)
        )
    return matrix


def _promote(xp, a, b):
    dtype = xp.result_type(a, b)
    return xp.astype(a, dtype, copy=False), xp.astype(b, dtype, copy=False)


def mode_dot(tensor, matrix_or_vector, mode, transpose=False):
    """Mode-``mode`` product ``X ×_n U`` (TensorLy's convention).

    Parameters
    ----------
    tensor : array, shape (I_1, ..., I_N)
    matrix_or_vector : array, shape (J, I_mode) or (I_mode,)
        A matrix replaces mode ``mode`` by ``J``; a vector contracts the mode away.
    mode : int
    transpose : bool, default False
        Use the (conjugate) transpose of the matrix, shape ``(I_mode, J)``.

    Returns
    -------
    array
        Shape ``(..., J, ...)`` for a matrix, the mode removed for a vector.

    Raises
    ------
    ValueError
        If the sizes do not match or ``mode`` is out of range.
    TypeError
        If numpy and torch arrays are mixed.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor import mode_dot, unfold
    >>> X = np.random.default_rng(0).standard_normal((2, 3, 4))
    >>> U = np.ones((5, 3))
    >>> Y = mode_dot(X, U, 1)
    >>> Y.shape
    (2, 5, 4)
    >>> bool(np.allclose(unfold(Y, 1), U @ unfold(X, 1)))
    True
    """
    if dask_blocks.is_dask(tensor):
        return _dask_mode_dot(tensor, matrix_or_vector, mode, transpose)
    xp, (tensor, u) = _operands([tensor, matrix_or_vector], ["tensor", "matrix_or_vector"])
    _check_tensor(xp, tensor)
    mode = check_mode(mode, tensor.ndim)
    transpose = check_bool(transpose, "transpose")
    vector = u.ndim == 1
    if vector:
        u = xp.reshape(u, (1, u.shape[0]))
    else:
        u = _matrix_operand(xp, u, transpose, "matrix_or_vector")
    size = tensor.shape[mode]
    if u.shape[1] != size:
        if vector:
            what = "vector length"
        else:  # name the axis of the matrix as the caller passed it
            what = "matrix rows (transpose=True)" if transpose else "matrix columns"
        raise ValueError(
            f"{what} ({u.shape[1]}) must equal the size of mode {mode} of the tensor "
            f"({size}); tensor shape {tuple(tensor.shape)}"
        )
    out = _semi_mode_product(xp, tensor, u, mode, 1, "left")
    if vector:
        out = xp.reshape(out, tuple(tensor.shape[:mode]) + tuple(tensor.shape[mode + 1 :]))
    return out


def _small_numpy_operand(tensor, matrix, name):
    """The small operand of a product with a dask tensor, as numpy (torch is refused)."""
    if is_torch(matrix):
        raise TypeError(
            f"cannot mix array libraries in one call: tensor is a dask array, {name} is a "
            "torch array; pass a numpy array (or a dask one, which is computed)"
        )
    _check_tensor(np, tensor)
    return np.asarray(matrix)


def _dask_mode_dot(tensor, matrix_or_vector, mode, transpose):
    """`mode_dot` of a dask tensor with a small matrix or vector (a dask array back)."""
    u = _small_numpy_operand(tensor, matrix_or_vector, "matrix_or_vector")
    mode = check_mode(mode, tensor.ndim)
    transpose = check_bool(transpose, "transpose")
    vector = u.ndim == 1
    u = u.reshape(1, -1) if vector else _matrix_operand(np, u, transpose, "matrix_or_vector")
    if u.shape[1] != tensor.shape[mode]:
        raise ValueError(
            f"matrix_or_vector has {u.shape[1]} entries along the contracted axis, which must "
            f"equal the size of mode {mode} of the tensor ({tensor.shape[mode]}); tensor "
            f"shape {tuple(tensor.shape)}"
        )
    out = dask_blocks.stp_mode_dot(tensor, u, mode, "left")
    return out[(slice(None),) * mode + (0,)] if vector else out


def _semi_mode_product(xp, tensor, u, mode, s, side):
    """``tensor ×_mode (U ⊗ I_s)`` (left) or ``(I_s ⊗ U)`` (right) without the Kronecker."""
    tensor, u = _promote(xp, tensor, u)
    shape = tuple(tensor.shape)
    new = shape[:mode] + (u.shape[0] * s,) + shape[mode + 1 :]
    check_allocation(
        f"the mode-{mode} product of a tensor of shape {shape} and a matrix of shape "
        f"{tuple(u.shape)} has shape {new}",
        new,
        tensor.dtype,
        getattr(tensor, "device", None),
    )
    pre = math.prod(shape[:mode])
    post = math.prod(shape[mode + 1 :])
    j, k = u.shape
    if side == "left":  # i_n = k*s + sigma: U acts on the slow digit
        x3 = xp.reshape(tensor, (pre, k, s * post))
    else:  # i_n = sigma*K + k: U acts on the fast digit
        x3 = xp.reshape(tensor, (pre * s, k, post))
    if tensor.dtype == xp.bool:
        # The Boolean product (OR of ANDs), as numpy's matmul gives it; torch has no
        # Boolean GEMM. Counts of true terms are exact in float32 below 2^24 terms.
        out = _contract_middle(xp, xp.astype(x3, xp.float32), xp.astype(u, xp.float32)) > 0
    else:
        out = _contract_middle(xp, x3, u)
    return xp.reshape(out, new)


def stp_mode_dot(tensor, matrix, mode, side="left"):
    """Semi-tensor mode-n product ``X ⋉_n U`` (SPEC §3).

    For ``U`` of shape ``(J, K)`` with ``K`` dividing ``I_n`` (``s = I_n / K``) the left
    product is ``X ×_n (U ⊗ I_s)``: ``U`` acts on the slow digit of
    ``i_n = k·s + σ``. The right product uses ``I_s ⊗ U`` (the fast digit,
    ``i_n = σ·K + k``). With ``s = 1`` both are `mode_dot`.

    Parameters
    ----------
    tensor : array, shape (I_1, ..., I_N)
    matrix : array, shape (J, K)
        ``K`` must divide ``I_mode``.
    mode : int
    side : {"left", "right"}, default "left"

    Returns
    -------
    array
        Mode ``mode`` has size ``J·s``; other modes unchanged.

    Raises
    ------
    ValueError
        If ``K`` does not divide ``I_mode``, ``matrix`` is not 2-d, ``mode`` is out of
        range or ``side`` is invalid.
    TypeError
        If numpy and torch arrays are mixed.

    Notes
    -----
    ``U ⊗ I_s`` is never formed: mode ``n`` is reshaped to ``(K, s)`` (left) or
    ``(s, K)`` (right) and ``U`` contracts the ``K`` axis, at ``2·J·prod(I)`` flops.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor import stp_mode_dot, mode_dot
    >>> X = np.random.default_rng(0).standard_normal((3, 6, 2))
    >>> U = np.random.default_rng(1).standard_normal((4, 2))
    >>> Y = stp_mode_dot(X, U, 1)
    >>> Y.shape
    (3, 12, 2)
    >>> bool(np.allclose(Y, mode_dot(X, np.kron(U, np.eye(3)), 1)))
    True
    """
    side = check_side(side)
    if dask_blocks.is_dask(tensor):
        xp, u = np, _small_numpy_operand(tensor, matrix, "matrix")
    else:
        xp, (tensor, u) = _operands([tensor, matrix], ["tensor", "matrix"])
    _check_tensor(xp, tensor)
    mode = check_mode(mode, tensor.ndim)
    u = _matrix_operand(xp, u, False)
    size = tensor.shape[mode]
    k = u.shape[1]
    if k == 0 or size % k:
        raise ValueError(
            f"matrix has {k} columns, which does not divide the size of mode {mode} "
            f"({size}); tensor shape {tuple(tensor.shape)}. Valid column counts are the "
            f"divisors of {size}"
        )
    if dask_blocks.is_dask(tensor):
        return dask_blocks.stp_mode_dot(tensor, u, mode, side)
    return _semi_mode_product(xp, tensor, u, mode, size // k, side)


def cheapest_mode_order(sizes_in, sizes_out, rows):
    """Order in which to apply a sequence of mode products at the lowest flop count.

    Applying a ``rows × cols`` matrix (through `stp_mode_dot`) to mode ``n`` of a
    tensor with ``P`` entries costs ``2·rows_n·P`` flops and multiplies ``P`` by
    ``r_n = sizes_out[n] / sizes_in[n]``. Swapping two neighbours ``a, b`` in the
    sequence changes the cost by a multiple of ``rows_b·(r_a − 1) − rows_a·(r_b − 1)``,
    so sorting by the key ``(r_n − 1)/rows_n`` (an exchange argument, as in Smith's
    rule) gives an optimal order: shrinking modes first, expanding modes last.

    Parameters
    ----------
    sizes_in, sizes_out : sequence of int
        Size of each mode before and after its product.
    rows : sequence of int
        Number of rows of the matrix applied to each mode.

    Returns
    -------
    list of int
        The modes in the order to apply them.

    Examples
    --------
    >>> cheapest_mode_order([2, 8, 4], [16, 4, 4], [8, 2, 2])  # shrink mode 1 first
    [1, 2, 0]
    """
    # A product that empties the tensor goes first: everything after it costs nothing.
    keys = [
        (o / i - 1.0) / r if i and o and r else -math.inf
        for i, o, r in zip(sizes_in, sizes_out, rows)
    ]
    return sorted(range(len(keys)), key=keys.__getitem__)
