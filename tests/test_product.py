"""The STP algebra of SPEC §1: kernels against the Kronecker oracle, and identities."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semitensor
from semitensor import rstp, stp, stp_cost, stp_shape
from tests.conftest import BACKENDS, to_backend, to_np
from tests.oracles import kron_stp

try:
    import torch
except ImportError:
    torch = None

SIDES = ["left", "right"]
SETTINGS = settings(max_examples=60, deadline=None)
dims = st.integers(1, 9)
seeds = st.integers(0, 2**32 - 1)


def stp_on(backend, *arrays, side="left"):
    """The STP computed on ``backend``, returned as numpy."""
    return to_np(stp(*(to_backend(a, backend) for a in arrays), side=side))


def rand(rng, shape, dtype="float64"):
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype == "int64":
        return rng.integers(-4, 5, shape)
    if dtype == "complex128":
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    return rng.standard_normal(shape).astype(dtype)


def tol(dtype):
    return {"float32": 1e-4, "complex128": 1e-10, "float64": 1e-10}.get(dtype, 0)


def assert_close(got, want, dtype="float64"):
    got = to_np(got)
    assert got.shape == want.shape
    if dtype in ("bool", "int64"):
        np.testing.assert_array_equal(got, want)
    else:
        scale = max(1.0, float(np.abs(want).max(initial=0)))
        np.testing.assert_allclose(got, want, rtol=tol(dtype), atol=tol(dtype) * scale)


# --- worked examples -------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_cheng_worked_example(backend):
    X = to_backend([[1, 2, 1, 1], [2, 3, 1, 2], [3, 2, 1, 0]], backend)
    Y = to_backend([[1, -2], [2, -1]], backend)
    want = np.array([[3, 4, -3, -5], [4, 7, -5, -8], [5, 2, -7, -4]])
    np.testing.assert_array_equal(to_np(stp(X, Y)), want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cheng_vector_example(backend):
    x = to_backend([[1, 2, 3, -1]], backend)
    y = to_backend([2, 1], backend)
    np.testing.assert_array_equal(to_np(stp(x, y)), [[5, 3]])


# --- against the Kronecker definition ------------------------------------------


@SETTINGS
@given(
    m=dims,
    n=dims,
    p=dims,
    q=dims,
    seed=seeds,
    side=st.sampled_from(SIDES),
    dtype=st.sampled_from(["float64", "float32", "int64", "complex128", "bool"]),
    backend=st.sampled_from(BACKENDS),
)
def test_matches_kronecker_definition(m, n, p, q, seed, side, dtype, backend):
    rng = np.random.default_rng(seed)
    A, B = rand(rng, (m, n), dtype), rand(rng, (p, q), dtype)
    got = stp(to_backend(A, backend), to_backend(B, backend), side=side)
    if dtype == "bool":
        want = kron_stp(A.astype(float), B.astype(float), side) > 0
    else:
        want = kron_stp(A, B, side)
    assert_close(got, want, dtype)
    assert to_np(got).dtype == want.dtype


INNER_SIZES = [(6, 6), (12, 3), (3, 12), (6, 4), (4, 6), (5, 7), (96, 64), (2, 130), (9, 10)]


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("n,p", INNER_SIZES + [(10, 9), (33, 4), (36, 40)])
def test_every_divisibility_case(n, p, side, backend):
    rng = np.random.default_rng(n * 100 + p)
    A, B = rng.standard_normal((3, n)), rng.standard_normal((p, 2))
    assert_close(
        stp(to_backend(A, backend), to_backend(B, backend), side=side), kron_stp(A, B, side)
    )
    # stacked, which changes the kernel route in the general case
    As, Bs = rng.standard_normal((4, 3, n)), rng.standard_normal((4, p, 2))
    got = to_np(stp(to_backend(As, backend), to_backend(Bs, backend), side=side))
    for k in range(4):
        assert_close(got[k], kron_stp(As[k], Bs[k], side))


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("b", [2, 64])  # both kernel routes for p | n
def test_divisible_routes(b, side):
    rng = np.random.default_rng(b)
    A, B = rng.standard_normal((5, 3 * b)), rng.standard_normal((3, 4))
    assert_close(stp(A, B, side=side), kron_stp(A, B, side))
    A, B = rng.standard_normal((50, 3)), rng.standard_normal((3 * b, 60))
    assert_close(stp(A, B, side=side), kron_stp(A, B, side))


@SETTINGS
@given(
    m=dims,
    n=dims,
    p=dims,
    q=dims,
    seed=seeds,
    side=st.sampled_from(SIDES),
    backend=st.sampled_from(BACKENDS),
    batch=st.sampled_from([((3,), (3,)), ((2, 1), (4,)), ((), (3,)), ((2,), ()), ((1, 3), (2, 1))]),
)
def test_batched_stacks_broadcast_like_matmul(m, n, p, q, seed, side, backend, batch):
    rng = np.random.default_rng(seed)
    ba, bb = batch
    A, B = rng.standard_normal(ba + (m, n)), rng.standard_normal(bb + (p, q))
    got = to_np(stp(to_backend(A, backend), to_backend(B, backend), side=side))
    full = np.broadcast_shapes(ba, bb)
    assert got.shape == full + stp_shape((m, n), (p, q))
    Ab, Bb = np.broadcast_to(A, full + (m, n)), np.broadcast_to(B, full + (p, q))
    for idx in np.ndindex(*full):
        assert_close(got[idx], kron_stp(Ab[idx], Bb[idx], side))


# --- identities of SPEC §1 -----------------------------------------------------


@SETTINGS
@given(
    s=st.lists(dims, min_size=6, max_size=6),
    seed=seeds,
    side=st.sampled_from(SIDES),
    backend=st.sampled_from(BACKENDS),
)
def test_associativity_and_chain(s, seed, side, backend):
    rng = np.random.default_rng(seed)
    A, B, C = (to_backend(rng.standard_normal((s[2 * i], s[2 * i + 1])), backend) for i in range(3))
    left = stp(stp(A, B, side=side), C, side=side)
    right = stp(A, stp(B, C, side=side), side=side)
    chain = stp(A, B, C, side=side)
    assert_close(right, to_np(left))
    assert_close(chain, to_np(left))


@SETTINGS
@given(
    m=dims,
    n=dims,
    p=dims,
    q=dims,
    seed=seeds,
    side=st.sampled_from(SIDES),
    backend=st.sampled_from(BACKENDS),
)
def test_bilinearity(m, n, p, q, seed, side, backend):
    rng = np.random.default_rng(seed)
    A1, A2 = rng.standard_normal((2, m, n))
    B1, B2 = rng.standard_normal((2, p, q))
    x, y = rng.standard_normal(2)
    S = lambda *arrays: stp_on(backend, *arrays, side=side)  # noqa: E731
    assert_close(S(x * A1 + y * A2, B1), x * S(A1, B1) + y * S(A2, B1))
    assert_close(S(A1, x * B1 + y * B2), x * S(A1, B1) + y * S(A1, B2))


@SETTINGS
@given(
    m=dims,
    n=dims,
    p=dims,
    q=dims,
    seed=seeds,
    side=st.sampled_from(SIDES),
    backend=st.sampled_from(BACKENDS),
)
def test_transpose(m, n, p, q, seed, side, backend):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((m, n)), rng.standard_normal((p, q))
    got = stp(to_backend(B.T, backend), to_backend(A.T, backend), side=side)
    assert_close(got, to_np(stp(A, B, side=side)).T)


@SETTINGS
@given(
    n=st.integers(1, 6),
    p=st.integers(1, 6),
    seed=seeds,
    side=st.sampled_from(SIDES),
    backend=st.sampled_from(BACKENDS),
)
def test_inverse_and_determinant(n, p, seed, side, backend):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) + n * np.eye(n)
    B = rng.standard_normal((p, p)) + p * np.eye(p)
    P = stp_on(backend, A, B, side=side)
    assert_close(np.linalg.inv(P), stp_on(backend, np.linalg.inv(B), np.linalg.inv(A), side=side))
    t = math.lcm(n, p)
    want = np.linalg.det(A) ** (t // n) * np.linalg.det(B) ** (t // p)
    assert np.linalg.det(P) == pytest.approx(want, rel=1e-8)


@SETTINGS
@given(k1=dims, k2=dims, seed=seeds, backend=st.sampled_from(BACKENDS))
def test_columns_left_is_kron_right_is_swapped_kron(k1, k2, seed, backend):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(k1), rng.standard_normal(k2)
    xb, yb = to_backend(x, backend), to_backend(y, backend)
    assert_close(stp(xb, yb), np.kron(x, y)[:, None])
    assert_close(rstp(xb, yb), np.kron(y, x)[:, None])


@SETTINGS
@given(m=dims, n=dims, p=dims, q=dims, seed=seeds, backend=st.sampled_from(BACKENDS))
def test_kronecker_through_left_stp(m, n, p, q, seed, backend):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((m, n)), rng.standard_normal((p, q))
    assert_close(stp_on(backend, A, np.kron(np.eye(n), B)), np.kron(A, B))


@SETTINGS
@given(k=dims, m=dims, n=dims, seed=seeds, backend=st.sampled_from(BACKENDS))
def test_pseudo_commutativity(k, m, n, seed, backend):
    rng = np.random.default_rng(seed)
    z, A = rng.standard_normal(k), rng.standard_normal((m, n))
    left = stp_on(backend, np.kron(np.eye(k), A), z)
    right = stp_on(backend, np.kron(A, np.eye(k)), z, side="right")
    assert_close(stp_on(backend, z, A), left)
    assert_close(stp_on(backend, z, A, side="right"), right)


@SETTINGS
@given(
    m=dims,
    n=dims,
    k=dims,
    seed=seeds,
    side=st.sampled_from(SIDES),
    backend=st.sampled_from(BACKENDS),
)
def test_identity_is_neutral_exactly_when_k_divides_n(m, n, k, seed, side, backend):
    A = np.random.default_rng(seed).standard_normal((m, n))
    P = stp_on(backend, A, np.eye(k), side=side)
    same = P.shape == A.shape and np.allclose(P, A, rtol=0, atol=1e-12)
    assert same == (n % k == 0)


@SETTINGS
@given(n=dims, p=dims, seed=seeds, side=st.sampled_from(SIDES), backend=st.sampled_from(BACKENDS))
def test_trace_is_cyclic(n, p, seed, side, backend):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((n, n)), rng.standard_normal((p, p))
    tr_ab = np.trace(stp_on(backend, A, B, side=side))
    assert tr_ab == pytest.approx(np.trace(stp_on(backend, B, A, side=side)), abs=1e-9)


# --- dtypes, backends, autograd ------------------------------------------------


def test_type_promotion_follows_numpy():
    A = np.arange(6, dtype=np.int32).reshape(2, 3)
    B = np.ones((6, 2), dtype=np.float32)
    assert stp(A, B).dtype == np.result_type(A, B)
    assert stp(A, A.T.copy()).dtype == np.int32


def test_boolean_stp_is_and_or():
    A = np.array([[True, False], [False, False]])
    B = np.array([[True], [True], [False], [True]])
    got = stp(A, B)
    want = kron_stp(A.astype(int), B.astype(int)) > 0
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, want)


def test_lists_are_read_with_numpy():
    assert isinstance(stp([[1.0, 2.0]], [1.0, 1.0]), np.ndarray)


def test_chain_picks_cheap_order_and_is_exact():
    rng = np.random.default_rng(1)
    mats = [rng.standard_normal(s) for s in [(40, 2), (3, 40), (40, 1), (5, 7)]]
    ref = mats[0]
    for M in mats[1:]:
        ref = kron_stp(ref, M)
    assert_close(stp(*mats), ref)
    # 40×2 ⋉ 3×40 is 120×120; multiplying 3×40 by 40×1 first keeps every product small.
    split, _ = semitensor.product._chain_order([m.shape for m in mats], [1] * 4, "left")
    assert split[0][3] == 0 and split[1][3] == 2


@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(
    "shapes", [[(2, 6), (3, 2)], [(2, 4), (6, 3)], [(3, 2), (4, 2)], [(2, 3), (2, 2), (4, 3)]]
)
def test_torch_autograd_gradcheck(shapes, side):
    rng = np.random.default_rng(0)
    ts = [torch.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert torch.autograd.gradcheck(lambda *xs: stp(*xs, side=side), ts)


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_torch_keeps_type_and_dtype():
    A = torch.ones((2, 3, 4), dtype=torch.float32)
    B = torch.ones((6, 5), dtype=torch.float32)
    out = stp(A, B, side="right")
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    assert out.shape == (2, 9, 10)


@pytest.mark.parametrize("side", SIDES)
def test_inputs_not_modified(side):
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((4, 6)), rng.standard_normal((4, 3))
    A0, B0 = A.copy(), B.copy()
    stp(A, B, side=side)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(B, B0)


# --- bad input ------------------------------------------------------------------


def test_needs_two_operands():
    with pytest.raises(TypeError, match="at least two operands; got 1"):
        stp(np.ones((2, 2)))


def test_zero_dimensional_operand():
    with pytest.raises(ValueError, match=r"arrays\[1\] is 0-d"):
        stp(np.ones((2, 2)), np.float64(3.0))


def test_zero_inner_size():
    with pytest.raises(
        ValueError, match=r"arrays\[0\] has shape \(2, 0\): inner sizes must be positive"
    ):
        stp(np.ones((2, 0)), np.ones((3, 3)))
    assert stp(np.ones((0, 2)), np.ones((2, 3))).shape == (0, 3)


def test_batch_shapes_must_broadcast():
    with pytest.raises(
        ValueError, match=r"do not broadcast: arrays\[0\]: \(2, 3, 4\), arrays\[1\]: \(3, 2, 2\)"
    ):
        stp(np.ones((2, 3, 4)), np.ones((3, 2, 2)))


def test_bad_side():
    with pytest.raises(ValueError, match="side must be 'left' or 'right'; got 'up'"):
        stp(np.ones((2, 2)), np.ones((2, 2)), side="up")


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_mixing_numpy_and_torch_is_a_type_error():
    with pytest.raises(
        TypeError,
        match=r"cannot mix array libraries.*arrays\[0\] is a numpy.*arrays\[1\] is a torch",
    ):
        stp(np.ones((2, 2)), torch.ones((2, 2)))


# --- numba kernels equal the array-API route -----------------------------------


@SETTINGS
@given(
    m=st.integers(1, 6),
    n=st.integers(1, 6),
    p=st.integers(1, 6),
    q=st.integers(1, 6),
    count=st.integers(1, 5),
    seed=seeds,
    side=st.sampled_from(SIDES),
    layout=st.sampled_from(["both", "a", "b"]),
    dtype=st.sampled_from(["float64", "float32", "int64", "complex128"]),
)
def test_numba_kernel_equals_generic_route(m, n, p, q, count, seed, side, layout, dtype):
    import array_api_compat

    from semitensor._kernels import generic, numba_stp

    rng = np.random.default_rng(seed)
    ba = (count,) if layout in ("both", "a") else ()
    bb = (count,) if layout in ("both", "b") else ()
    A, B = rand(rng, ba + (m, n), dtype), rand(rng, bb + (p, q), dtype)
    xp = array_api_compat.array_namespace(A)
    want = (generic.stp_left if side == "left" else generic.stp_right)(xp, A, B)
    got = numba_stp.stp_stack(A, B, side)
    assert got.dtype == want.dtype
    assert_close(got, want, dtype)


def test_route_sends_tiny_stacks_and_general_products_to_numba(monkeypatch):
    from semitensor._kernels import route

    assert route.choose((1000, 4, 4), (1000, 2, 2), 1000, "left") == "stack"
    assert route.choose((4, 4), (2, 2), 1, "left") in ("fused", "blas")
    assert route.choose((200, 20), (15, 300), 1, "left") in ("fused", "blas")
    assert route.choose((8, 6), (6, 5), 1, "left") == "generic"  # n == p: one GEMM
    assert route.choose((8, 3), (6, 5), 1, "left") == "generic"  # n | p: one GEMM
    assert route.choose((8, 6), (3, 5), 1, "right") == "generic"  # p | n: one GEMM
    monkeypatch.setenv("SEMITENSOR_DISABLE_NUMBA", "1")
    assert not route.numba_allowed()


def test_import_pulls_in_neither_torch_nor_numba():
    import subprocess
    import sys

    code = "import sys, semitensor; print(sorted({'torch', 'numba'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(torch is None, reason="torch not installed")
@SETTINGS
@given(
    m=dims, n=dims, p=dims, q=dims, seed=seeds, side=st.sampled_from(SIDES), batched=st.booleans()
)
def test_accelerator_routes_match_definition(m, n, p, q, seed, side, batched):
    # The lift routes taken on GPUs (fewer kernel launches), forced here on the CPU.
    from semitensor._kernels import generic

    rng = np.random.default_rng(seed)
    lead = (2,) if batched else ()
    A, B = rng.standard_normal(lead + (m, n)), rng.standard_normal(lead + (p, q))
    original = generic._few_launches
    generic._few_launches = lambda x: True
    try:
        got = to_np(stp(torch.tensor(A), torch.tensor(B), side=side))
    finally:
        generic._few_launches = original
    want = [kron_stp(a, b, side) for a, b in zip(A.reshape(-1, m, n), B.reshape(-1, p, q))]
    assert_close(got.reshape(-1, *got.shape[-2:]), np.stack(want))


# --- inputs numpy takes but the STP cannot (issue 17) ---------------------------


@pytest.mark.parametrize(
    "bad,match",
    [
        ([[1.0, 2.0], [3.0]], r"arrays\[1\] cannot be read as a numeric array.*ragged"),
        (np.array([["a", "b"]]), r"arrays\[1\] has dtype <U1 \(strings\)"),
        (np.array([[None, 1.0]]), r"arrays\[1\] has dtype object \(Python objects, e.g. None\)"),
        ([[None, 1.0]], r"arrays\[1\] has dtype object"),
        (np.array([["2020-01-01"]], dtype="datetime64[D]"), r"arrays\[1\].*\(datetimes\)"),
        (np.zeros((1, 2), dtype=[("x", "f8")]), r"arrays\[1\].*\(structured or void\)"),
    ],
)
def test_non_numeric_operands_are_type_errors_naming_the_argument(bad, match):
    with pytest.raises(TypeError, match=match):
        stp(np.ones((2, 2)), bad)


def test_masked_arrays_are_refused_with_the_explicit_fix():
    M = np.ma.masked_array(np.ones((2, 2)), mask=[[0, 1], [0, 0]])
    with pytest.raises(TypeError, match=r"arrays\[0\] is a masked array.*filled.*\.data"):
        stp(M, np.ones((2, 2)))
    assert_close(stp(M.filled(0.0), np.ones((2, 2))), kron_stp(M.filled(0.0), np.ones((2, 2))))


@pytest.mark.parametrize(
    "args,exc,match",
    [
        (((3, 0), (2, 2)), ValueError, r"shape_a has inner size 0 in \(3, 0\)"),
        (((3, 4), (0, 2)), ValueError, r"shape_b has inner size 0 in \(0, 2\)"),
        (((3, -4), (2, 2)), ValueError, r"shape_a must hold non-negative sizes; got \(3, -4\)"),
        (((3, 4, 5), (2, 2)), ValueError, r"shape_a must be a 2-d shape \(rows, cols\)"),
        (((3, 4.0), (2, 2)), TypeError, r"shape_a must hold integers; got \(3, 4.0\)"),
        ((5, (2, 2)), TypeError, r"shape_a must be a 2-d shape \(rows, cols\); got 5"),
    ],
)
def test_stp_shape_and_cost_validate(args, exc, match):
    with pytest.raises(exc, match=match):
        semitensor.stp_shape(*args)
    with pytest.raises(exc, match=match):
        semitensor.stp_cost(*args)


def test_stp_cost_validates_side():
    with pytest.raises(ValueError, match="side must be 'left' or 'right'; got 'x'"):
        semitensor.stp_cost((3, 4), (2, 2), side="x")
    assert semitensor.stp_shape((0, 4), (2, 3)) == (0, 6)


# --- the small-operand fast path (issue 15) ------------------------------------


@SETTINGS
@given(
    m=dims,
    n=dims,
    p=dims,
    q=dims,
    seed=seeds,
    side=st.sampled_from(SIDES),
    dtype=st.sampled_from(["float64", "float32", "int64", "complex128"]),
    vectors=st.booleans(),
)
def test_fast_path_equals_definition(m, n, p, q, seed, side, dtype, vectors):
    from semitensor._kernels.small import small_product

    rng = np.random.default_rng(seed)
    A, B = rand(rng, (m, n), dtype), rand(rng, (p, q) if not vectors else (p,), dtype)
    got = small_product((A, B), side)
    assert got is not None and got.dtype == A.dtype
    want = kron_stp(A, B.reshape(p, -1), side)
    assert_close(got, want, dtype)
    assert_close(stp(A, B, side=side), want, dtype)


def test_fast_path_chain_of_structure_matrix_and_unit_vectors():
    M = semitensor.structure_matrix(lambda p, q: p and q, 2)
    t, f = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    for x, y in [(t, t), (t, f), (f, t), (f, f)]:
        want = kron_stp(kron_stp(M, x[:, None]), y[:, None])
        np.testing.assert_array_equal(stp(M, x, y), want)

    # not taken: subclasses, mixed dtypes, Boolean, stacks in chains
    class Sub(np.ndarray):
        pass

    assert semitensor._kernels.small.small_product((M.view(Sub), t, t), "left") is None
    assert semitensor._kernels.small.small_product((M, t.astype(np.float32)), "left") is None
    assert semitensor._kernels.small.small_product((M > 0, t > 0), "left") is None
    assert semitensor._kernels.small.small_product((M[None], t, t), "left") is None


# --- the chain order: a worked example pins the DP table ---------------------------


def _brute_force_cost(shapes, side):
    """Cheapest total stp_cost over every parenthesisation (the definition)."""
    if len(shapes) == 1:
        return 0.0, shapes[0]
    best = (math.inf, None)
    for s in range(1, len(shapes)):
        cl, left = _brute_force_cost(shapes[:s], side)
        cr, right = _brute_force_cost(shapes[s:], side)
        total = cl + cr + stp_cost(left, right, side)
        best = min(best, (total, stp_shape(left, right)), key=lambda p: p[0])
    return best


def test_chain_order_worked_example():
    # The textbook chain 10×100 · 100×5 · 5×50 (inner sizes match: plain GEMMs):
    # (AB)C costs 2·(10·100·5 + 10·5·50) = 15000 flops plus the writes of 10×5 and
    # 10×50 (550 entries), A(BC) 2·(100·5·50 + 10·100·50) = 150000 plus 5500 writes.
    shapes = [(10, 100), (100, 5), (5, 50)]
    split, cost = semitensor.product._chain_order(shapes, [1, 1, 1], "left")
    assert split[0][2] == 1  # ((A B) C): split after the second operand
    assert split[0][1] == 0 and split[1][2] == 1
    writes = semitensor.product._WRITE_COST
    assert cost[0][2] == pytest.approx(15000 + writes * 550)
    assert cost[0][1] == pytest.approx(10000 + writes * 50)
    assert cost[1][2] == pytest.approx(50000 + writes * 5000)


@settings(max_examples=60, deadline=None)
@given(
    dims=st.lists(st.integers(1, 12), min_size=3, max_size=6),
    side=st.sampled_from(SIDES),
)
def test_chain_order_is_the_cheapest_parenthesisation(dims, side):
    shapes = [(dims[i], dims[i + 1]) for i in range(len(dims) - 1)]
    # Neighbouring sizes that do not divide each other are STP products too.
    _, cost = semitensor.product._chain_order(shapes, [1] * len(shapes), side)
    best, _ = _brute_force_cost(shapes, side)
    assert cost[0][len(shapes) - 1] == pytest.approx(best)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((1000, 4, 6), (4, 3)),  # a stack of tiny products: the numba stack kernel
        ((4, 6), (500, 4, 3)),
        ((7, 4, 6), (7, 4, 3)),
        ((1, 4, 6), (9, 4, 3)),
        ((1, 1, 4, 6), (9, 4, 3)),
        ((300, 2, 3), (300, 2, 5)),
    ],
)
def test_broadcast_stacks_on_every_route_match_the_definition(shape_a, shape_b, side):
    rng = np.random.default_rng(11)
    A, B = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    out = stp(A, B, side=side)
    batch = np.broadcast_shapes(shape_a[:-2], shape_b[:-2])
    Ab = np.broadcast_to(A, batch + shape_a[-2:]).reshape(-1, *shape_a[-2:])
    Bb = np.broadcast_to(B, batch + shape_b[-2:]).reshape(-1, *shape_b[-2:])
    ref = np.stack([kron_stp(a, b, side) for a, b in zip(Ab, Bb)])
    assert out.shape == batch + ref.shape[1:]
    np.testing.assert_allclose(out.reshape(ref.shape), ref, rtol=1e-12, atol=1e-12)
