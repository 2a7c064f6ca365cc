"""Special matrices of the semi-tensor product calculus (SPEC §2).

The swap matrix ``W[m,n]``, the power-reducing matrix ``M_r,k`` and the structure
matrices of k-valued logical operators, built from truth tables. Every constructor
scatters ones into a matrix of zeros by index arithmetic (never through a Kronecker
product) and takes ``dtype=`` and ``like=`` (an array whose namespace and device
the result shares; numpy when ``None``).

Vector form of logic (Cheng's numbering): for ``k = 2`` the truth value ``True`` (or
1) is the first unit vector of ``R^2`` (index 0) and ``False`` (or 0) the second
(index 1). For ``k > 2`` the value ``v`` in ``0, ..., k-1``, with ``k-1`` true (truth
degree 1) and 0 false, is the unit vector at index ``k-1-v``: truth degree
``v/(k-1)`` is ``δ_k^{k-v}``.
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from ._memory import check_allocation
from ._namespace import resolve_like
from ._validation import check_positive_int

__all__ = ["swap_matrix", "power_reducing_matrix", "structure_matrix", "logical_vector"]


def _scatter_ones(xp, device, dtype, shape, rows, cols):
    """Return a ``shape`` matrix of zeros with ones at ``(rows[i], cols[i])``."""
    out = xp.zeros(shape, dtype=dtype, device=device)  # callers checked the size
    out[rows, cols] = 1
    return out


def _check_k(k):
    """Return ``k`` as an int if it is an integer >= 2, else raise."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an integer >= 2; got {k!r} of type {type(k).__name__}")
    k = int(k)
    if k < 2:
        raise ValueError(f"k must be an integer >= 2; got {k}")
    return k


def _truth_index(value, k):
    """Index of the unit vector of truth value ``value``, or ``None`` if invalid."""
    if k == 2 and isinstance(value, (bool, np.bool_)):
        return 0 if value else 1
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        return None
    value = int(value)
    # Cheng's numbering: the true value k-1 (degree 1) is the first unit vector.
    return k - 1 - value if 0 <= value < k else None


def _index_value(index, k):
    """Truth value whose unit vector sits at ``index`` (inverse of `_truth_index`)."""
    if k == 2:
        return index == 0
    return k - 1 - index


def _valid_values(k):
    if k == 2:
        return "a bool (True or False) or 0/1"
    return f"an integer in [0, {k - 1}] (not a bool)"


def swap_matrix(m, n, *, dtype=None, like=None):
    """Swap matrix ``W[m,n]``: the ``mn × mn`` permutation with ``W (x ⊗ y) = y ⊗ x``.

    Parameters
    ----------
    m : int
        Length of the first factor ``x``, ``m >= 1``.
    n : int
        Length of the second factor ``y``, ``n >= 1``.
    dtype : dtype or str, optional
        Dtype of the result, e.g. ``"float32"``, ``"bool"``, ``"int64"`` or a dtype of
        the namespace of ``like``. Default ``float64``.
    like : array, optional
        numpy array or torch tensor whose library and device the result shares.
        Default ``None``: a numpy array.

    Returns
    -------
    array, shape (m*n, m*n)
        ``W[m,n]``, with ``W[j*m + i, i*n + j] = 1`` for ``i < m``, ``j < n`` and zeros
        elsewhere.

    Raises
    ------
    TypeError
        If ``m`` or ``n`` is not an integer, ``like`` is not an array or ``dtype`` is
        unknown to its namespace.
    ValueError
        If ``m`` or ``n`` is smaller than 1.

    Notes
    -----
    ``x ⊗ y`` holds ``x_i y_j`` at index ``i·n + j`` and ``y ⊗ x`` holds it at
    ``j·m + i``, which fixes the one nonzero of each column. ``W[m,n]`` is also the
    commutation matrix that maps the row-stacking of an ``m × n`` matrix ``A``
    (``A.reshape(-1)``) to its column-stacking (``A.T.reshape(-1)``), and
    ``W[m,n]ᵀ = W[m,n]⁻¹ = W[n,m]``. The matrix is built by writing ``mn`` ones into
    zeros: ``O((mn)²)`` memory for the dense result, ``O(mn)`` work besides.

    References
    ----------
    D. Cheng, H. Qi, Z. Li, *Analysis and Control of Boolean Networks: A Semi-tensor
    Product Approach*, Springer, 2011, Ch. 2.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor.matrices import swap_matrix
    >>> x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    >>> W = swap_matrix(2, 3)
    >>> W.shape
    (6, 6)
    >>> bool(np.array_equal(W @ np.kron(x, y), np.kron(y, x)))
    True
    >>> bool(np.array_equal(W.T, swap_matrix(3, 2)))
    True
    """
    m = check_positive_int(m, "m")
    n = check_positive_int(n, "n")
    xp, device, dtype = resolve_like(like, dtype)
    check_allocation(
        f"swap_matrix({m}, {n}) has shape {(m * n, m * n)}", (m * n,) * 2, dtype, device
    )
    cols = xp.arange(m * n, device=device)  # column c = i*n + j carries x_i y_j
    rows = (cols % n) * m + cols // n  # ... to index j*m + i of y ⊗ x
    return _scatter_ones(xp, device, dtype, (m * n, m * n), rows, cols)


