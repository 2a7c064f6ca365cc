"""Tests for semitensor.tenalg: unfold, fold, mode_dot and stp_mode_dot (SPEC §3)."""

import numpy as np
import pytest
import tensorly.base as tlb
import tensorly.tenalg as tlt
from hypothesis import given, settings
from hypothesis import strategies as st

from semitensor.tenalg import fold, mode_dot, stp_mode_dot, unfold
from tests.conftest import to_backend, to_np
from tests.oracles import kron_factor

try:
    import torch
except ImportError:  # torch is optional
    torch = None

BACKENDS = ["numpy"] + (["torch"] if torch is not None else [])
DTYPES = ["float32", "float64", "complex128", "int64"]


def _random(rng, shape, dtype):
    """Random array of ``dtype``; small integers for int64 so every sum is exact."""
    if dtype == "int64":
        return rng.integers(-3, 4, size=shape).astype(np.int64)
    x = rng.standard_normal(shape)
    if dtype == "complex128":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _tol(dtype):
    return {"float32": 1e-4, "float64": 1e-10, "complex128": 1e-10, "int64": 0}[dtype]


def _check_same_kind(out, like, dtype):
    """``out`` is of the library of ``like`` and has dtype ``dtype`` (a string)."""
    if torch is not None and isinstance(like, torch.Tensor):
        assert isinstance(out, torch.Tensor)
        assert out.dtype == getattr(torch, dtype)
        assert out.device == like.device
    else:
        assert isinstance(out, np.ndarray)
        assert out.dtype == np.dtype(dtype)


def _assert_close(actual, expected, dtype):
    actual = to_np(actual)
    if dtype == "int64":
        np.testing.assert_array_equal(actual, expected)
    else:
        tol = _tol(dtype)
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


@st.composite
def tensor_shapes(draw, min_order=1, max_order=4, max_size=8):
    order = draw(st.integers(min_order, max_order))
    return tuple(draw(st.integers(1, max_size)) for _ in range(order))


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


# ------------------------------------------------------------------ unfold / fold


@settings(max_examples=40, deadline=None)
@given(shape=tensor_shapes(), data=st.data())
@pytest.mark.parametrize("backend", BACKENDS)
def test_unfold_fold_match_tensorly(backend, shape, data):
    mode = data.draw(st.integers(-len(shape), len(shape) - 1), label="mode")
    X = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    Xb = to_backend(X, backend)
    M = unfold(Xb, mode)
    _check_same_kind(M, Xb, "float64")
    expected = tlb.unfold(X, mode % len(shape))
    np.testing.assert_array_equal(to_np(M), expected)
    back = fold(M, mode, shape)
    _check_same_kind(back, Xb, "float64")
    np.testing.assert_array_equal(to_np(back), X)
    np.testing.assert_array_equal(
        to_np(fold(to_backend(expected, backend), mode, shape)),
        tlb.fold(expected, mode % len(shape), shape),
    )


def test_unfold_row_layout():
    # unfold(X, n)[i_n, :] lists X[..., i_n, ...] with the last remaining index fastest.
    X = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(unfold(X, 1)[2], X[:, 2, :].reshape(-1))
    np.testing.assert_array_equal(unfold(X, 0), X.reshape(2, 12))


@pytest.mark.parametrize("dtype", DTYPES)
def test_unfold_fold_dtypes(backend, dtype):
    X = to_backend(_random(np.random.default_rng(0), (2, 3, 4), dtype), backend)
    for mode in range(3):
        M = unfold(X, mode)
        _check_same_kind(M, X, dtype)
        back = fold(M, mode, (2, 3, 4))
        _check_same_kind(back, X, dtype)
        np.testing.assert_array_equal(to_np(back), to_np(X))


def test_fold_accepts_any_shape_sequence():
    M = np.arange(24.0).reshape(4, 6)
    np.testing.assert_array_equal(fold(M, 2, [2, 3, 4]), fold(M, 2, (np.int64(2), 3, 4)))


def test_unfold_fold_empty_modes(backend):
    X = to_backend(np.zeros((2, 0, 3)), backend)
    assert tuple(unfold(X, 0).shape) == (2, 0)
    assert tuple(unfold(X, 1).shape) == (0, 6)
    assert tuple(unfold(X, 2).shape) == (3, 0)
    for mode in range(3):
        assert tuple(fold(unfold(X, mode), mode, (2, 0, 3)).shape) == (2, 0, 3)


# ----------------------------------------------------------------------- mode_dot


