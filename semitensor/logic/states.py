"""States of a network: tuple of node values ↔ integer index ↔ δ-vector, Cheng's order.

The state ``x = x_1 ⋉ x_2 ⋉ … ⋉ x_n`` of ``n`` k-valued nodes is the unit vector
``δ_{k^n}^{i+1}`` with ``i = Σ_j idx(x_j)·k^(n−j)`` (``x_1`` the slowest digit), where
``idx(v) = k−1−v`` for a truth value ``v`` in ``0, …, k−1`` (``k−1`` true, at index 0).
For Boolean nodes ``idx(True) = 0``, ``idx(False) = 1``, so the all-true state is 0.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._namespace import resolve_like, to_numpy
from .._validation import check_positive_int

__all__ = ["state_index", "state_values", "state_vector", "vector_index"]


def _check_k(k):
    k = check_positive_int(k, "k")
    if k < 2:
        raise ValueError(f"k must be an integer >= 2; got {k}")
    return k


def _digit(value, k, j):
    """Index digit ``k-1-v`` of the truth value ``value`` at position ``j``."""
    if k == 2 and isinstance(value, (bool, np.bool_)):
        return 0 if value else 1
    if not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Integral):
        if 0 <= int(value) < k:
            return k - 1 - int(value)
    kind = "a bool or 0/1" if k == 2 else f"an integer in [0, {k - 1}]"
    raise ValueError(f"values[{j}] must be {kind} for k={k}; got {value!r}")


def state_index(values, k=2):
    """Index of the state with node values ``values``: ``Σ_j (k−1−x_j)·k^(n−j)``.

    Parameters
    ----------
    values : sequence of bool or int
        ``(x_1, …, x_n)``, ``n >= 1``. For ``k = 2`` bools or 0/1 (1 = true); for
        ``k > 2`` integers in ``0, …, k−1`` with ``k−1`` true.
    k : int, default 2
        Number of truth values, ``k >= 2``.

    Returns
    -------
    int
        The 0-based index ``i`` of the state vector ``δ_{k^n}^{i+1}``.

    Raises
    ------
    TypeError
        If ``values`` is not a sequence.
    ValueError
        If it is empty or holds a value that is not a truth value for this ``k``.

    Examples
    --------
    >>> from semitensor.logic import state_index
    >>> state_index((True, True, True)), state_index((True, False, False))
    (0, 3)
    >>> state_index((2, 0), k=3)       # truth values 0..2, 2 true: digits (0, 2)
    2
    """
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"values must be a sequence of truth values; got {type(values).__name__}")
    k = _check_k(k)
    if len(values) == 0:
        raise ValueError("values must hold at least one node value; got an empty sequence")
    index = 0
    for j, v in enumerate(values):
        index = index * k + _digit(v, k, j)
    return index


def state_values(index, n, k=2):
    """Node values ``(x_1, …, x_n)`` of the state with index ``index`` (`state_index` inverse).

    Parameters
    ----------
    index : int
        ``0 <= index < k**n``.
    n : int
        Number of nodes, ``n >= 1``.
    k : int, default 2
        Number of truth values, ``k >= 2``.

    Returns
    -------
    tuple
        Bools for ``k = 2``; integers in ``0, …, k−1`` (``k−1`` true) for ``k > 2``.

    Raises
    ------
    TypeError
        If an argument is not an integer.
    ValueError
        If ``index`` is outside ``[0, k**n)``.

    Examples
    --------
    >>> from semitensor.logic import state_values
    >>> state_values(3, 3)
    (True, False, False)
    >>> state_values(2, 2, k=3)
    (2, 0)
    """
    n = check_positive_int(n, "n")
    k = _check_k(k)
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(f"index must be an integer; got {index!r} of type {type(index).__name__}")
    index = int(index)
    if not 0 <= index < k**n:
        raise ValueError(f"index must be in [0, {k**n - 1}] for n={n}, k={k}; got {index}")
    digits = []
    for _ in range(n):
        index, d = divmod(index, k)
        digits.append(d)
    digits.reverse()
    if k == 2:
        return tuple(d == 0 for d in digits)
    return tuple(k - 1 - d for d in digits)


def state_vector(values, k=2, *, dtype=None, like=None):
    """δ-vector ``x_1 ⋉ … ⋉ x_n`` of the node values ``values`` (a dense column).

    Parameters
    ----------
    values : sequence of bool or int
        Node values, as for `state_index`.
    k : int, default 2
        Number of truth values, ``k >= 2``.
    dtype : dtype or str, optional
        Dtype of the result. Default ``float64``.
    like : array, optional
        numpy array or torch tensor whose library and device the result shares.

    Returns
    -------
    array, shape (k**n,)
        The unit vector at `state_index` ``(values, k)``.

    Raises
    ------
    TypeError, ValueError
        As `state_index`; ``TypeError`` also for a bad ``like`` or ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> import semitensor as st
    >>> from semitensor.logic import state_vector
    >>> x = state_vector((True, False))
    >>> x.tolist()
    [0.0, 1.0, 0.0, 0.0]
    >>> bool(np.array_equal(x, st.stp(st.logical_vector(True), st.logical_vector(False)).ravel()))
    True
    """
    index = state_index(values, k)
    xp, device, dtype = resolve_like(like, dtype)
    out = xp.zeros((k ** len(values),), dtype=dtype, device=device)
    out[index] = 1
    return out


def vector_index(x):
    """0-based index of the 1 in a unit vector ``x`` (a δ-vector); inverse of `state_vector`.

    Parameters
    ----------
    x : array_like
        1-d, or a ``k×1`` column; numpy, torch or nested list.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``x`` is not a vector with exactly one entry 1 and zeros elsewhere.

    Examples
    --------
    >>> from semitensor.logic import state_vector, vector_index
    >>> vector_index(state_vector((False, True)))
    2
    """
    arr = to_numpy(x) if hasattr(x, "detach") else np.asarray(x)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"x must be a vector (1-d or a k×1 column); got shape {arr.shape}")
    if np.count_nonzero(arr) != 1 or np.count_nonzero(arr == 1) != 1:
        raise ValueError(f"x must be a unit vector (one 1, zeros elsewhere); got {arr.tolist()}")
    return int(np.flatnonzero(arr == 1)[0])
