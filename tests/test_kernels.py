"""The compiled STP kernels and their routing: equal to the array-API route, and safe.

Every numba kernel is compared with the array-API kernel (itself tested against the
Kronecker definition in test_product.py), on random shapes where neither inner size
divides the other, on stacks, and for every dtype the kernels take.
"""

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semitensor
from tests.conftest import BACKENDS, to_backend
from tests.test_product import assert_close, kron_stp, rand

try:
    import torch
except ImportError:
    torch = None

SETTINGS = settings(max_examples=40, deadline=None)
seeds = st.integers(0, 2**32 - 1)
DTYPES = ["float64", "float32", "int64", "complex128"]
ROUTES = [("left", "fused"), ("left", "blas"), ("left", "cols"), ("right", "fused")]


def generic_stp(A, B, side):
    import array_api_compat

    from semitensor._kernels import generic

    xp = array_api_compat.array_namespace(A)
    return (generic.stp_left if side == "left" else generic.stp_right)(xp, A, B)


def compiled(kind, A, B, side, parallel):
    from semitensor._kernels import numba_cols, numba_dense, numba_right, route

    m, n, p, q, g, a, b = route.sizes(A.shape, B.shape)
    count = max(A.shape[0], B.shape[0])
    out = np.empty((count, m * a, q * b), dtype=A.dtype)
    fn = {
        ("left", "fused"): numba_dense.left_fused,
        ("left", "blas"): numba_dense.left_blas,
        ("left", "cols"): numba_cols.left_cols,
        ("right", "fused"): numba_right.right_fused,
    }[side, kind]
    if kind == "blas":  # small tiles, so that tiling over rows and stacks is exercised
        return fn(A, B, out, parallel, tile_bytes=256)
    return fn(A, B, out, parallel)


@SETTINGS
@given(
    m=st.integers(1, 7),
    n=st.integers(1, 12),
    p=st.integers(1, 12),
    q=st.integers(1, 9),
    count=st.integers(1, 4),
    layout=st.sampled_from(["both", "a", "b"]),
    route_=st.sampled_from(ROUTES),
    parallel=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=seeds,
)
def test_dense_kernels_equal_array_api_route(
    m, n, p, q, count, layout, route_, parallel, dtype, seed
):
    side, kind = route_
    rng = np.random.default_rng(seed)
    A = rand(rng, ((count if layout != "b" else 1), m, n), dtype)
    B = rand(rng, ((count if layout != "a" else 1), p, q), dtype)
    want = generic_stp(A, B, side)
    got = compiled(kind, A, B, side, parallel)
    assert got.dtype == want.dtype
    assert_close(got.reshape(want.shape), want, dtype)


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(
    "sa,sb",
    [
        ((41, 13), (3, 44)),
        ((3, 55), (9, 40)),
        ((1, 322), (392, 7)),
        ((12, 27), (55, 13)),
        ((3, 90), (63, 2)),  # g = 9, q < 4: blocks as dot products
        ((4, 45), (36, 3)),
        ((5, 9), (165, 2)),  # q·b < 32, g < 8: the flat band loops
        ((70, 26), (33, 5)),  # two row tiles of the column kernel, the last of 6 rows
        ((130, 3), (2, 9)),  # three tiles, the last of 2 rows (scalar transpose), n < 4
    ],
)
def test_dense_kernels_on_wide_interleaves(sa, sb, side):
    # b >= 8 and b < 8, q below and above b: every placement order of a band
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((1,) + sa), rng.standard_normal((1,) + sb)
    want = kron_stp(A[0], B[0], side)
    kinds = ["fused", "blas", "cols"] if side == "left" else ["fused"]
    for kind in kinds:
        for parallel in (False, True):
            assert_close(compiled(kind, A, B, side, parallel)[0], want)


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 6),
    g=st.integers(1, 11),
    ab=st.sampled_from([(2, 5), (3, 4), (5, 7), (7, 9), (2, 13), (11, 6), (3, 19), (17, 4)]),
    q=st.integers(1, 23),
    count=st.integers(1, 3),
    route_=st.sampled_from(ROUTES),
    dtype=st.sampled_from(DTYPES + ["complex64"]),
    backend=st.sampled_from(BACKENDS),
    seed=seeds,
)
def test_tiled_placement_and_unrolled_terms_match_definition(
    m, g, ab, q, count, route_, dtype, backend, seed
):
    # General STP (neither inner size divides the other) through stp, the compiled
    # kernel forced: b and q on both sides of 4 and off multiples of 4 (the 4×4 tiles of
    # `numba_place` and their overlapping last tiles), g and the right STP's segments
    # on both sides of multiples of 4 (the four-term passes), every dtype the kernels
    # take, on numpy and torch.
    from semitensor._kernels import fastpath, planner, route

    side, kind = route_
    a, b = ab
    rng = np.random.default_rng(seed)
    A, B = rand(rng, (count, m, g * b), dtype), rand(rng, (count, g * a, q), dtype)
    want = np.stack([kron_stp(x, y, side) for x, y in zip(A, B)])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fastpath, "lookup", lambda *args: None)  # no prepared call: the forced kind
        mp.setattr(planner, "lookup", lambda key: kind)
        mp.setattr(route, "choose", lambda *args: kind)
        got = semitensor.stp(to_backend(A, backend), to_backend(B, backend), side=side)
    assert type(got).__module__.split(".")[0] == backend
    assert_close(got, want, "float32" if dtype == "complex64" else dtype)