@settings(max_examples=40, deadline=None)
@given(shape=tensor_shapes(), data=st.data())
@pytest.mark.parametrize("backend", BACKENDS)
def test_mode_dot_matches_tensorly(backend, shape, data):
    mode = data.draw(st.integers(0, len(shape) - 1), label="mode")
    J = data.draw(st.integers(1, 5), label="J")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    kind = data.draw(st.sampled_from(["matrix", "transpose", "vector"]), label="kind")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    X = _random(rng, shape, dtype)
    if kind == "matrix":
        U = _random(rng, (J, shape[mode]), dtype)
    elif kind == "transpose":
        U = _random(rng, (shape[mode], J), dtype)
    else:
        U = _random(rng, (shape[mode],), dtype)
    transpose = kind == "transpose"
    expected = tlt.mode_dot(X, U, mode, transpose=transpose)
    Xb, Ub = to_backend(X, backend), to_backend(U, backend)
    out = mode_dot(Xb, Ub, mode, transpose=transpose)
    _check_same_kind(out, Xb, dtype)
    assert tuple(out.shape) == expected.shape
    _assert_close(out, expected, dtype)


def test_mode_dot_transpose_is_conjugate():
    rng = np.random.default_rng(1)
    X = _random(rng, (3, 4, 2), "complex128")
    U = _random(rng, (4, 5), "complex128")
    out = mode_dot(X, U, 1, transpose=True)
    np.testing.assert_allclose(out, mode_dot(X, U.conj().T, 1))
    assert not np.allclose(out, mode_dot(X, U.T, 1))


def test_mode_dot_vector_on_order_one():
    out = mode_dot(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0]), 0)
    assert out.shape == ()
    assert float(out) == 6.0


def test_mode_dot_promotes_mixed_dtypes(backend):
    X = to_backend(np.ones((2, 3), dtype=np.float32), backend)
    U = to_backend(np.ones((4, 3), dtype=np.float64), backend)
    out = mode_dot(X, U, 1)
    _check_same_kind(out, X, "float64")
    np.testing.assert_array_equal(to_np(out), np.full((2, 4), 3.0))


def test_mode_dot_accepts_nested_lists():
    X = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(mode_dot(X, [[1, 0, 0]], 1), X[:, :1])


# ------------------------------------------------------------------- stp_mode_dot


@settings(max_examples=120, deadline=None)
@given(shape=tensor_shapes(), data=st.data())
@pytest.mark.parametrize("backend", BACKENDS)
def test_stp_mode_dot_matches_kronecker_oracle(backend, shape, data):
    mode = data.draw(st.integers(-len(shape), len(shape) - 1), label="mode")
    size = shape[mode]
    K = data.draw(st.sampled_from(_divisors(size)), label="K")
    J = data.draw(st.integers(1, 4), label="J")
    side = data.draw(st.sampled_from(["left", "right"]), label="side")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    X = _random(rng, shape, dtype)
    U = _random(rng, (J, K), dtype)
    s = size // K
    expected = tlt.mode_dot(X, kron_factor(U, s, side), mode % len(shape))

    Xb, Ub = to_backend(X, backend), to_backend(U, backend)
    X_before, U_before = to_np(Xb).copy(), to_np(Ub).copy()
    out = stp_mode_dot(Xb, Ub, mode, side=side)
    _check_same_kind(out, Xb, dtype)
    expected_shape = list(shape)
    expected_shape[mode] = J * s
    assert tuple(out.shape) == tuple(expected_shape)
    _assert_close(out, expected, dtype)
    # Inputs are never modified.
    np.testing.assert_array_equal(to_np(Xb), X_before)
    np.testing.assert_array_equal(to_np(Ub), U_before)


