"""Tests for semitensor.matrices: swap, power-reducing and logic structure matrices."""

import itertools
import subprocess
import sys
from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semitensor.matrices import (
    logical_vector,
    power_reducing_matrix,
    structure_matrix,
    swap_matrix,
)
from tests.conftest import to_backend, to_np

try:
    import torch
except ImportError:  # torch is optional
    torch = None

sizes = st.integers(min_value=1, max_value=7)


def _like(backend):
    """A tiny array of ``backend`` to pass as ``like=``, or None for numpy's default."""
    return to_backend(np.zeros(1), backend)


def _check_library(out, backend):
    if backend == "torch":
        assert isinstance(out, torch.Tensor)
    else:
        assert isinstance(out, np.ndarray)


# ---------------------------------------------------------------- swap matrix


@settings(max_examples=30, deadline=None)
@given(m=sizes, n=sizes, seed=st.integers(0, 2**32 - 1))
@pytest.mark.parametrize("backend", ["numpy", "torch"] if torch is not None else ["numpy"])
def test_swap_defining_property(backend, m, n, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(m), rng.standard_normal(n)
    W = swap_matrix(m, n, like=_like(backend))
    _check_library(W, backend)
    W = to_np(W)
    assert W.shape == (m * n, m * n)
    np.testing.assert_allclose(W @ np.kron(x, y), np.kron(y, x), rtol=0, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(m=sizes, n=sizes)
def test_swap_is_permutation_transpose_inverse(m, n):
    W = swap_matrix(m, n)
    assert set(np.unique(W)) <= {0.0, 1.0}
    np.testing.assert_array_equal(W.sum(axis=0), 1)
    np.testing.assert_array_equal(W.sum(axis=1), 1)
    np.testing.assert_array_equal(W.T, swap_matrix(n, m))
    np.testing.assert_array_equal(W.T @ W, np.eye(m * n))
    np.testing.assert_allclose(np.linalg.inv(W), swap_matrix(n, m))


@settings(max_examples=30, deadline=None)
@given(m=sizes, n=sizes, seed=st.integers(0, 2**32 - 1))
def test_swap_is_commutation_matrix(m, n, seed):
    A = np.random.default_rng(seed).standard_normal((m, n))
    row_stacking = A.reshape(-1)
    column_stacking = A.T.reshape(-1)
    np.testing.assert_array_equal(swap_matrix(m, n) @ row_stacking, column_stacking)


def test_swap_small_explicit():
    # W[2,2] swaps the middle two entries of a 4-vector.
    expected = np.eye(4)[[0, 2, 1, 3]]
    np.testing.assert_array_equal(swap_matrix(2, 2), expected)
    np.testing.assert_array_equal(swap_matrix(1, 5), np.eye(5))
    np.testing.assert_array_equal(swap_matrix(5, 1), np.eye(5))


def test_swap_backend_matches_numpy(backend):
    W = swap_matrix(3, 4, like=_like(backend))
    _check_library(W, backend)
    assert str(W.dtype).endswith("float64")
    np.testing.assert_array_equal(to_np(W), swap_matrix(3, 4))


# ---------------------------------------------------- power-reducing matrix


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_power_reducing_on_unit_vectors(backend, k):
    M = power_reducing_matrix(k, like=_like(backend))
    _check_library(M, backend)
    M = to_np(M)
    assert M.shape == (k * k, k)
    for i in range(k):
        x = np.eye(k)[i]
        # For columns x ⋉ x = x ⊗ x.
        np.testing.assert_array_equal(M @ x, np.kron(x, x))


def test_power_reducing_columns():
    M = power_reducing_matrix(4)
    for i in range(4):
        assert np.flatnonzero(M[:, i]).tolist() == [i * 4 + i]
    assert M.sum() == 4


def test_power_reducing_fails_for_general_vector():
    x = np.array([1.0, 2.0, 3.0])
    M = power_reducing_matrix(3)
    assert not np.allclose(M @ x, np.kron(x, x))
    # It keeps only the diagonal products x_i (not x_i**2): a linear map cannot square.
    np.testing.assert_array_equal((M @ x)[[0, 4, 8]], x)


# ---------------------------------------------------------- structure matrices


def _lv(value, k):
    """Oracle for the vector form, independent of logical_vector (Cheng: true first)."""
    index = (0 if value else 1) if k == 2 else k - 1 - value
    return np.eye(k)[index]


def _values(k):
    return [True, False] if k == 2 else list(range(k))


OPERATORS = {
    "AND": (lambda p, q: p and q, 2, 2),
    "OR": (lambda p, q: p or q, 2, 2),
    "NOT": (lambda p: not p, 1, 2),
    "IMPLIES": (lambda p, q: (not p) or q, 2, 2),
    "XOR": (lambda p, q: p != q, 2, 2),
    "MAJORITY3": (lambda p, q, r: (p + q + r) >= 2, 3, 2),
    "MIN3": (lambda a, b: min(a, b), 2, 3),
    "ADD3": (lambda a, b: (a + b) % 3, 2, 3),
    "MAJ_NUMPY_BOOL": (lambda p, q, r: np.bool_(p + q + r >= 2), 3, 2),
    "MOD4_TERNARY": (lambda a, b, c: np.int64((a * b + c) % 4), 3, 4),
}


@pytest.mark.parametrize("name", list(OPERATORS))
def test_structure_matrix_truth_table(backend, name):
    fn, arity, k = OPERATORS[name]
    M = structure_matrix(fn, arity, k=k, like=_like(backend))
    _check_library(M, backend)
    M = to_np(M)
    assert M.shape == (k, k**arity)
    np.testing.assert_array_equal(M.sum(axis=0), 1)
    for args in itertools.product(_values(k), repeat=arity):
        # M ⋉ p_1 ⋉ ... ⋉ p_r = M (p_1 ⊗ ... ⊗ p_r) for columns (Kronecker oracle).
        kron = reduce(np.kron, [_lv(a, k) for a in args])
        np.testing.assert_array_equal(M @ kron, _lv(fn(*args), k), err_msg=str(args))


def test_structure_matrix_known_matrices():
    # Cheng's structure matrices: M_c (AND), M_d (OR), M_n (NOT), M_i (IMPLIES).
    np.testing.assert_array_equal(
        structure_matrix(lambda p, q: p and q, 2), [[1, 0, 0, 0], [0, 1, 1, 1]]
    )
    np.testing.assert_array_equal(
        structure_matrix(lambda p, q: p or q, 2), [[1, 1, 1, 0], [0, 0, 0, 1]]
    )
    np.testing.assert_array_equal(structure_matrix(lambda p: not p, 1), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(
        structure_matrix(lambda p, q: (not p) or q, 2), [[1, 0, 1, 1], [0, 1, 0, 0]]
    )


def test_structure_matrix_cheng_numbering_k3():
    # Cheng's 3-valued conjunction and disjunction (truth degree 1 = δ_3^1).
    conj = np.argmax(structure_matrix(min, 2, k=3), axis=0) + 1
    disj = np.argmax(structure_matrix(max, 2, k=3), axis=0) + 1
    np.testing.assert_array_equal(conj, [1, 2, 3, 2, 2, 3, 3, 3, 3])
    np.testing.assert_array_equal(disj, [1, 1, 1, 1, 2, 2, 1, 2, 3])
    # Negation 1 - degree: value v -> k-1-v, δ_k[k ... 1].
    neg = np.argmax(structure_matrix(lambda a: 3 - a, 1, k=4), axis=0) + 1
    np.testing.assert_array_equal(neg, [4, 3, 2, 1])
    assert logical_vector(2, k=3).tolist() == [1.0, 0.0, 0.0]
    assert logical_vector(0, k=3).tolist() == [0.0, 0.0, 1.0]


def test_structure_matrix_accepts_01_for_k2():
    as_int = structure_matrix(lambda p, q: int(p and q), 2)
    as_bool = structure_matrix(lambda p, q: p and q, 2)
    np.testing.assert_array_equal(as_int, as_bool)
    np.testing.assert_array_equal(structure_matrix(lambda p: np.int64(not p), 1), [[0, 1], [1, 0]])
    assert logical_vector(1).tolist() == [1.0, 0.0]
    assert logical_vector(0).tolist() == [0.0, 1.0]


def test_structure_matrix_first_argument_slowest():
    # Projection onto the first argument: columns 0..k^(r-1)-1 map to value 0.
    M = structure_matrix(lambda a, b: a, 2, k=3)
    np.testing.assert_array_equal(np.argmax(M, axis=0), [0, 0, 0, 1, 1, 1, 2, 2, 2])
    M = structure_matrix(lambda a, b: b, 2, k=3)
    np.testing.assert_array_equal(np.argmax(M, axis=0), [0, 1, 2, 0, 1, 2, 0, 1, 2])


def test_structure_matrix_calls_in_column_order():
    calls = []

    def fn(p, q):
        calls.append((p, q))
        return p

    structure_matrix(fn, 2)
    assert calls == [(True, True), (True, False), (False, True), (False, False)]
    assert all(type(a) is bool for call in calls for a in call)


def test_structure_matrix_k3_argument_types():
    seen = []

    def fn(a):
        seen.append(a)
        return a

    np.testing.assert_array_equal(structure_matrix(fn, 1, k=3), np.eye(3))
    # Column 0 is the true value k-1 (Cheng's numbering), so the calls count down.
    assert seen == [2, 1, 0] and all(type(a) is int for a in seen)


def test_logical_vector(backend):
    like = _like(backend)
    for k in (2, 3, 5):
        for v in _values(k):
            out = logical_vector(v, k, like=like)
            _check_library(out, backend)
            np.testing.assert_array_equal(to_np(out), _lv(v, k))
    assert logical_vector(np.bool_(True)).tolist() == [1.0, 0.0]
    assert logical_vector(np.int64(1), k=3).tolist() == [0.0, 1.0, 0.0]


def test_logical_vector_matches_structure_matrix():
    fn = lambda p, q: p != q  # noqa: E731
    M = structure_matrix(fn, 2)
    for p, q in itertools.product([True, False], repeat=2):
        x = np.kron(logical_vector(p), logical_vector(q))
        np.testing.assert_array_equal(M @ x, logical_vector(fn(p, q)))


# --------------------------------------------------------------- dtype / like


CONSTRUCTORS = {
    "swap": lambda **kw: swap_matrix(2, 3, **kw),
    "power": lambda **kw: power_reducing_matrix(3, **kw),
    "structure": lambda **kw: structure_matrix(lambda p, q: p and q, 2, **kw),
    "logical": lambda **kw: logical_vector(False, **kw),
}


@pytest.mark.parametrize("ctor", list(CONSTRUCTORS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_dtype_string(backend, ctor, dtype):
    reference = CONSTRUCTORS[ctor]()
    out = CONSTRUCTORS[ctor](dtype=dtype, like=_like(backend))
    _check_library(out, backend)
    if backend == "torch":
        assert out.dtype == getattr(torch, dtype)
    else:
        assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(to_np(out).astype(np.float64), reference)


@pytest.mark.parametrize("ctor", list(CONSTRUCTORS))
def test_dtype_namespace_object(ctor):
    out = CONSTRUCTORS[ctor](dtype=np.float32)
    assert out.dtype == np.float32
    out = CONSTRUCTORS[ctor](dtype=np.dtype("int32"))
    assert out.dtype == np.int32


@pytest.mark.parametrize(
    ("alias", "name"),
    [("f8", "float64"), ("int", "int64"), ("float", "float64"), ("e", "float16"), ("?", "bool")],
)
def test_dtype_numpy_aliases_map_to_canonical_names(backend, alias, name):
    # Aliases go through numpy's parser, then by canonical name into the namespace,
    # so they mean the same on torch as on numpy.
    out = swap_matrix(2, 3, dtype=alias, like=_like(backend))
    assert str(out.dtype).replace("torch.", "") == name


@pytest.mark.parametrize("bad", ["sum", "ndarray", "pi", "U3", "M8", "O", object, str])
def test_dtype_that_is_not_numeric_is_refused_naming_it(backend, bad):
    # Before: "sum" and "e" were looked up with getattr on the namespace.
    with pytest.raises(TypeError, match=r"dtype must name a boolean, integer, floating"):
        swap_matrix(2, 3, dtype=bad, like=_like(backend))


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_dtype_of_the_other_library_is_translated():
    assert swap_matrix(2, 3, dtype=torch.float32).dtype == np.float32
    assert swap_matrix(2, 3, dtype=np.float32, like=torch.zeros(1)).dtype == torch.float32


@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("ctor", list(CONSTRUCTORS))
def test_torch_dtype_and_device(ctor):
    like = torch.zeros(2, dtype=torch.float32)
    out = CONSTRUCTORS[ctor](dtype=torch.float32, like=like)
    assert isinstance(out, torch.Tensor)
    assert out.dtype == torch.float32
    assert out.device == like.device
    # Default dtype stays float64, whatever the dtype of ``like``.
    assert CONSTRUCTORS[ctor](like=like).dtype == torch.float64


@pytest.mark.parametrize("ctor", list(CONSTRUCTORS))
def test_default_is_numpy_float64(ctor):
    out = CONSTRUCTORS[ctor]()
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64


def test_numpy_default_without_torch():
    # The constructors must not import torch, and give numpy results without it.
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "from semitensor.matrices import swap_matrix, power_reducing_matrix, "
        "structure_matrix, logical_vector\n"
        "W = swap_matrix(2, 3)\n"
        "assert type(W) is np.ndarray and W.dtype == np.float64\n"
        "x, y = np.array([1., 2.]), np.array([3., 4., 5.])\n"
        "assert np.array_equal(W @ np.kron(x, y), np.kron(y, x))\n"
        "assert type(power_reducing_matrix(2)) is np.ndarray\n"
        "assert structure_matrix(lambda p, q: p and q, 2).tolist() == "
        "[[1., 0., 0., 0.], [0., 1., 1., 1.]]\n"
        "assert logical_vector(True).tolist() == [1., 0.]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_does_not_import_torch():
    code = (
        "import sys\n"
        "import semitensor.matrices\n"
        "semitensor.matrices.swap_matrix(2, 2)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: swap_matrix(0, 2), ValueError, r"m must be a positive integer; got 0"),
        (lambda: swap_matrix(2, -1), ValueError, r"n must be a positive integer; got -1"),
        (lambda: swap_matrix(2.0, 2), TypeError, r"m must be a positive integer; got 2\.0"),
        (lambda: swap_matrix(2, True), TypeError, r"n must be a positive integer; got True"),
        (lambda: swap_matrix(2, "3"), TypeError, r"n must be a positive integer; got '3'"),
        (lambda: power_reducing_matrix(0), ValueError, r"k must be a positive integer; got 0"),
        (
            lambda: power_reducing_matrix(None),
            TypeError,
            r"k must be a positive integer; got None",
        ),
        (lambda: swap_matrix(2, 2, like=[1, 2]), TypeError, r"like must be an array.*list"),
        (lambda: swap_matrix(2, 2, dtype="float77"), TypeError, r"dtype must name.*got 'float77'"),
        (
            lambda: structure_matrix("and", 2),
            TypeError,
            r"fn must be callable; got 'and' of type str",
        ),
        (
            lambda: structure_matrix(lambda: True, 0),
            ValueError,
            r"arity must be a positive integer; got 0",
        ),
        (
            lambda: structure_matrix(lambda p: p, 1.5),
            TypeError,
            r"arity must be a positive integer; got 1\.5",
        ),
        (
            lambda: structure_matrix(lambda p: p, 1, k=1),
            ValueError,
            r"k must be an integer >= 2; got 1",
        ),
        (
            lambda: structure_matrix(lambda p: p, 1, k=2.0),
            TypeError,
            r"k must be an integer >= 2; got 2\.0 of type float",
        ),
        (
            lambda: structure_matrix(lambda p: p, 1, k=True),
            TypeError,
            r"k must be an integer >= 2; got True of type bool",
        ),
        (
            lambda: structure_matrix(lambda p, q: 2 * int(p and q), 2),
            ValueError,
            r"fn must return a bool \(True or False\) or 0/1 for k=2; "
            r"fn\(True, True\) returned 2 of type int",
        ),
        (
            lambda: structure_matrix(lambda p, q: None if not q else p, 2),
            ValueError,
            r"fn\(True, False\) returned None of type NoneType",
        ),
        (
            lambda: structure_matrix(lambda a, b: a + b, 2, k=3),
            ValueError,
            r"fn must return an integer in \[0, 2\] \(not a bool\) for k=3; "
            r"fn\(2, 2\) returned 4 of type int",
        ),
        (
            lambda: structure_matrix(lambda a: a == 2, 1, k=3),
            ValueError,
            r"fn\(2\) returned True of type bool",
        ),
        (
            lambda: structure_matrix(lambda a: a / 1, 1, k=3),
            ValueError,
            r"fn\(2\) returned 2\.0 of type float",
        ),
        (
            lambda: logical_vector(2),
            ValueError,
            r"value must be a bool \(True or False\) or 0/1 for k=2; got 2 of type int",
        ),
        (
            lambda: logical_vector(3, k=3),
            ValueError,
            r"value must be an integer in \[0, 2\] \(not a bool\) for k=3; got 3 of type int",
        ),
        (
            lambda: logical_vector(True, k=3),
            ValueError,
            r"value must be an integer in \[0, 2\].*got True of type bool",
        ),
        (lambda: logical_vector(True, k=0), ValueError, r"k must be an integer >= 2; got 0"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_fn_exceptions_propagate():
    def fn(p, q):
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        structure_matrix(fn, 2)
    with pytest.raises(TypeError):
        structure_matrix(lambda p: p, 2)  # wrong arity: Python's own TypeError


def test_structure_matrix_refuses_tables_too_large_to_enumerate():
    calls = []
    with pytest.raises(ValueError, match=r"k\*\*arity = 17179869184 columns"):
        structure_matrix(lambda *a: calls.append(1) or a[0], 34)
    assert not calls  # refused before the first call