@pytest.mark.parametrize("side", ["left", "right"])
def test_every_route_through_stp_matches_definition(side, monkeypatch):
    from semitensor._kernels import fastpath, route

    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((3, 6, 10)), rng.standard_normal((3, 4, 7))
    want = np.stack([kron_stp(a, b, side) for a, b in zip(A, B)])
    kinds = ["generic", "fused"] + (["blas", "cols", "stack"] if side == "left" else [])
    monkeypatch.setattr(fastpath, "lookup", lambda *args: None)  # the forced kind each time
    for kind in kinds:
        monkeypatch.setattr(route, "choose", lambda *args, kind=kind: kind)
        assert_close(semitensor.stp(A, B, side=side), want)


@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("side", ["left", "right"])
def test_torch_cpu_without_grad_uses_shared_memory_kernels(side):
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((30, 20)), rng.standard_normal((15, 40))
    out = semitensor.stp(torch.from_numpy(A), torch.from_numpy(B), side=side)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    assert_close(out, kron_stp(A, B, side))
    At = torch.from_numpy(A).requires_grad_()
    out = semitensor.stp(At, torch.from_numpy(B), side=side)
    assert out.requires_grad  # autograd kept: the array-API route
    out.sum().backward()
    assert At.grad.shape == At.shape


def run_python(code, timeout=240, env=None):
    import os

    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def test_fork_after_numba_use_does_not_hang():
    # GNU OpenMP's thread pool does not survive fork: a child calling the parallel
    # kernel hung forever (issue 17, item 13).
    code = """
    import multiprocessing as mp
    import numpy as np
    import semitensor as st

    A, B = np.ones((200, 20)), np.ones((15, 300))
    st.stp(A, B)  # parallel numba kernel in the parent

    def work(k):
        return float(st.stp(A * k, B).sum())

    with mp.get_context("fork").Pool(2) as pool:
        print(pool.map(work, [1, 2, 3]))
    """
    res = run_python(code)
    assert res.returncode == 0, res.stderr
    assert "[" in res.stdout


def test_concurrent_calls_under_workqueue_layer():
    # numba's workqueue layer aborts the process when two threads enter a parallel
    # kernel at once (issue 17, item 14).
    code = """
    from concurrent.futures import ThreadPoolExecutor
    import numpy as np
    import semitensor as st

    A, B = np.ones((200, 20)), np.ones((15, 300))
    st.stp(A, B)
    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(lambda k: float(st.stp(A * k, B).sum()), range(16)))
    print(outs == [float(st.stp(A * k, B).sum()) for k in range(16)])
    """
    res = run_python(code, env={"NUMBA_THREADING_LAYER": "workqueue"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "True"


def test_plans_are_linear_in_a_plus_b_and_caches_bounded():
    import tracemalloc

    from semitensor._kernels import plans

    kidx, lidx = plans.left_blocks(9967, 9973)  # a·b ≈ 10^8: no a×b table
    assert kidx.size == lidx.size == 9967 + 9973 - 1
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2, 63))
    semitensor.stp(A, rng.standard_normal((62, 1)))
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for q in range(1, 60):
        # varying q cached one a·b·q gather index per call before (4 GB after 100 calls)
        semitensor.stp(A, rng.standard_normal((62, q)))
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 4 << 20, grown


