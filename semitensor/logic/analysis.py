"""Synchronous dynamics of a network from its δ-form ``L``: fixed points, cycles, basins.

A square logical matrix ``L = δ_N[f_0 … f_{N−1}]`` is the map ``x ↦ f[x]`` on ``N``
states. One walk over this functional graph (`semitensor.logic._walk`) finds every
cycle, the cycle each state runs into and how many steps it takes: ``O(N)`` time and
three integers of memory per state besides ``L``. Cheng's trace formula counts the
cycles of each length from ``tr(L^s)`` independently (`cycle_counts`).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._matrix import LogicalMatrix

__all__ = ["Dynamics", "dynamics", "fixed_points", "attractors", "cycle_counts"]


def _square(L, name="L"):
    if not isinstance(L, LogicalMatrix):
        raise TypeError(f"{name} must be a LogicalMatrix; got {type(L).__name__}")
    if not L.is_square:
        raise ValueError(
            f"{name} must be square (the transition matrix of a network without controls); "
            f"got shape {L.shape}"
        )
    return L


@dataclass(frozen=True, eq=False)
class Dynamics:
    """Attractors, basins and transient times of ``x(t+1) = L ⋉ x(t)``.

    Attributes
    ----------
    attractors : tuple of tuple of int
        Each cycle as its states in the order visited, starting at its smallest state;
        sorted. Fixed points are 1-tuples.
    basin : numpy.ndarray of int32, shape (N,)
        ``basin[x]``: position in ``attractors`` of the cycle that state ``x`` reaches.
    transient : numpy.ndarray of int32, shape (N,)
        ``transient[x]``: steps from ``x`` to its first state on a cycle (0 on a cycle).
    """

    attractors: tuple
    basin: np.ndarray
    transient: np.ndarray

    @property
    def cycle_lengths(self):
        """Length of each attractor (numpy int64 array, in `attractors` order)."""
        return np.array([len(c) for c in self.attractors], dtype=np.int64)

    @property
    def basin_sizes(self):
        """Number of states in each basin, including the cycle (numpy int64 array)."""
        return np.bincount(self.basin, minlength=len(self.attractors)).astype(np.int64)


def fixed_points(L):
    """Sorted states ``x`` with ``L ⋉ x = x`` (the ``j`` with ``L.indices[j] == j``).

    Parameters
    ----------
    L : LogicalMatrix
        Square transition matrix.

    Returns
    -------
    list of int

    Raises
    ------
    TypeError, ValueError
        If ``L`` is not a square `LogicalMatrix`.

    Examples
    --------
    >>> from semitensor.logic import LogicalMatrix, fixed_points
    >>> fixed_points(LogicalMatrix([0, 0, 3, 3], 4))
    [0, 3]
    """
    L = _square(L)
    return np.flatnonzero(L.indices == np.arange(L.shape[0])).tolist()


def dynamics(L):
    """Attractors, basins and transient times of ``x(t+1) = L ⋉ x(t)``.

    Parameters
    ----------
    L : LogicalMatrix
        Square transition matrix ``δ_N[f_0 … f_{N−1}]``.

    Returns
    -------
    Dynamics

    Raises
    ------
    TypeError, ValueError
        If ``L`` is not a square `LogicalMatrix`.

    Notes
    -----
    ``O(N)`` time; memory three int32 arrays of length ``N`` (int64 beyond ``2^31``
    states) plus the result. Listing the attractors costs their total length.

    Examples
    --------
    >>> from semitensor.logic import LogicalMatrix, dynamics
    >>> d = dynamics(LogicalMatrix([1, 2, 1, 3, 3], 5))   # 0→1⇄2, 3 fixed, 4→3
    >>> d.attractors
    ((1, 2), (3,))
    >>> d.basin.tolist(), d.transient.tolist()
    ([0, 0, 0, 1, 1], [1, 0, 0, 0, 1])
    """
    from ._walk import walk

    L = _square(L)
    f = L.indices
    size = f.size
    label = np.full(size, -1, dtype=f.dtype)
    depth = np.empty(size, dtype=f.dtype)
    path = np.empty(size, dtype=f.dtype)
    walk(f, label, depth, path)
    del path
    on_cycle = np.flatnonzero(depth == 0)
    ids, first = np.unique(label[on_cycle], return_index=True)
    smallest = on_cycle[first]  # on_cycle is sorted, so the first state of each id
    order = np.argsort(smallest, kind="stable")
    rank = np.empty(ids.size, dtype=np.int32)
    rank[order] = np.arange(ids.size, dtype=np.int32)
    basin = rank[label]
    cycles = []
    for start in smallest[order].tolist():
        cycle, x = [start], int(f[start])
        while x != start:
            cycle.append(x)
            x = int(f[x])
        cycles.append(tuple(cycle))
    transient = depth.astype(np.int32, copy=False)
    basin.flags.writeable = transient.flags.writeable = False
    return Dynamics(tuple(cycles), basin, transient)


def attractors(L):
    """Every cycle of ``L`` as a tuple of states from its smallest, the list sorted.

    Parameters
    ----------
    L : LogicalMatrix
        Square transition matrix.

    Returns
    -------
    list of tuple of int

    Raises
    ------
    TypeError, ValueError
        If ``L`` is not a square `LogicalMatrix`.

    Examples
    --------
    >>> from semitensor.logic import LogicalMatrix, attractors
    >>> attractors(LogicalMatrix([2, 0, 1, 3], 4))
    [(0, 2, 1), (3,)]
    """
    return list(dynamics(L).attractors)


def cycle_counts(L, max_length):
    """Number of cycles of each length ``1 … max_length`` by Cheng's trace formula.

    ``N_1 = tr(L)`` and ``N_s = (tr(L^s) − Σ_{d | s, d < s} d·N_d) / s``: a state on a
    cycle of length ``d`` is fixed by ``L^s`` exactly when ``d | s``.

    Parameters
    ----------
    L : LogicalMatrix
        Square transition matrix.
    max_length : int
        Largest cycle length counted, ``>= 1``.

    Returns
    -------
    numpy.ndarray of int64, shape (max_length,)
        Entry ``s − 1`` is the number of cycles of length ``s``.

    Raises
    ------
    TypeError, ValueError
        If ``L`` is not a square `LogicalMatrix` or ``max_length`` not a positive integer.

    Notes
    -----
    ``max_length`` powers by repeated squaring, ``O(N log s)`` each: a cross-check of
    `dynamics`, not a faster route.

    References
    ----------
    D. Cheng, H. Qi, Z. Li, *Analysis and Control of Boolean Networks*, Springer,
    2011, Ch. 5 (number of cycles of length s).

    Examples
    --------
    >>> from semitensor.logic import LogicalMatrix, cycle_counts
    >>> cycle_counts(LogicalMatrix([1, 0, 2, 4, 5, 3], 6), 4).tolist()
    [1, 1, 1, 0]
    """
    L = _square(L)
    if isinstance(max_length, bool) or not isinstance(max_length, numbers.Integral):
        raise TypeError(f"max_length must be a positive integer; got {max_length!r}")
    if max_length < 1:
        raise ValueError(f"max_length must be a positive integer; got {max_length}")
    counts = np.zeros(int(max_length), dtype=np.int64)
    for s in range(1, int(max_length) + 1):
        fixed = L.power(s).trace()
        fixed -= sum(d * counts[d - 1] for d in range(1, s) if s % d == 0)
        counts[s - 1] = fixed // s
    return counts