def power_reducing_matrix(k, *, dtype=None, like=None):
    """Power-reducing matrix ``M_r,k`` (``k² × k``): ``x ⋉ x = M_r,k x`` for unit ``x``.

    Parameters
    ----------
    k : int
        Dimension of the vectors, ``k >= 1``.
    dtype : dtype or str, optional
        Dtype of the result (see `swap_matrix`). Default ``float64``.
    like : array, optional
        numpy array or torch tensor whose library and device the result shares.
        Default ``None``: a numpy array.

    Returns
    -------
    array, shape (k*k, k)
        Column ``i`` is the unit vector at index ``i·k + i``.

    Raises
    ------
    TypeError
        If ``k`` is not an integer, ``like`` is not an array or ``dtype`` is unknown.
    ValueError
        If ``k`` is smaller than 1.

    Notes
    -----
    For a column ``x``, ``x ⋉ x = x ⊗ x``. When ``x`` is the ``i``-th unit vector,
    ``x ⊗ x`` is the unit vector at ``i·k + i``, which is column ``i`` of ``M_r,k``.
    The identity fails for a general ``x``: ``M_r,k x`` keeps only the diagonal
    products ``x_i²`` of ``x ⊗ x``.

    References
    ----------
    D. Cheng, H. Qi, Z. Li, *Analysis and Control of Boolean Networks: A Semi-tensor
    Product Approach*, Springer, 2011, Ch. 2.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor.matrices import power_reducing_matrix
    >>> M = power_reducing_matrix(3)
    >>> M.shape
    (9, 3)
    >>> x = np.array([0.0, 1.0, 0.0])
    >>> bool(np.array_equal(M @ x, np.kron(x, x)))
    True
    """
    k = check_positive_int(k, "k")
    xp, device, dtype = resolve_like(like, dtype)
    check_allocation(
        f"power_reducing_matrix({k}) has shape {(k * k, k)}", (k * k, k), dtype, device
    )
    cols = xp.arange(k, device=device)
    return _scatter_ones(xp, device, dtype, (k * k, k), cols * (k + 1), cols)


# The most columns (calls of fn) structure_matrix builds: 2^24, a few seconds of calls.
_MAX_TABLE_COLUMNS = 1 << 24


