"""Boolean control networks ``x(t+1) = L ⋉ u(t) ⋉ x(t)``: reachability and stabilisation.

``L`` is ``N × (M·N)`` for ``M`` control values and ``N`` states; its block ``u`` (columns
``u·N … u·N + N − 1``) is the transition under the constant control ``u``. Following
Cheng, the one-step reachability matrix is the Boolean sum of the blocks,
``M_L = Σ_u L_u``; ``x_i`` is reachable from ``x_j`` when entry ``(i, j)`` of
``C = Σ_{s=1}^{N} M_L^(s)`` (Boolean powers) is true; and the network can be globally
stabilised to ``x_e`` by a state feedback ``u(t) = K ⋉ x(t)`` exactly when some
control keeps ``x_e`` fixed and ``x_e`` is reachable from every state (then the
backward breadth-first layers give a time-optimal ``K``).
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _build
from ._matrix import LogicalMatrix

__all__ = ["reachable_states", "controllability_matrix", "stabilizing_feedback", "closed_loop"]


def _blocks(L):
    """Return ``(N, M)`` for a BCN transition matrix ``L`` (``N × M·N``)."""
    if not isinstance(L, LogicalMatrix):
        raise TypeError(f"L must be a LogicalMatrix; got {type(L).__name__}")
    n_states, n_cols = L.shape
    if n_cols % n_states:
        raise ValueError(
            f"L must be N × (M·N), the transition matrix of a control network; got shape {L.shape}"
        )
    return n_states, n_cols // n_states


def _check_state(x, n_states, name):
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be a state index (int); got {x!r} of type {type(x).__name__}")
    if not 0 <= int(x) < n_states:
        raise ValueError(f"{name} must be in [0, {n_states - 1}]; got {x}")
    return int(x)


def reachable_states(L, initial, steps):
    """States reachable from ``initial`` in exactly ``steps`` steps with some controls.

    Parameters
    ----------
    L : LogicalMatrix
        ``N × (M·N)`` transition matrix (``M = 1``: a network without controls).
    initial : int
        Index of the initial state.
    steps : int
        Number of steps, ``>= 0``.

    Returns
    -------
    list of int
        Sorted state indices.

    Raises
    ------
    TypeError, ValueError
        If ``L`` is not an ``N × M·N`` `LogicalMatrix`, or ``initial``/``steps`` is out
        of range.

    Notes
    -----
    ``O(steps · M·N)``: each step maps the current set through every block.

    Examples
    --------
    >>> from semitensor.logic import BooleanNetwork, reachable_states
    >>> L = BooleanNetwork.from_bnet("x, u & !x", controls=["u"]).transition_matrix()
    >>> reachable_states(L, 1, 1)     # from x = 0: u=1 gives x = 1, u=0 keeps 0
    [0, 1]
    """
    n_states, n_controls = _blocks(L)
    initial = _check_state(initial, n_states, "initial")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise TypeError(f"steps must be a non-negative integer; got {steps!r}")
    if steps < 0:
        raise ValueError(f"steps must be a non-negative integer; got {steps}")
    blocks = L.indices.reshape(n_controls, n_states)
    current = np.zeros(n_states, dtype=bool)
    current[initial] = True
    for _ in range(int(steps)):
        nxt = np.zeros(n_states, dtype=bool)
        nxt[blocks[:, current].ravel()] = True
        current = nxt
    return np.flatnonzero(current).tolist()


def controllability_matrix(L, max_bytes=None):
    """Cheng's controllability matrix ``C = Σ_{s=1}^{N} M_L^(s)`` as a Boolean array.

    Parameters
    ----------
    L : LogicalMatrix
        ``N × (M·N)`` transition matrix.
    max_bytes : int, optional
        Refuse when the dense ``N × N`` work arrays would need more; default half the
        physical memory.

    Returns
    -------
    numpy.ndarray of bool, shape (N, N)
        ``C[i, j]`` is true when state ``i`` can be reached from state ``j`` in one or
        more steps.

    Raises
    ------
    TypeError, ValueError
        If ``L`` is not an ``N × M·N`` `LogicalMatrix`, or too large (with the size).

    Notes
    -----
    ``R = (I + M_L)`` is squared ``⌈log2 N⌉`` times by Boolean products
    (`semitensor.stp` on Boolean arrays), giving ``Σ_{s=0}^{N−1} M_L^(s)``, and
    ``C = M_L ⋉ R``: ``O(N³ log N)`` time, ``O(N²)`` memory. Walks longer than
    ``N − 1`` steps revisit a state, so they reach nothing new.

    Examples
    --------
    >>> from semitensor.logic import BooleanNetwork, controllability_matrix
    >>> L = BooleanNetwork.from_bnet("x, u & !x", controls=["u"]).transition_matrix()
    >>> controllability_matrix(L).tolist()
    [[True, True], [True, True]]
    """
    from ..product import stp

    n_states, _ = _blocks(L)
    log2 = max(int(n_states - 1).bit_length(), 1)
    _build.check_size(2 * log2, 8, "the controllability matrix (as float32 work arrays)", max_bytes)
    cols = np.arange(L.shape[1]) % n_states
    step = np.zeros((n_states, n_states), dtype=bool)
    step[L.indices, cols] = True
    reach = step | np.eye(n_states, dtype=bool)
    for _ in range(log2):
        reach = stp(reach, reach)
    return stp(step, reach)


def closed_loop(L, K):
    """Transition matrix of ``x(t+1) = L ⋉ (K ⋉ x(t)) ⋉ x(t)`` under feedback ``u = K ⋉ x``.

    Parameters
    ----------
    L : LogicalMatrix
        ``N × (M·N)`` transition matrix.
    K : LogicalMatrix
        ``M × N`` feedback law: state ``x`` gets control ``K.indices[x]``.

    Returns
    -------
    LogicalMatrix, shape (N, N)
        ``L ⋉ K ⋉ M_r,N``: column ``x`` holds ``L.indices[K.indices[x]·N + x]``.

    Raises
    ------
    TypeError, ValueError
        If the shapes do not fit.

    Examples
    --------
    >>> from semitensor.logic import BooleanNetwork, LogicalMatrix, closed_loop
    >>> L = BooleanNetwork.from_bnet("x, u & !x", controls=["u"]).transition_matrix()
    >>> closed_loop(L, LogicalMatrix([1, 1], 2)).delta()   # u = 0 always: x ↦ 0
    'δ_2[2 2]'
    """
    n_states, n_controls = _blocks(L)
    if not isinstance(K, LogicalMatrix):
        raise TypeError(f"K must be a LogicalMatrix; got {type(K).__name__}")
    if K.shape != (n_controls, n_states):
        raise ValueError(
            f"K must be {n_controls} × {n_states} (controls × states) for L of shape "
            f"{L.shape}; got shape {K.shape}"
        )
    x = np.arange(n_states, dtype=np.int64)
    return LogicalMatrix._trusted(L.indices[K.indices.astype(np.int64) * n_states + x], n_states)


def stabilizing_feedback(L, target):
    """A state feedback ``u = K ⋉ x`` that steers every state to ``target``, or None.

    Parameters
    ----------
    L : LogicalMatrix
        ``N × (M·N)`` transition matrix.
    target : int
        Index of the state ``x_e`` to stabilise.

    Returns
    -------
    LogicalMatrix or None
        ``K`` (``M × N``) such that `closed_loop` ``(L, K)`` has ``x_e`` as its only
        attractor, a fixed point, reached by each state in the fewest steps any control
        sequence allows; ``None`` when no state feedback stabilises ``x_e``.

    Raises
    ------
    TypeError, ValueError
        If ``L`` is not an ``N × M·N`` `LogicalMatrix` or ``target`` is out of range.

    Notes
    -----
    Cheng et al.: stabilisable iff ``L ⋉ u ⋉ x_e = x_e`` for some ``u`` and ``x_e`` is
    reachable from every state. Layer ``Λ_k`` holds the states that first reach
    ``x_e`` in ``k`` steps; each gets a control into ``Λ_{k−1}``. ``O(M·N log(M·N))``
    (a sort of the columns by target, then one breadth-first pass).

    References
    ----------
    D. Cheng, H. Qi, Z. Li, J. B. Liu, "Stabilization of Boolean control networks via
    state feedback", *Int. J. Robust Nonlinear Control* 21 (2011); Cheng, Qi, Li,
    *Analysis and Control of Boolean Networks*, Springer, 2011, Ch. 10.

    Examples
    --------
    >>> from semitensor.logic import BooleanNetwork, stabilizing_feedback, closed_loop
    >>> L = BooleanNetwork.from_bnet("x, u & !x", controls=["u"]).transition_matrix()
    >>> stabilizing_feedback(L, 0) is None    # no control keeps x = 1 fixed
    True
    >>> K = stabilizing_feedback(L, 1)        # x = 0: u = 1 flips x = 1, u = 0 holds 0
    >>> K.delta(), closed_loop(L, K).delta()
    ('δ_2[1 2]', 'δ_2[2 2]')
    """
    n_states, n_controls = _blocks(L)
    target = _check_state(target, n_states, "target")
    targets = L.indices.astype(np.int64)
    keep = np.flatnonzero(targets.reshape(n_controls, n_states)[:, target] == target)
    if keep.size == 0:
        return None
    law = np.full(n_states, -1, dtype=np.int64)
    law[target] = keep[0]
    order = np.argsort(targets, kind="stable")
    starts = np.searchsorted(targets[order], np.arange(n_states + 1))
    frontier = np.array([target], dtype=np.int64)
    while frontier.size:
        lengths = starts[frontier + 1] - starts[frontier]
        offsets = np.repeat(starts[frontier] - np.cumsum(lengths) + lengths, lengths)
        columns = order[offsets + np.arange(lengths.sum())]
        states = columns % n_states
        new = law[states] == -1
        states, first = np.unique(states[new], return_index=True)
        law[states] = columns[new][first] // n_states
        frontier = states
    if (law == -1).any():
        return None
    return LogicalMatrix._trusted(law, n_controls)