# Shapes chosen to reach each GEMM layout of the kernel: a single batch (mode 0), a
# single trailing column (last mode), wide trailing blocks (>= 32 columns) and the
# transposed-copy path (several batches, few columns).
LAYOUTS = {
    "one_batch": ((6, 3, 2), 0, 3),
    "one_column": ((3, 2, 6), 2, 2),
    "wide": ((2, 4, 40), 1, 2),
    "narrow": ((3, 4, 5), 1, 2),
    "order_one": ((12,), 0, 4),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_stp_mode_dot_kernel_layouts(backend, layout, side, dtype):
    shape, mode, K = LAYOUTS[layout]
    rng = np.random.default_rng(7)
    X = _random(rng, shape, dtype)
    U = _random(rng, (3, K), dtype)
    s = shape[mode] // K
    expected = tlt.mode_dot(X, kron_factor(U, s, side), mode)
    out = stp_mode_dot(to_backend(X, backend), to_backend(U, backend), mode, side=side)
    _check_same_kind(out, to_backend(X, backend), dtype)
    _assert_close(out, expected, dtype)


def test_stp_mode_dot_s1_is_mode_dot(backend):
    rng = np.random.default_rng(3)
    X = to_backend(rng.standard_normal((3, 4, 5)), backend)
    U = to_backend(rng.standard_normal((2, 4)), backend)
    for side in ("left", "right"):
        np.testing.assert_allclose(
            to_np(stp_mode_dot(X, U, 1, side=side)), to_np(mode_dot(X, U, 1)), rtol=1e-12
        )


def test_stp_mode_dot_digits():
    # Left: U acts on the slow digit of i_n = k*s + sigma; right: on the fast digit.
    X = np.arange(6.0)  # I = 6, K = 2, s = 3
    U = np.array([[1.0, 0.0]])  # keep digit k = 0
    np.testing.assert_array_equal(stp_mode_dot(X, U, 0, side="left"), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(stp_mode_dot(X, U, 0, side="right"), [0.0, 2.0, 4.0])


def test_stp_mode_dot_empty_tensor(backend):
    X = to_backend(np.zeros((0, 6, 2)), backend)
    U = to_backend(np.ones((4, 3)), backend)
    for side in ("left", "right"):
        assert tuple(stp_mode_dot(X, U, 1, side=side).shape) == (0, 8, 2)


@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("side", ["left", "right"])
def test_stp_mode_dot_gradcheck(layout, side):
    shape, mode, K = LAYOUTS[layout]
    if layout == "wide":
        shape = (2, 4, 33)  # keep the wide path, fewer gradcheck evaluations
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(shape, dtype=torch.float64, generator=gen, requires_grad=True)
    U = torch.randn((2, K), dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, u: stp_mode_dot(x, u, mode, side=side), (X, U), eps=1e-6, atol=1e-6
    )


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_stp_mode_dot_non_contiguous_torch():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(4, 6, 5, dtype=torch.float64, generator=gen).permute(2, 0, 1)
    U = torch.randn(3, 2, dtype=torch.float64, generator=gen).T.contiguous().T[:, :]
    assert not X.is_contiguous()
    for side in ("left", "right"):
        expected = tlt.mode_dot(X.numpy(), kron_factor(U.numpy(), 3, side), 2)
        np.testing.assert_allclose(stp_mode_dot(X, U, 2, side=side).numpy(), expected)


# -------------------------------------------------------------------------- errors


def _x(backend):
    return to_backend(np.zeros((2, 3, 4)), backend)


def test_error_k_does_not_divide(backend):
    U = to_backend(np.ones((5, 3)), backend)
    with pytest.raises(
        ValueError,
        match=r"matrix has 3 columns, which does not divide the size of mode 2 \(4\); "
        r"tensor shape \(2, 3, 4\)\. Valid column counts are the divisors of 4",
    ):
        stp_mode_dot(_x(backend), U, 2)
    with pytest.raises(ValueError, match=r"matrix has 0 columns.*size of mode 1 \(3\)"):
        stp_mode_dot(_x(backend), to_backend(np.ones((5, 0)), backend), 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda X, U: unfold(X, 3),
        lambda X, U: fold(unfold(X, 0), 3, (2, 3, 4)),
        lambda X, U: mode_dot(X, U, 3),
        lambda X, U: stp_mode_dot(X, U, 3),
        lambda X, U: stp_mode_dot(X, U, -4),
    ],
)
def test_error_mode_out_of_range(backend, call):
    U = to_backend(np.ones((2, 4)), backend)
    with pytest.raises(ValueError, match=r"mode must be in \[-3, 2\] for a tensor of order 3"):
        call(_x(backend), U)


def test_error_mode_not_integer(backend):
    with pytest.raises(TypeError, match=r"mode must be an integer; got 1\.0 of type float"):
        unfold(_x(backend), 1.0)
    with pytest.raises(TypeError, match=r"mode must be an integer; got True of type bool"):
        stp_mode_dot(_x(backend), to_backend(np.ones((2, 2)), backend), True)


def test_error_stp_mode_dot_vector(backend):
    with pytest.raises(ValueError, match=r"matrix must be 2-d; got shape \(4,\)"):
        stp_mode_dot(_x(backend), to_backend(np.ones(4), backend), 2)
    with pytest.raises(ValueError, match=r"matrix must be 2-d; got shape \(1, 2, 2\)"):
        stp_mode_dot(_x(backend), to_backend(np.ones((1, 2, 2)), backend), 2)


def test_error_mode_dot_sizes(backend):
    with pytest.raises(
        ValueError,
        match=r"matrix columns \(4\) must equal the size of mode 1 of the tensor \(3\); "
        r"tensor shape \(2, 3, 4\)",
    ):
        mode_dot(_x(backend), to_backend(np.ones((2, 4)), backend), 1)
    with pytest.raises(ValueError, match=r"vector length \(2\) must equal the size of mode 2"):
        mode_dot(_x(backend), to_backend(np.ones(2), backend), 2)
    with pytest.raises(
        ValueError, match=r"matrix rows \(transpose=True\) \(2\) must equal the size of mode 2"
    ):
        mode_dot(_x(backend), to_backend(np.ones((2, 4)), backend), 2, transpose=True)
    with pytest.raises(ValueError, match=r"matrix_or_vector must be 2-d; got shape \(1, 1, 4\)"):
        mode_dot(_x(backend), to_backend(np.ones((1, 1, 4)), backend), 2)


@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize(
    "call, names",
    [
        (lambda X, U: mode_dot(X, U, 1), "tensor is a numpy array, matrix_or_vector is a torch"),
        (lambda X, U: stp_mode_dot(X, U, 1), "tensor is a numpy array, matrix is a torch"),
        (
            lambda X, U: stp_mode_dot(torch.from_numpy(X), U.numpy(), 1),
            "tensor is a torch array, matrix is a numpy",
        ),
    ],
)
def test_error_mixed_libraries(call, names):
    X = np.zeros((2, 3, 4))
    U = torch.ones(2, 3, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"cannot mix array libraries in one call: " + names):
        call(X, U)


@pytest.mark.parametrize(
    "call",
    [
        lambda X, U: unfold(X, 0),
        lambda X, U: mode_dot(X, U, 0),
        lambda X, U: stp_mode_dot(X, U, 0),
    ],
)
def test_error_zero_dim_tensor(backend, call):
    X = to_backend(np.array(1.0), backend)
    U = to_backend(np.ones((1, 1)), backend)
    with pytest.raises(ValueError, match=r"tensor must have at least 1 dimension\(s\); got a 0-d"):
        call(X, U)


def test_error_fold(backend):
    M = to_backend(np.zeros((4, 6)), backend)
    with pytest.raises(ValueError, match=r"matrix must be 2-d; got shape \(24,\)"):
        fold(to_backend(np.zeros(24), backend), 0, (2, 3, 4))
    with pytest.raises(
        ValueError,
        match=r"matrix of shape \(4, 6\) is not a mode-2 unfolding of a tensor of shape "
        r"\(2, 3, 5\); expected \(5, 6\)",
    ):
        fold(M, 2, (2, 3, 5))


def test_error_side(backend):
    U = to_backend(np.ones((2, 2)), backend)
    with pytest.raises(ValueError, match=r"side must be 'left' or 'right'; got 'middle'"):
        stp_mode_dot(_x(backend), U, 2, side="middle")


@pytest.mark.parametrize(
    "shape, err, match",
    [
        ((2.5, 3, 4), TypeError, r"shape\[0\] must be a non-negative integer; got 2.5"),
        (("2", 3, 4), TypeError, r"shape\[0\] must be a non-negative integer; got '2'"),
        ((True, 3, 4), TypeError, r"shape\[0\] must be a non-negative integer; got True"),
        ((-2, 3, 4), ValueError, r"shape\[0\] must be a non-negative integer; got -2"),
        ("234", TypeError, r"shape must be a non-empty list or tuple of ints"),
    ],
)
def test_fold_refuses_non_integer_sizes(shape, err, match):
    with pytest.raises(err, match=match):
        fold(np.zeros((4, 6)), 2, shape)


def test_mode_dot_transpose_must_be_a_bool():
    with pytest.raises(TypeError, match=r"transpose must be True or False; got 'no'"):
        mode_dot(np.ones((2, 3)), np.ones((3, 3)), 1, transpose="no")


def test_cheapest_mode_order_puts_an_emptying_product_first():
    # Before: a zero size in or out raised ZeroDivisionError.
    from semitensor.tenalg import cheapest_mode_order

    assert cheapest_mode_order([2, 0, 4], [16, 3, 4], [8, 3, 2])[0] == 1
    assert cheapest_mode_order([2, 8, 4], [16, 0, 4], [8, 0, 2])[0] == 1
    assert sorted(cheapest_mode_order([0, 0], [0, 0], [0, 0])) == [0, 1]
