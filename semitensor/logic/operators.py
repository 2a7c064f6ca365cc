"""Operator matrices of the STP calculus and k-valued connectives, as `LogicalMatrix`.

Cheng's numbering: truth degree 1 (true) is the first unit vector ``δ_k^1`` (index 0)
and degree 0 (false) the last (index ``k-1``); the value ``v`` in ``0, ..., k-1``
with ``k-1`` true sits at index ``k-1-v``. On indices, conjunction (``min`` of
degrees) is the ``max`` of indices, disjunction the ``min``, negation ``i ↦ k-1-i``.
Every constructor computes the column indices directly; none calls a Python rule.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_positive_int
from ._matrix import LogicalMatrix

__all__ = [
    "swap_matrix",
    "power_reducing_matrix",
    "retriever",
    "front_maintaining",
    "rear_maintaining",
    "negation",
    "conjunction",
    "disjunction",
    "implication",
    "equivalence",
    "exclusive_or",
]


def _check_k(k):
    k = check_positive_int(k, "k")
    if k < 2:
        raise ValueError(f"k must be an integer >= 2; got {k}")
    return k


def swap_matrix(m, n):
    """Swap matrix ``W[m,n]`` in δ-form: ``W ⋉ x ⋉ y = y ⋉ x`` for ``x ∈ Δ_m``, ``y ∈ Δ_n``.

    Parameters
    ----------
    m, n : int
        Sizes of the two factors, ``>= 1``.

    Returns
    -------
    LogicalMatrix, shape (m*n, m*n)
        Column ``i·n + j`` holds its 1 in row ``j·m + i``.

    Raises
    ------
    TypeError, ValueError
        If ``m`` or ``n`` is not a positive integer.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor import swap_matrix as dense_swap
    >>> from semitensor.logic import swap_matrix
    >>> swap_matrix(2, 3).delta()
    'δ_6[1 3 5 2 4 6]'
    >>> bool(np.array_equal(swap_matrix(2, 3).to_dense(), dense_swap(2, 3)))
    True
    """
    m = check_positive_int(m, "m")
    n = check_positive_int(n, "n")
    c = np.arange(m * n, dtype=np.int64)
    return LogicalMatrix._trusted((c % n) * m + c // n, m * n)


def power_reducing_matrix(k):
    """Power-reducing matrix ``M_r,k`` in δ-form: ``x ⋉ x = M_r,k ⋉ x`` for ``x ∈ Δ_k``.

    Parameters
    ----------
    k : int
        Size of the vectors, ``k >= 1``.

    Returns
    -------
    LogicalMatrix, shape (k*k, k)
        Column ``i`` holds its 1 in row ``i·k + i``.

    Raises
    ------
    TypeError, ValueError
        If ``k`` is not a positive integer.

    Examples
    --------
    >>> from semitensor.logic import power_reducing_matrix
    >>> power_reducing_matrix(2).delta()
    'δ_4[1 4]'
    """
    k = check_positive_int(k, "k")
    return LogicalMatrix._trusted(np.arange(k, dtype=np.int64) * (k + 1), k * k)


def retriever(position, n, k=2):
    """Retriever ``S_i^n``: ``S ⋉ x_1 ⋉ … ⋉ x_n = x_i`` for ``x_j ∈ Δ_k``.

    Parameters
    ----------
    position : int
        0-based position ``i`` of the factor to keep, ``0 <= position < n`` (Cheng's
        ``S_{i+1}^n``).
    n : int
        Number of factors, ``n >= 1``.
    k : int, default 2
        Size of each factor, ``k >= 2``.

    Returns
    -------
    LogicalMatrix, shape (k, k**n)
        ``1_{k^i}ᵀ ⊗ I_k ⊗ 1_{k^(n-i-1)}ᵀ``: column ``c`` holds its 1 in row
        ``(c // k^(n-1-i)) % k``, the digit of factor ``i`` (``x_1`` slowest).

    Raises
    ------
    TypeError, ValueError
        If an argument is not an integer in its range.

    Examples
    --------
    >>> from semitensor.logic import retriever
    >>> retriever(1, 2).delta()       # x_1 ⋉ x_2 ↦ x_2
    'δ_2[1 2 1 2]'
    """
    n = check_positive_int(n, "n")
    k = _check_k(k)
    if isinstance(position, bool) or not isinstance(position, numbers.Integral):
        raise TypeError(
            f"position must be an integer; got {position!r} of type {type(position).__name__}"
        )
    position = int(position)
    if not 0 <= position < n:
        raise ValueError(f"position must be in [0, {n - 1}] for n={n} factors; got {position}")
    c = np.arange(k**n, dtype=np.int64)
    return LogicalMatrix._trusted((c // k ** (n - 1 - position)) % k, k)


def front_maintaining(p, q):
    """Front-maintaining (dummy) operator ``D_f^{p,q} = I_p ⊗ 1_qᵀ``: ``D_f ⋉ x ⋉ y = x``.

    Parameters
    ----------
    p, q : int
        Sizes of ``x ∈ Δ_p`` and ``y ∈ Δ_q``, ``>= 1``.

    Returns
    -------
    LogicalMatrix, shape (p, p*q)
        Column ``c`` holds its 1 in row ``c // q``.

    Raises
    ------
    TypeError, ValueError
        If ``p`` or ``q`` is not a positive integer.

    Examples
    --------
    >>> from semitensor.logic import front_maintaining
    >>> front_maintaining(2, 2).delta()
    'δ_2[1 1 2 2]'
    """
    p = check_positive_int(p, "p")
    q = check_positive_int(q, "q")
    return LogicalMatrix._trusted(np.arange(p * q, dtype=np.int64) // q, p)


def rear_maintaining(p, q):
    """Rear-maintaining (dummy) operator ``D_r^{p,q} = 1_pᵀ ⊗ I_q``: ``D_r ⋉ x ⋉ y = y``.

    For ``p = q = 2`` this is Cheng's dummy matrix ``E_d = δ_2[1 2 1 2]``.

    Parameters
    ----------
    p, q : int
        Sizes of ``x ∈ Δ_p`` and ``y ∈ Δ_q``, ``>= 1``.

    Returns
    -------
    LogicalMatrix, shape (q, p*q)
        Column ``c`` holds its 1 in row ``c % q``.

    Raises
    ------
    TypeError, ValueError
        If ``p`` or ``q`` is not a positive integer.

    Examples
    --------
    >>> from semitensor.logic import rear_maintaining
    >>> rear_maintaining(2, 2).delta()
    'δ_2[1 2 1 2]'
    """
    p = check_positive_int(p, "p")
    q = check_positive_int(q, "q")
    return LogicalMatrix._trusted(np.arange(p * q, dtype=np.int64) % q, q)


def _binary(k, rule):
    k = _check_k(k)
    c = np.arange(k * k, dtype=np.int64)
    return LogicalMatrix._trusted(rule(c // k, c % k, k), k)


def negation(k=2):
    """Negation ``¬p`` (degree ``1 − p``): ``δ_k[k k-1 … 1]``.

    Parameters
    ----------
    k : int, default 2
        Number of truth values, ``k >= 2``.

    Returns
    -------
    LogicalMatrix, shape (k, k)

    Raises
    ------
    TypeError, ValueError
        If ``k`` is not an integer ``>= 2``.

    Examples
    --------
    >>> from semitensor.logic import negation
    >>> negation().delta(), negation(3).delta()
    ('δ_2[2 1]', 'δ_3[3 2 1]')
    """
    k = _check_k(k)
    return LogicalMatrix._trusted(k - 1 - np.arange(k, dtype=np.int64), k)


def conjunction(k=2):
    """Conjunction ``p ∧ q`` (``min`` of truth degrees), structure matrix ``k × k²``.

    Parameters
    ----------
    k : int, default 2
        Number of truth values, ``k >= 2``.

    Returns
    -------
    LogicalMatrix, shape (k, k*k)
        ``conjunction(k) ⋉ p ⋉ q = p ∧ q``.

    Raises
    ------
    TypeError, ValueError
        If ``k`` is not an integer ``>= 2``.

    Examples
    --------
    >>> from semitensor.logic import conjunction
    >>> conjunction().delta(), conjunction(3).delta()
    ('δ_2[1 2 2 2]', 'δ_3[1 2 3 2 2 3 3 3 3]')
    """
    return _binary(k, lambda i, j, k: np.maximum(i, j))


def disjunction(k=2):
    """Disjunction ``p ∨ q`` (``max`` of truth degrees), structure matrix ``k × k²``.

    Parameters
    ----------
    k : int, default 2
        Number of truth values, ``k >= 2``.

    Returns
    -------
    LogicalMatrix, shape (k, k*k)

    Raises
    ------
    TypeError, ValueError
        If ``k`` is not an integer ``>= 2``.

    Examples
    --------
    >>> from semitensor.logic import disjunction
    >>> disjunction().delta(), disjunction(3).delta()
    ('δ_2[1 1 1 2]', 'δ_3[1 1 1 1 2 2 1 2 3]')
    """
    return _binary(k, lambda i, j, k: np.minimum(i, j))


def implication(k=2):
    """Implication ``p → q = (¬p) ∨ q``, structure matrix ``k × k²``.

    Parameters
    ----------
    k : int, default 2
        Number of truth values, ``k >= 2``.

    Returns
    -------
    LogicalMatrix, shape (k, k*k)

    Raises
    ------
    TypeError, ValueError
        If ``k`` is not an integer ``>= 2``.

    Examples
    --------
    >>> from semitensor.logic import implication
    >>> implication().delta()
    'δ_2[1 2 1 1]'
    """
    return _binary(k, lambda i, j, k: np.minimum(k - 1 - i, j))


def equivalence(k=2):
    """Equivalence ``p ↔ q = (p → q) ∧ (q → p)``, structure matrix ``k × k²``.

    Parameters
    ----------
    k : int, default 2
        Number of truth values, ``k >= 2``.

    Returns
    -------
    LogicalMatrix, shape (k, k*k)

    Raises
    ------
    TypeError, ValueError
        If ``k`` is not an integer ``>= 2``.

    Examples
    --------
    >>> from semitensor.logic import equivalence
    >>> equivalence().delta()
    'δ_2[1 2 2 1]'
    """
    return _binary(
        k, lambda i, j, k: np.maximum(np.minimum(k - 1 - i, j), np.minimum(k - 1 - j, i))
    )


def exclusive_or(k=2):
    """Exclusive or ``p ⊻ q = ¬(p ↔ q)``, structure matrix ``k × k²``.

    Parameters
    ----------
    k : int, default 2
        Number of truth values, ``k >= 2``.

    Returns
    -------
    LogicalMatrix, shape (k, k*k)

    Raises
    ------
    TypeError, ValueError
        If ``k`` is not an integer ``>= 2``.

    Examples
    --------
    >>> from semitensor.logic import exclusive_or
    >>> exclusive_or().delta()
    'δ_2[2 1 1 2]'
    """
    return _binary(
        k,
        lambda i, j, k: k - 1 - np.maximum(np.minimum(k - 1 - i, j), np.minimum(k - 1 - j, i)),
    )
