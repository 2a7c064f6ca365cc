"""LogicalMatrix against dense oracles: STP (both sides), Kronecker, Khatri-Rao, powers."""

import subprocess
import sys
from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semitensor
from semitensor.logic import LogicalMatrix
from tests.conftest import to_backend, to_np
from tests.oracles import kron_stp

try:
    import torch
except ImportError:  # torch is optional
    torch = None


@st.composite
def logical(draw, m=None, n=None, max_size=9):
    m = draw(st.integers(1, max_size)) if m is None else m
    n = draw(st.integers(1, max_size)) if n is None else n
    idx = draw(st.lists(st.integers(0, m - 1), min_size=n, max_size=n))
    return LogicalMatrix(idx, m)


def _dense(A):
    """Oracle dense form, independent of to_dense."""
    out = np.zeros(A.shape)
    out[np.asarray(A.indices), np.arange(A.shape[1])] = 1
    return out


@settings(max_examples=150, deadline=None)
@given(A=logical(), B=logical(), side=st.sampled_from(["left", "right"]))
def test_stp_matches_definition(A, B, side):
    out = semitensor.stp(A, B, side=side)
    assert isinstance(out, LogicalMatrix)
    np.testing.assert_array_equal(_dense(out), kron_stp(_dense(A), _dense(B), side))
    np.testing.assert_array_equal(
        _dense(out), to_np(semitensor.stp(_dense(A), _dense(B), side=side))
    )


@pytest.mark.parametrize(
    "n, p",
    [(4, 2), (2, 4), (3, 3), (4, 6), (6, 4), (3, 5), (1, 7), (7, 1)],
    ids=["p|n", "n|p", "equal", "gcd2-a", "gcd2-b", "coprime", "n=1", "p=1"],
)
@pytest.mark.parametrize("side", ["left", "right"])
def test_stp_divisibility_cases(n, p, side):
    rng = np.random.default_rng(n * 10 + p)
    A = LogicalMatrix(rng.integers(0, 3, n), 3)
    B = LogicalMatrix(rng.integers(0, p, 5), p)
    out = A.stp(B, side=side)
    np.testing.assert_array_equal(_dense(out), kron_stp(_dense(A), _dense(B), side))


@settings(max_examples=60, deadline=None)
@given(A=logical(max_size=5), B=logical(max_size=5), C=logical(max_size=5))
def test_stp_chain_and_associativity(A, B, C):
    chain = semitensor.stp(A, B, C)
    assert chain == A.stp(B).stp(C) == A.stp(B.stp(C))
    np.testing.assert_array_equal(
        _dense(chain), kron_stp(kron_stp(_dense(A), _dense(B), "left"), _dense(C), "left")
    )
    right = semitensor.rstp(A, B, C)
    assert isinstance(right, LogicalMatrix)
    assert right == A.stp(B, side="right").stp(C, side="right")


@settings(max_examples=60, deadline=None)
@given(A=logical(), B=logical())
def test_kron(A, B):
    np.testing.assert_array_equal(_dense(A.kron(B)), np.kron(_dense(A), _dense(B)))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 8))
def test_khatri_rao(data, n):
    A = data.draw(logical(n=n))
    B = data.draw(logical(n=n))
    expected = np.stack([np.kron(_dense(A)[:, j], _dense(B)[:, j]) for j in range(n)], axis=1)
    np.testing.assert_array_equal(_dense(A.khatri_rao(B)), expected)


def test_khatri_rao_needs_same_columns():
    with pytest.raises(
        ValueError, match=r"same number of columns; got shapes \(2, 3\) and \(2, 2\)"
    ):
        LogicalMatrix([0, 1, 0], 2).khatri_rao(LogicalMatrix([0, 1], 2))


@settings(max_examples=60, deadline=None)
@given(A=logical(max_size=6), k=st.integers(1, 6), side=st.sampled_from(["left", "right"]))
def test_power_by_squaring(A, k, side):
    expected = reduce(lambda X, Y: kron_stp(X, Y, side), [_dense(A)] * k)
    np.testing.assert_array_equal(_dense(A.power(k, side=side)), expected)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 30), k=st.integers(0, 40))
def test_square_power_and_trace(data, n, k):
    A = data.draw(logical(m=n, n=n))
    dense = np.linalg.matrix_power(_dense(A), k)
    np.testing.assert_array_equal(_dense(A.power(k)), dense)
    assert A.power(k).trace() == int(np.trace(dense))


def test_matmul_and_equality():
    A = LogicalMatrix([1, 0, 1], 2)
    B = LogicalMatrix([2, 2], 3)
    np.testing.assert_array_equal(_dense(A @ B), _dense(A) @ _dense(B))
    assert A == LogicalMatrix(np.array([1, 0, 1]), 2)
    assert A != LogicalMatrix([1, 0, 1], 3)
    assert A != LogicalMatrix([1, 0, 0], 2)
    assert hash(A) == hash(LogicalMatrix([1, 0, 1], 2))
    with pytest.raises(ValueError, match=r"matching inner sizes; got shapes \(3, 2\) and \(3, 2\)"):
        B @ B