def test_huge_product_fails_at_once_with_its_size():
    import time

    A, B = np.ones((1, 99991)), np.ones((99989, 1))  # 80 GB result
    t0 = time.perf_counter()
    with pytest.raises(MemoryError, match=r"shapes \(1, 99991\) and \(99989, 1\).*GiB"):
        semitensor.stp(A, B)
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("side", ["left", "right"])
def test_coprime_inner_sizes_with_vector_operands(side):
    # n, p coprime and m = q = 1: a·b output positions, a+b−1 blocks
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((1, 97)), rng.standard_normal((89, 1))
    assert_close(semitensor.stp(A, B, side=side), kron_stp(A, B, side))


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(1, 40),
    n=st.integers(1, 30),
    p=st.integers(1, 30),
    q=st.integers(1, 40),
    side=st.sampled_from(["left", "right"]),
    backend=st.sampled_from(BACKENDS),
    seed=seeds,
)
def test_planned_products_match_definition(m, n, p, q, side, backend, seed):
    # Outputs of >= 4096 entries are planned: every candidate kernel runs on the first
    # call of a shape (its result must be the product whichever wins), the second call
    # runs the stored plan.
    from semitensor._kernels import planner

    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((m, n)), rng.standard_normal((p, q))
    want = kron_stp(A, B, side)
    planner.clear()
    for _ in range(2):
        got = semitensor.stp(to_backend(A, backend), to_backend(B, backend), side=side)
        assert_close(got, want)


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(
    "sa,sb",
    [((300, 20), (15, 30)), ((2, 200, 17), (2, 1, 9)), ((1000, 192), (3, 1)), ((9, 30), (11, 7))],
)
def test_every_candidate_kernel_at_planned_sizes(sa, sb, side, monkeypatch):
    # each kernel the planner may pick, forced in turn, at sizes the planner measures
    from semitensor._kernels import fastpath, planner, route

    monkeypatch.setattr(fastpath, "lookup", lambda *args: None)

    rng = np.random.default_rng(3)
    A, B = rng.standard_normal(sa), rng.standard_normal(sb)
    As = A.reshape((-1,) + sa[-2:])
    Bs = np.broadcast_to(B, A.shape[:-2] + sb[-2:]).reshape((-1,) + sb[-2:])
    want = np.stack([kron_stp(a, b, side) for a, b in zip(As, Bs)])
    want = want.reshape(A.shape[:-2] + want.shape[-2:])
    kinds = route.candidates(A.shape, B.shape, math.prod(A.shape[:-2]), side)
    for backend in BACKENDS:
        # torch CPU tensors may also take numpy's array-API route on shared memory
        for kind in kinds + (("host",) if backend == "torch" else ()):
            monkeypatch.setattr(planner, "lookup", lambda key, kind=kind: kind)
            got = semitensor.stp(to_backend(A, backend), to_backend(B, backend), side=side)
            assert type(got).__module__.split(".")[0] == backend
            assert_close(got, want)


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(
    "sa,sb",
    [((3, 78), (98, 4)), ((68, 9), (165, 2)), ((4, 6, 9), (12, 5)), ((9,), (2, 7)), ((2, 5), (3,))],
)
def test_prepared_calls_repeat_the_planned_product(sa, sb, side, monkeypatch):
    # The second product of a small shape planned on the fused kernel comes from
    # `fastpath`: equal to the definition, inputs untouched, the cache bounded in
    # bytes, and off where numba may not run.
    from semitensor._kernels import fastpath, planner

    planner.clear()
    rng = np.random.default_rng(7)
    A, B = rng.standard_normal(sa), rng.standard_normal(sb)
    A2 = A.reshape(A.shape + (1,) * (2 - A.ndim)) if A.ndim < 2 else A
    B2 = B.reshape(B.shape + (1,) * (2 - B.ndim)) if B.ndim < 2 else B
    As = A2.reshape((-1,) + A2.shape[-2:])
    want = np.stack([kron_stp(x, B2, side) for x in As]).reshape(
        A2.shape[:-2] + semitensor.stp_shape(A2.shape[-2:], B2.shape[-2:])
    )
    A0, B0 = A.copy(), B.copy()
    for _ in range(3):
        assert_close(semitensor.stp(A, B, side=side), want)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(B, B0)
    fast = fastpath.lookup(A2, B2, side)
    if fast is not None:  # planned on the fused kernel (the planner may pick another)
        assert_close(fast, want)
        monkeypatch.setenv("SEMITENSOR_DISABLE_NUMBA", "1")
        assert fastpath.lookup(A2, B2, side) is None
        assert_close(semitensor.stp(A, B, side=side), want)
    monkeypatch.setattr(fastpath, "MAX_BYTES", 1 << 10)
    planner.clear()
    for _ in range(2):
        assert_close(semitensor.stp(A, B, side=side), want)
    assert fastpath._total[0] <= 1 << 10


