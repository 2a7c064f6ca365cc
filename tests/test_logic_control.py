"""Boolean control networks: reachability, controllability, stabilisation vs brute force."""

import itertools
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semitensor
from semitensor.logic import (
    BooleanNetwork,
    LogicalMatrix,
    attractors,
    closed_loop,
    controllability_matrix,
    dynamics,
    reachable_states,
    stabilizing_feedback,
)


@st.composite
def bcn(draw, max_states_log2=4, max_controls_log2=2):
    """A random BCN transition matrix L (N × M·N) as a list of successors."""
    n = draw(st.integers(1, max_states_log2))
    m = draw(st.integers(0, max_controls_log2))
    N, M = 2**n, 2**m
    succ = draw(st.lists(st.integers(0, N - 1), min_size=M * N, max_size=M * N))
    return LogicalMatrix(succ, N), succ, N, M


def _one_step(succ, N, M, x):
    return {succ[u * N + x] for u in range(M)}


def _distances_to(succ, N, M, target):
    """Fewest steps from each state to target (None if unreachable), by forward BFS."""
    out = []
    for x in range(N):
        dist, queue, best = {x: 0}, deque([x]), None
        while queue:
            y = queue.popleft()
            for z in _one_step(succ, N, M, y):
                if z == target and best is None:
                    best = dist[y] + 1
                if z not in dist:
                    dist[z] = dist[y] + 1
                    queue.append(z)
        out.append(0 if x == target else best)
    return out


@settings(max_examples=60, deadline=None)
@given(sys_=bcn(max_states_log2=3, max_controls_log2=1), steps=st.integers(0, 4), data=st.data())
def test_reachable_states_by_control_sequences(sys_, steps, data):
    L, succ, N, M = sys_
    x0 = data.draw(st.integers(0, N - 1))
    reached = set()
    for controls in itertools.product(range(M), repeat=steps):
        x = x0
        for u in controls:
            x = succ[u * N + x]
        reached.add(x)
    assert reachable_states(L, x0, steps) == sorted(reached)


@settings(max_examples=60, deadline=None)
@given(sys_=bcn())
def test_controllability_matrix_brute_force(sys_):
    L, succ, N, M = sys_
    C = controllability_matrix(L)
    assert C.dtype == np.bool_ and C.shape == (N, N)
    for j in range(N):
        seen, queue = set(), deque([j])
        while queue:
            y = queue.popleft()
            for z in _one_step(succ, N, M, y):
                if z not in seen:
                    seen.add(z)
                    queue.append(z)
        assert set(np.flatnonzero(C[:, j]).tolist()) == seen


@settings(max_examples=100, deadline=None)
@given(sys_=bcn(), data=st.data())
def test_stabilizing_feedback(sys_, data):
    L, succ, N, M = sys_
    target = data.draw(st.integers(0, N - 1))
    K = stabilizing_feedback(L, target)
    dist = _distances_to(succ, N, M, target)
    holds = any(succ[u * N + target] == target for u in range(M))
    possible = holds and all(d is not None for d in dist)
    assert (K is not None) == possible
    if K is None:
        return
    assert K.shape == (M, N)
    loop = closed_loop(L, K)
    # L ⋉ u ⋉ x with u = K ⋉ x is L ⋉ K ⋉ M_r,N ⋉ x (dense oracle).
    dense = semitensor.stp(L.to_dense(), K.to_dense(), semitensor.power_reducing_matrix(N))
    np.testing.assert_array_equal(loop.to_dense(), dense)
    assert attractors(loop) == [(target,)]
    assert dynamics(loop).transient.tolist() == dist  # time-optimal


def test_stabilisation_example_unstabilisable_target():
    # x' = u ∧ ¬x: no control keeps x = 1, so state 0 cannot be stabilised.
    L = BooleanNetwork.from_bnet("x, u & !x", controls=["u"]).transition_matrix()
    assert stabilizing_feedback(L, 0) is None
    assert stabilizing_feedback(L, 1) is not None


def test_control_errors():
    L = LogicalMatrix([0, 1, 1], 2)
    with pytest.raises(ValueError, match=r"N × \(M·N\).*got shape \(2, 3\)"):
        reachable_states(L, 0, 1)
    L = LogicalMatrix([0, 1, 1, 0], 2)
    with pytest.raises(ValueError, match=r"initial must be in \[0, 1\]; got 2"):
        reachable_states(L, 2, 1)
    with pytest.raises(TypeError, match=r"target must be a state index \(int\); got '0'"):
        stabilizing_feedback(L, "0")
    with pytest.raises(ValueError, match=r"steps must be a non-negative integer; got -1"):
        reachable_states(L, 0, -1)
    with pytest.raises(TypeError, match=r"steps must be a non-negative integer; got 1\.0"):
        reachable_states(L, 0, 1.0)
    with pytest.raises(ValueError, match=r"K must be 2 × 2 .*got shape \(2, 1\)"):
        closed_loop(L, LogicalMatrix([0], 2))
    with pytest.raises(TypeError, match=r"L must be a LogicalMatrix; got list"):
        controllability_matrix([[1]])
    big = LogicalMatrix(np.zeros(2**12, dtype=int), 2**12)
    with pytest.raises(ValueError, match=r"controllability matrix .*more than max_bytes=1000"):
        controllability_matrix(big, max_bytes=1000)
