"""Operator matrices, k-valued connectives and state helpers against independent oracles."""

import itertools
from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semitensor
from semitensor import logic
from semitensor.logic import state_index, state_values, state_vector, vector_index


def _unit(i, size):
    return np.eye(size)[i]


def _vec(value, k):
    """Cheng's vector form of truth value ``value`` (k-1 true, first unit vector)."""
    return _unit(k - 1 - int(value), k)


def _apply(M, *vectors):
    """M ⋉ v_1 ⋉ … for columns: M (v_1 ⊗ …), the Kronecker oracle."""
    return M.to_dense() @ reduce(np.kron, vectors)


@pytest.mark.parametrize("m, n", [(1, 1), (2, 3), (3, 2), (4, 4), (1, 5)])
def test_swap_and_power_reducing_match_dense(m, n):
    np.testing.assert_array_equal(logic.swap_matrix(m, n).to_dense(), semitensor.swap_matrix(m, n))
    np.testing.assert_array_equal(
        logic.power_reducing_matrix(n).to_dense(), semitensor.power_reducing_matrix(n)
    )
    for i, j in itertools.product(range(m), range(n)):
        x, y = _unit(i, m), _unit(j, n)
        np.testing.assert_array_equal(_apply(logic.swap_matrix(m, n), x, y), np.kron(y, x))


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_retriever(k, n):
    for pos in range(n):
        S = logic.retriever(pos, n, k)
        assert S.shape == (k, k**n)
        for digits in itertools.product(range(k), repeat=n):
            xs = [_unit(d, k) for d in digits]
            np.testing.assert_array_equal(_apply(S, *xs), xs[pos])


@pytest.mark.parametrize("p, q", [(2, 2), (2, 3), (3, 2), (1, 4)])
def test_front_and_rear_maintaining(p, q):
    for i, j in itertools.product(range(p), range(q)):
        x, y = _unit(i, p), _unit(j, q)
        np.testing.assert_array_equal(_apply(logic.front_maintaining(p, q), x, y), x)
        np.testing.assert_array_equal(_apply(logic.rear_maintaining(p, q), x, y), y)
    assert logic.rear_maintaining(2, 2).delta() == "δ_2[1 2 1 2]"  # Cheng's E_d


def _impl(a, b, k):
    return max(k - 1 - a, b)


CONNECTIVES = {
    "conjunction": lambda a, b, k: min(a, b),
    "disjunction": lambda a, b, k: max(a, b),
    "implication": _impl,
    "equivalence": lambda a, b, k: min(_impl(a, b, k), _impl(b, a, k)),
    "exclusive_or": lambda a, b, k: k - 1 - min(_impl(a, b, k), _impl(b, a, k)),
}


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("name", list(CONNECTIVES))
def test_connectives_on_truth_degrees(k, name):
    # Degrees v/(k-1): conjunction min, disjunction max, p → q = max(1-p, q).
    M = getattr(logic, name)(k)
    assert M.shape == (k, k * k)
    for a, b in itertools.product(range(k), repeat=2):
        expected = _vec(CONNECTIVES[name](a, b, k), k)
        np.testing.assert_array_equal(_apply(M, _vec(a, k), _vec(b, k)), expected)
    dense = semitensor.structure_matrix(lambda a, b: CONNECTIVES[name](a, b, k), 2, k=k)
    if k == 2:
        dense = semitensor.structure_matrix(
            lambda p, q: bool(CONNECTIVES[name](int(p), int(q), 2)), 2
        )
    np.testing.assert_array_equal(M.to_dense(), dense)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_negation(k):
    for a in range(k):
        np.testing.assert_array_equal(_apply(logic.negation(k), _vec(a, k)), _vec(k - 1 - a, k))


def test_cheng_matrices():
    assert logic.conjunction(3).delta() == "δ_3[1 2 3 2 2 3 3 3 3]"
    assert logic.conjunction().delta() == "δ_2[1 2 2 2]"
    assert logic.disjunction().delta() == "δ_2[1 1 1 2]"
    assert logic.implication().delta() == "δ_2[1 2 1 1]"
    assert logic.equivalence().delta() == "δ_2[1 2 2 1]"
    assert logic.exclusive_or().delta() == "δ_2[2 1 1 2]"
    assert logic.negation().delta() == "δ_2[2 1]"
    # structure_matrix(min, 2, k=3) is Cheng's conjunction (issue 15).
    assert logic.LogicalMatrix.from_dense(semitensor.structure_matrix(min, 2, k=3)) == (
        logic.conjunction(3)
    )


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: logic.retriever(2, 2),
            ValueError,
            r"position must be in \[0, 1\] for n=2 .*got 2",
        ),
        (lambda: logic.retriever(-1, 2), ValueError, r"got -1"),
        (lambda: logic.retriever(0.0, 2), TypeError, r"position must be an integer; got 0\.0"),
        (lambda: logic.retriever(0, 2, k=1), ValueError, r"k must be an integer >= 2; got 1"),
        (lambda: logic.conjunction(1), ValueError, r"k must be an integer >= 2; got 1"),
        (lambda: logic.negation("2"), TypeError, r"k must be a positive integer; got '2'"),
        (lambda: logic.swap_matrix(0, 2), ValueError, r"m must be a positive integer; got 0"),
        (lambda: logic.front_maintaining(2, 0), ValueError, r"q must be a positive integer"),
    ],
)
def test_operator_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ------------------------------------------------------------------- states


@settings(max_examples=100, deadline=None)
@given(k=st.integers(2, 4), data=st.data())
def test_state_roundtrip_and_vector(k, data):
    n = data.draw(st.integers(1, 6))
    values = data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    if k == 2:
        values = [bool(v) for v in values]
    index = state_index(values, k)
    # Cheng's order: Σ_j (k-1-x_j) k^(n-j), x_1 slowest.
    assert index == sum((k - 1 - int(v)) * k ** (n - 1 - j) for j, v in enumerate(values))
    assert state_values(index, n, k) == tuple(values)
    x = state_vector(values, k)
    np.testing.assert_array_equal(x, reduce(np.kron, [_vec(v, k) for v in values]))
    assert vector_index(x) == index
    assert vector_index(x[:, None]) == index


def test_state_index_boolean_examples():
    assert state_index((True, True, True)) == 0
    assert state_index((False, False, False)) == 7
    assert state_index((1, 0)) == 1
    assert state_index([np.bool_(False), True]) == 2
    assert state_values(6, 3) == (False, False, True)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: state_index((True, 2)),
            ValueError,
            r"values\[1\] must be a bool or 0/1 for k=2; got 2",
        ),
        (lambda: state_index((3,), k=3), ValueError, r"values\[0\] must be an integer in \[0, 2\]"),
        (lambda: state_index((True,), k=3), ValueError, r"values\[0\] .*got True"),
        (lambda: state_index(()), ValueError, r"at least one node value"),
        (lambda: state_index("TF"), TypeError, r"sequence of truth values; got str"),
        (lambda: state_values(8, 3), ValueError, r"index must be in \[0, 7\] for n=3, k=2; got 8"),
        (lambda: state_values(1.0, 3), TypeError, r"index must be an integer; got 1\.0"),
        (lambda: state_values(0, 0), ValueError, r"n must be a positive integer; got 0"),
        (lambda: vector_index([1, 1, 0]), ValueError, r"unit vector .*got \[1, 1, 0\]"),
        (lambda: vector_index(np.eye(2)), ValueError, r"got shape \(2, 2\)"),
    ],
)
def test_state_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