def test_dense_roundtrip(backend):
    A = LogicalMatrix([2, 0, 0, 1], 3)
    like = to_backend(np.zeros(1), backend)
    D = A.to_dense(like=like, dtype="int64")
    if backend == "torch":
        assert isinstance(D, torch.Tensor) and D.dtype == torch.int64
    np.testing.assert_array_equal(to_np(D), _dense(A))
    assert LogicalMatrix.from_dense(D) == A
    assert LogicalMatrix.from_dense(to_np(D).astype(bool)) == A
    assert A.to_dense().dtype == np.float64


def test_stp_mixed_with_dense(backend):
    M = LogicalMatrix([0, 1, 1, 1], 2)  # conjunction
    x = to_backend(np.array([1.0, 0.0]), backend)
    y = to_backend(np.array([0.0, 1.0]), backend)
    out = semitensor.stp(M, x, y)
    assert not isinstance(out, LogicalMatrix)
    np.testing.assert_array_equal(to_np(out).ravel(), [0.0, 1.0])
    if backend == "torch":
        assert isinstance(out, torch.Tensor)
    # Logical runs are multiplied in δ-form first: M ⋉ N ⋉ x with dense x.
    N = LogicalMatrix([1, 0], 2)
    np.testing.assert_array_equal(
        to_np(semitensor.stp(M, N, x, y)),
        to_np(semitensor.stp(_dense(M), _dense(N), to_np(x), to_np(y))),
    )
    boolean = semitensor.stp(M, np.array([True, False]), np.array([True, False]))
    assert boolean.dtype == np.bool_ and boolean.ravel().tolist() == [True, False]


def test_inputs_not_modified_and_immutable():
    idx = np.array([0, 1, 1])
    A = LogicalMatrix(idx, 2)
    idx[0] = 1
    assert A.indices.tolist() == [0, 1, 1]
    with pytest.raises(ValueError):
        A.indices[0] = 1
    assert A.indices.dtype == np.int32


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_torch_indices_accepted():
    assert LogicalMatrix(torch.tensor([1, 0]), 2) == LogicalMatrix([1, 0], 2)


def test_repr_and_delta():
    A = LogicalMatrix([1, 0], 2)
    assert repr(A) == "LogicalMatrix([1, 0], m=2)"
    assert A.delta() == "δ_2[2 1]"
    assert "(20 columns)" in repr(LogicalMatrix(np.zeros(20, dtype=int), 1))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: LogicalMatrix([0, 2], 2),
            ValueError,
            r"indices must lie in \[0, 1\] .*m=2 rows; got 2",
        ),
        (lambda: LogicalMatrix([-1], 2), ValueError, r"got -1"),
        (lambda: LogicalMatrix([], 2), ValueError, r"at least one column"),
        (lambda: LogicalMatrix([[0]], 2), ValueError, r"indices must be 1-d .*got shape \(1, 1\)"),
        (lambda: LogicalMatrix([0.0, 1.0], 2), TypeError, r"integers .*dtype float64"),
        (lambda: LogicalMatrix([True], 2), TypeError, r"dtype bool"),
        (lambda: LogicalMatrix([0], 0), ValueError, r"m must be a positive integer; got 0"),
        (lambda: LogicalMatrix([0], 2.0), TypeError, r"m must be a positive integer; got 2\.0"),
        (lambda: LogicalMatrix.from_dense([[1, 0], [1, 0]]), ValueError, r"column 0 is \[1, 1\]"),
        (lambda: LogicalMatrix.from_dense([[2], [0]]), ValueError, r"column 0 is \[2, 0\]"),
        (lambda: LogicalMatrix.from_dense([1, 0]), ValueError, r"2-d .*got shape \(2,\)"),
        (lambda: LogicalMatrix([0, 1], 2).power(-1), ValueError, r"non-negative integer; got -1"),
        (lambda: LogicalMatrix([0, 1], 2).power(1.5), TypeError, r"non-negative integer; got 1\.5"),
        (
            lambda: LogicalMatrix([0, 1, 0], 2).power(0),
            ValueError,
            r"needs a square matrix; got shape \(2, 3\)",
        ),
        (lambda: LogicalMatrix([0, 1, 0], 2).trace(), ValueError, r"trace needs a square matrix"),
        (
            lambda: LogicalMatrix([0], 2).stp(np.eye(2)),
            TypeError,
            r"other must be a LogicalMatrix; got ndarray",
        ),
        (
            lambda: LogicalMatrix([0], 2).stp(LogicalMatrix([0], 2), side="up"),
            ValueError,
            r"side must be",
        ),
        (lambda: semitensor.stp(LogicalMatrix([0], 2)), TypeError, r"at least two operands; got 1"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_import_stays_light():
    code = (
        "import sys\n"
        "import semitensor\n"
        "assert 'semitensor.logic' not in sys.modules\n"
        "import semitensor.logic as lg\n"
        "net = lg.BooleanNetwork.from_bnet('a, !b\\nb, a')\n"
        "net.transition_matrix(); net.fixed_points()\n"
        "for mod in ('torch', 'numba'):\n"
        "    assert mod not in sys.modules, mod + ' was imported'\n"
        "net.attractors()\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