def test_plan_cache_is_bounded_and_skips_declined_runs(monkeypatch):
    from semitensor._kernels import planner

    planner.clear()
    monkeypatch.setattr(planner, "MAX_PLANS", 5)
    rng = np.random.default_rng(4)
    for q in range(40, 52):
        A, B = rng.standard_normal((30, 20)), rng.standard_normal((15, q))
        assert_close(semitensor.stp(A, B), kron_stp(A, B))
    assert len(planner._plans) == 5
    # a kernel that declines (the compiled kernels busy in another thread) is not timed
    calls = []

    def run(kind):
        calls.append(kind)
        return None if kind == "fused" else np.zeros(1)

    out = planner.measure(("k",), ("generic", "fused"), run, 1 << 20)
    assert out is not None and ("k",) not in planner._plans
    planner.clear()
    assert not planner._plans


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(
    "sa,sb",
    [
        ((4100, 1), (1, 3)),  # n = p = 1, short rows: the compiled outer product
        ((50, 1), (1, 300)),
        ((700, 30), (1, 4)),  # right p | n with p = 1
        ((600, 1), (9, 2)),  # left n | p with n = 1
        ((327, 17), (1, 13)),  # left p | n with p = 1: the general path
        ((2900, 1), (18, 1)),  # right n | p, n = q = 1: one outer product of vectors
    ],
)
def test_outer_products_match_definition(sa, sb, side, backend):
    rng = np.random.default_rng(6)
    A, B = rng.standard_normal(sa), rng.standard_normal(sb)
    got = semitensor.stp(to_backend(A, backend), to_backend(B, backend), side=side)
    assert_close(got, kron_stp(A, B, side))
    for dtype in ("int64", "complex128", "float32"):
        Ad, Bd = rand(rng, sa, dtype), rand(rng, sb, dtype)
        assert_close(semitensor.stp(Ad, Bd, side=side), kron_stp(Ad, Bd, side), dtype)


@pytest.mark.parametrize("sa,sb", [((26, 15), (6, 7)), ((3, 70, 10), (4, 5)), ((5, 9), (6, 2))])
def test_prepared_column_kernel_call_matches_definition(sa, sb):
    # `fastpath`'s prepared call of `numba_cols` (the serial kernel, buffers kept)
    from semitensor._kernels import fastpath

    rng = np.random.default_rng(3)
    A, B = rng.standard_normal(sa), rng.standard_normal(sb)
    call, nbytes = fastpath.prepare("cols", "left", A.shape, B.shape, A.dtype)
    assert nbytes > 0
    As = A.reshape((-1,) + sa[-2:])
    want = np.stack([kron_stp(x, B, "left") for x in As]).reshape(call(A, B).shape)
    for _ in range(2):
        assert_close(call(A, B), want)