def structure_matrix(fn, arity, k=2, *, dtype=None, like=None):
    """Structure matrix of a k-valued logical operator, built from its truth table.

    The result ``M`` (``k × k^arity``) satisfies ``σ(p_1, ..., p_r) = M ⋉ p_1 ⋉ ... ⋉ p_r``
    (left STP) for the vector forms ``p_j`` of the arguments.

    Parameters
    ----------
    fn : callable
        The operator ``σ``, called with ``arity`` positional truth values. For ``k = 2``
        it takes Python bools and returns a bool, a ``numpy.bool_`` or 0/1 (``True``
        or 1 is the first unit vector, index 0; ``False`` or 0 the second). For
        ``k > 2`` it takes and returns integers in ``0, ..., k-1`` with ``k-1`` the
        true value (Cheng's numbering: value ``v`` is the unit vector at index
        ``k-1-v``, so truth degree 1 is ``δ_k^1``); bools are not accepted.
    arity : int
        Number of arguments, ``arity >= 1``.
    k : int, default 2
        Number of truth values, ``k >= 2``.
    dtype : dtype or str, optional
        Dtype of the result (see `swap_matrix`). Default ``float64``.
    like : array, optional
        numpy array or torch tensor whose library and device the result shares.
        Default ``None``: a numpy array.

    Returns
    -------
    array, shape (k, k**arity)
        Column ``c = Σ_j idx(p_j)·k^(r−j)`` (first argument slowest), with
        ``idx(v) = k−1−v``, is the unit vector of ``σ(p_1, ..., p_r)``.

    Raises
    ------
    TypeError
        If ``fn`` is not callable, ``arity`` or ``k`` is not an integer, ``like`` is not
        an array or ``dtype`` is unknown.
    ValueError
        If ``arity < 1``, ``k < 2``, or ``fn`` returns a value that is not a truth value
        (the message names the arguments and the value returned).

    Notes
    -----
    For columns, ``p_1 ⋉ ... ⋉ p_r = p_1 ⊗ ... ⊗ p_r`` is the unit vector at
    ``Σ_j idx(p_j)·k^(r−j)``, so ``M ⋉ p_1 ⋉ ... ⋉ p_r`` picks that column of ``M``.
    ``fn`` is called once per column, ``k^arity`` times, in column order; exceptions
    it raises propagate unchanged.

    Changed since 0.1.0 (see ``CHANGELOG.md``): for ``k > 2`` the value ``v`` was
    the unit vector at index ``v``; it is now at index ``k-1-v`` (Cheng's numbering,
    and the ``k = 2`` rule: true first), so ``structure_matrix(min, 2, k=3)`` is
    Cheng's conjunction, not his disjunction. 0/1 results are accepted for ``k = 2``.

    References
    ----------
    D. Cheng, H. Qi, Z. Li, *Analysis and Control of Boolean Networks: A Semi-tensor
    Product Approach*, Springer, 2011, Ch. 2-3.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor.matrices import logical_vector, structure_matrix
    >>> M_and = structure_matrix(lambda p, q: p and q, 2)
    >>> M_and.astype(int)
    array([[1, 0, 0, 0],
           [0, 1, 1, 1]])
    >>> p, q = logical_vector(True), logical_vector(False)
    >>> bool(np.array_equal(M_and @ np.kron(p, q), logical_vector(False)))
    True

    For ``k = 3`` (values 0, 1, 2 with 2 true), ``min`` is Cheng's conjunction
    ``δ_3[1 2 3 2 2 3 3 3 3]``:

    >>> M = structure_matrix(min, 2, k=3)
    >>> (M.argmax(axis=0) + 1).tolist()
    [1, 2, 3, 2, 2, 3, 3, 3, 3]
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {fn!r} of type {type(fn).__name__}")
    arity = check_positive_int(arity, "arity")
    k = _check_k(k)
    xp, device, dtype = resolve_like(like, dtype)
    ncols = k**arity
    if ncols > _MAX_TABLE_COLUMNS:
        # fn is called once per column: 2^34 Python calls ran for hours unchecked.
        raise ValueError(
            f"structure_matrix(arity={arity}, k={k}) has k**arity = {ncols} columns, one "
            f"call of fn each; at most {_MAX_TABLE_COLUMNS} are built (use "
            "semitensor.logic for networks of many variables: it never needs the full table)"
        )
    rows = []
    # itertools.product varies the last argument fastest: column order c = Σ idx_j k^(r-j).
    for digits in itertools.product(range(k), repeat=arity):
        args = tuple(_index_value(d, k) for d in digits)
        result = fn(*args)
        index = _truth_index(result, k)
        if index is None:
            shown = ", ".join(repr(a) for a in args)
            raise ValueError(
                f"fn must return {_valid_values(k)} for k={k}; "
                f"fn({shown}) returned {result!r} of type {type(result).__name__}"
            )
        rows.append(index)
    rows = xp.asarray(rows, dtype=xp.int64, device=device)
    cols = xp.arange(ncols, device=device)
    return _scatter_ones(xp, device, dtype, (k, ncols), rows, cols)


def logical_vector(value, k=2, *, dtype=None, like=None):
    """Vector form of a truth value: the unit vector of ``R^k`` that represents it.

    Parameters
    ----------
    value : bool or int
        For ``k = 2`` a bool or 0/1 (``True`` is index 0, ``False`` index 1). For
        ``k > 2`` an integer in ``0, ..., k-1`` with ``k-1`` true, at index ``k-1-v``
        (Cheng's numbering).
    k : int, default 2
        Number of truth values, ``k >= 2``.
    dtype : dtype or str, optional
        Dtype of the result (see `swap_matrix`). Default ``float64``.
    like : array, optional
        numpy array or torch tensor whose library and device the result shares.
        Default ``None``: a numpy array.

    Returns
    -------
    array, shape (k,)
        The unit vector, a 1-D array that library functions read as a column.

    Raises
    ------
    TypeError
        If ``k`` is not an integer, ``like`` is not an array or ``dtype`` is unknown.
    ValueError
        If ``k < 2`` or ``value`` is not a truth value for this ``k``.

    Notes
    -----
    The convention matches `structure_matrix`, so that ``structure_matrix(fn, r, k)``
    applied to ``p_1 ⊗ ... ⊗ p_r`` gives ``logical_vector(fn(v_1, ..., v_r), k)``.

    Examples
    --------
    >>> from semitensor.matrices import logical_vector
    >>> logical_vector(True).tolist(), logical_vector(False).tolist()
    ([1.0, 0.0], [0.0, 1.0])
    >>> logical_vector(2, k=3).tolist()      # 2 is true for k = 3: the first unit vector
    [1.0, 0.0, 0.0]
    """
    k = _check_k(k)
    index = _truth_index(value, k)
    if index is None:
        raise ValueError(
            f"value must be {_valid_values(k)} for k={k}; "
            f"got {value!r} of type {type(value).__name__}"
        )
    xp, device, dtype = resolve_like(like, dtype)
    check_allocation(f"logical_vector(k={k}) has shape {(k,)}", (k,), dtype, device)
    out = xp.zeros((k,), dtype=dtype, device=device)
    out[index] = 1
    return out
