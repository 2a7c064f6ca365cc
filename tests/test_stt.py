"""Tests of the semi-tensor train: format (SPEC §4), ring-ALS engine and stt_decompose."""

import logging
import math
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semitensor.decomposition._ring_als import (
    DEFAULT_WARMUP,
    _solve_spd,
    fit_ring,
    random_ring,
    ring_to_tensor,
    tr_svd,
)
from semitensor.decomposition.stt import stt_decompose
from semitensor.exceptions import ConvergenceWarning
from semitensor.formats.stt import STTTensor, stt_to_tensor
from tests.conftest import to_backend, to_np

# -- helpers ---------------------------------------------------------------------------


def slow_stp(a, b, side):
    """SPEC §1 by its definition (Kronecker products): the test oracle."""
    n, p = a.shape[1], b.shape[0]
    t = math.lcm(n, p)
    ia, ib = np.eye(t // n), np.eye(t // p)
    if side == "left":
        return np.kron(a, ia) @ np.kron(b, ib)
    return np.kron(ia, a) @ np.kron(ib, b)


def slow_stt(cores, side):
    """Every entry as G_1(i_1) ⋉ … ⋉ G_N(i_N), through np.kron."""
    shape = tuple(g.shape[1] for g in cores)
    out = np.empty(shape)
    for idx in np.ndindex(*shape):
        p = cores[0][:, idx[0], :]
        for g, i in zip(cores[1:], idx[1:]):
            p = slow_stp(p, g[:, i, :], side)
        assert p.shape == (1, 1)
        out[idx] = p[0, 0]
    return out


def random_stt_cores(shape, bonds, ts, rng):
    n = len(shape)
    cores = [rng.standard_normal((1, shape[0], bonds[0]))]
    for k in range(1, n - 1):
        cores.append(
            rng.standard_normal((bonds[k - 1] // ts[k - 1], shape[k], bonds[k] // ts[k - 1]))
        )
    cores.append(rng.standard_normal((bonds[-1], shape[-1], 1)))
    return cores


def random_stt_tensor(shape, rank, t, seed):
    rng = np.random.default_rng(seed)
    n = len(shape)
    cores = random_stt_cores(shape, [rank] * (n - 1), [t] * (n - 2), rng)
    return STTTensor(cores, t).to_tensor()


def rel_err(a, b):
    return float(np.linalg.norm(to_np(a) - to_np(b)) / np.linalg.norm(to_np(b)))


# -- format ----------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["left", "right"])
def test_to_tensor_matches_slow_definition(side, backend):
    rng = np.random.default_rng(0)
    cores = random_stt_cores((3, 2, 4, 2), [6, 6, 6], [2, 3], rng)
    expected = slow_stt(cores, side)
    x = STTTensor([to_backend(c, backend) for c in cores], [2, 3], side)
    out = x.to_tensor()
    assert type(out) is type(x.cores[0])
    np.testing.assert_allclose(to_np(out), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_np(stt_to_tensor(x.cores, [2, 3], side)), expected, atol=1e-12)


@st.composite
def stt_cases(draw):
    n = draw(st.integers(2, 5))
    shape = tuple(draw(st.integers(1, 3)) for _ in range(n))
    t = draw(st.integers(1, 3))
    bonds = [t * draw(st.integers(1, 3)) for _ in range(n - 1)]
    side = draw(st.sampled_from(["left", "right"]))
    seed = draw(st.integers(0, 2**16))
    return shape, bonds, t, side, seed


@settings(max_examples=40, deadline=None)
@given(stt_cases())
def test_all_evaluations_agree(case):
    shape, bonds, t, side, seed = case
    rng = np.random.default_rng(seed)
    n = len(shape)
    cores = random_stt_cores(shape, bonds, [t] * (n - 2), rng)
    x = STTTensor(cores, t, side)
    expected = slow_stt(cores, side)
    np.testing.assert_allclose(x.to_tensor(), expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(x.to_tr().to_tensor(), expected, rtol=1e-10, atol=1e-10)
    idx = np.array(list(np.ndindex(*shape)))
    np.testing.assert_allclose(x.entries(idx), expected.reshape(-1), rtol=1e-10, atol=1e-10)
    assert x.n_params == sum(c.size for c in cores)
    assert np.isclose(x.norm(), np.linalg.norm(expected), rtol=1e-8, atol=1e-12)


def test_n_params_spec_formula():
    rng = np.random.default_rng(1)
    shape, bonds, t = (5, 4, 6, 3), [6, 8, 4], 2
    x = STTTensor(random_stt_cores(shape, bonds, [t, t], rng), t)
    spec = (
        shape[0] * bonds[0]
        + sum(bonds[k - 1] * shape[k] * bonds[k] // t**2 for k in range(1, 3))
        + bonds[-1] * shape[-1]
    )
    assert x.n_params == spec
    assert x.ranks == tuple(bonds) and x.t == (2, 2) and x.side == "left"
    assert x.compression_ratio == pytest.approx(math.prod(shape) / spec)
    assert "STTTensor" in repr(x)


def test_t_one_is_tensorly_tt(backend):
    from tensorly.tt_tensor import tt_to_tensor

    rng = np.random.default_rng(2)
    cores = random_stt_cores((3, 4, 2, 3), [2, 3, 2], [1, 1], rng)
    x = STTTensor([to_backend(c, backend) for c in cores], 1)
    np.testing.assert_allclose(to_np(x.to_tensor()), tt_to_tensor(cores), atol=1e-12)


def test_to_tr_ranks_and_right_side():
    rng = np.random.default_rng(3)
    cores = random_stt_cores((3, 4, 2, 3), [4, 6, 2], [2, 2], rng)
    for side in ("left", "right"):
        tr = STTTensor(cores, 2, side).to_tr()
        assert tr.rank == (2, 2, 3, 1, 2)
        np.testing.assert_allclose(tr.to_tensor(), slow_stt(cores, side), atol=1e-12)


def test_to_tr_needs_uniform_t():
    rng = np.random.default_rng(4)
    x = STTTensor(random_stt_cores((2, 2, 2, 2), [6, 6, 6], [2, 3], rng), [2, 3])
    with pytest.raises(ValueError, match=r"to_tr needs the same t for every interior core"):
        x.to_tr()


def test_entries_and_getitem(backend):
    rng = np.random.default_rng(5)
    cores = random_stt_cores((3, 4, 5), [4, 2], [2], rng)
    x = STTTensor([to_backend(c, backend) for c in cores], 2, "right")
    full = to_np(x.to_tensor())
    idx = rng.integers(0, [3, 4, 5], size=(50, 3))
    np.testing.assert_allclose(to_np(x.entries(to_backend(idx, backend))), full[tuple(idx.T)])
    assert float(x[2, 3, 4]) == pytest.approx(full[2, 3, 4])
    assert float(x[-1, 0, -2]) == pytest.approx(full[-1, 0, -2])


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_entries_numba_matches_gemm(side, dtype, monkeypatch):
    rng = np.random.default_rng(19)
    cores = [c.astype(dtype) for c in random_stt_cores((5, 4, 6, 3), [6, 6, 6], [2, 3], rng)]
    x = STTTensor(cores, [2, 3], side)
    idx = rng.integers(-3, [5, 4, 6, 3], size=(300, 4))
    fast = x.entries(idx)
    monkeypatch.setenv("SEMITENSOR_DISABLE_NUMBA", "1")
    slow = x.entries(idx)
    assert fast.dtype == slow.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(fast, slow, rtol=tol, atol=tol)
    full = slow_stt([c.astype(np.float64) for c in cores], side)
    np.testing.assert_allclose(fast, full[tuple(idx.T)], rtol=tol * 10, atol=tol * 10)


def test_entries_errors():
    rng = np.random.default_rng(6)
    x = STTTensor(random_stt_cores((3, 4, 5), [4, 2], [2], rng), 2)
    with pytest.raises(ValueError, match=r"indices must have shape \(M, 3\)"):
        x.entries(np.zeros((4, 2), dtype=int))
    with pytest.raises(ValueError, match=r"indices\[1\] = \(0, 4, 0\) is out of range"):
        x.entries(np.array([[0, 0, 0], [0, 4, 0]]))
    with pytest.raises(TypeError, match=r"indices must be integers"):
        x.entries(np.zeros((1, 3)))
    with pytest.raises(IndexError, match=r"indexed by 3 integers"):
        x[0, 1]
    with pytest.raises(IndexError, match=r"indices must be integers"):
        x[0, 1, 0:2]


def test_norm_and_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    cores = [
        torch.tensor(c, requires_grad=True)
        for c in random_stt_cores((3, 4, 2, 3), [4, 6, 2], [2, 2], rng)
    ]
    x = STTTensor(cores, 2)
    full = x.to_tensor()
    assert torch.allclose(x.norm(), torch.linalg.vector_norm(full))
    (full**2).sum().backward()
    assert all(c.grad is not None and c.grad.shape == c.shape for c in cores)
    # d‖X‖²/dG is linear in G: check one core against a finite difference
    g = cores[1].grad.detach().numpy()
    base = [c.detach().numpy().copy() for c in cores]
    step = np.zeros_like(base[1])
    step[0, 1, 1] = 1e-6
    plus = STTTensor([base[0], base[1] + step, *base[2:]], 2).norm() ** 2
    minus = STTTensor([base[0], base[1] - step, *base[2:]], 2).norm() ** 2
    assert (plus - minus) / 2e-6 == pytest.approx(g[0, 1, 1], rel=1e-5)


def test_reconstruct_handles_stt():
    from semitensor.formats._base import reconstruct

    rng = np.random.default_rng(8)
    x = STTTensor(random_stt_cores((3, 2, 3), [2, 4], [2], rng), 2)
    np.testing.assert_allclose(reconstruct(x), x.to_tensor())


def test_to_tensor_peak_memory():
    rng = np.random.default_rng(9)
    x = STTTensor(random_stt_cores((16,) * 5, [16] * 4, [2] * 3, rng), 2)
    out_bytes = 16**5 * 8
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = x.to_tensor()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert out.nbytes == out_bytes
    assert peak <= 2 * out_bytes


@pytest.mark.parametrize(
    "cores, t, err, match",
    [
        ("abc", 2, TypeError, r"cores must be a list or tuple"),
        ([np.ones((1, 2, 2))], 2, ValueError, r"at least 2 cores; got 1"),
        ([np.ones((1, 2)), np.ones((2, 2, 1))], 2, ValueError, r"cores\[0\] must be 3-d"),
        (
            [np.ones((2, 2, 2)), np.ones((2, 2, 1))],
            2,
            ValueError,
            r"cores\[0\] \(the first core\) must have shape \(1, I_1, R_1\)",
        ),
        (
            [np.ones((1, 2, 2)), np.ones((2, 2, 2))],
            2,
            ValueError,
            r"cores\[1\] \(the last core\) must have shape",
        ),
        (
            [np.ones((1, 2, 4)), np.ones((3, 2, 2)), np.ones((4, 2, 1))],
            2,
            ValueError,
            r"cores\[1\] has shape \(3, 2, 2\): its first size must be R_1/t_2 = 4/2",
        ),
        (
            [np.ones((1, 2, 4)), np.ones((1, 2, 2)), np.ones((6, 2, 1))],
            3,
            ValueError,
            r"t_2 = 3 does not divide 4",
        ),
        (
            [np.ones((1, 2, 4)), np.ones((2, 2, 2)), np.ones((6, 2, 1))],
            2,
            ValueError,
            r"cores\[2\] \(the last core\) has shape \(6, 2, 1\): its first size must be "
            r"the bond R_2 = 4",
        ),
        (
            [np.ones((1, 2, 4)), np.ones((2, 2, 2)), np.ones((4, 2, 1))],
            [2, 2],
            ValueError,
            r"one entry per interior core \(1\)",
        ),
    ],
)
def test_format_errors(cores, t, err, match):
    with pytest.raises(err, match=match):
        STTTensor(cores, t)


def test_format_mixed_libraries():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"cannot mix array libraries"):
        STTTensor([np.ones((1, 2, 2)), torch.ones((2, 2, 1), dtype=torch.float64)], 2)


# -- ring-ALS engine -------------------------------------------------------------------


def test_ring_engine_recovers_a_tensor_ring():
    rng = np.random.default_rng(10)
    ranks = [3, 2, 4, 2, 3]
    x = ring_to_tensor(random_ring((4, 5, 4, 5), ranks, rng))
    cores, info = fit_ring(x, tr_svd(x, ranks, rng), rng=rng)
    assert rel_err(ring_to_tensor(cores), x) < 1e-8
    assert info.converged and info.stop_reason in ("tol", "exact")


def test_singular_systems_fall_back_to_least_squares():
    rng = np.random.default_rng(20)
    a = rng.standard_normal((6, 3))
    m = a @ a.T  # PSD of rank 3
    b = m @ rng.standard_normal((6, 4))
    y = _solve_spd(m, b)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(m @ y, b, atol=1e-8)
    # Ranks far above what the tensor needs make the normal equations singular.
    x = random_stt_tensor((4, 4, 4, 4), 2, 2, 0)
    fit = stt_decompose(x, 8, 2, random_state=0)
    assert np.all(np.isfinite(fit.to_tensor()))
    assert fit.info.rel_error < 1e-6


def test_ring_to_tensor_matches_tensorly():
    from tensorly.tr_tensor import tr_to_tensor

    rng = np.random.default_rng(11)
    cores = random_ring((3, 4, 2), [2, 3, 4, 2], rng)
    np.testing.assert_allclose(ring_to_tensor(cores), tr_to_tensor(cores), atol=1e-12)


# -- stt_decompose ---------------------------------------------------------------------

RECOVERY_SHAPES = [(6, 8, 8, 6), (4, 4, 4, 4, 4, 4)]


@pytest.mark.parametrize("shape", RECOVERY_SHAPES)
@pytest.mark.parametrize("seed", range(3))
def test_exact_recovery(shape, seed):
    x = random_stt_tensor(shape, 8, 2, seed)
    fit = stt_decompose(x, 8, 2, random_state=seed)
    assert fit.info.rel_error < 1e-8
    assert rel_err(fit.to_tensor(), x) < 1e-8


@pytest.mark.slow
@pytest.mark.parametrize("shape", RECOVERY_SHAPES)
def test_exact_recovery_20_seeds(shape):
    ok = 0
    for seed in range(20):
        x = random_stt_tensor(shape, 8, 2, 1000 + seed)
        ok += rel_err(stt_decompose(x, 8, 2, random_state=seed).to_tensor(), x) < 1e-8
    assert ok >= 19


def test_exact_recovery_right_side_and_t4():
    rng = np.random.default_rng(12)
    cores = random_stt_cores((6, 8, 8, 6), [8, 8, 8], [2, 2], rng)
    x = STTTensor(cores, 2, "right").to_tensor()
    fit = stt_decompose(x, 8, 2, side="right", random_state=0)
    assert fit.side == "right" and rel_err(fit.to_tensor(), x) < 1e-8
    x4 = random_stt_tensor((8, 8, 8, 8), 8, 4, 1)
    assert rel_err(stt_decompose(x4, 8, 4, random_state=0).to_tensor(), x4) < 1e-8


def test_t1_no_worse_than_tensorly_tt():
    from tensorly.decomposition import tensor_train
    from tensorly.tt_tensor import tt_to_tensor

    rng = np.random.default_rng(13)
    x = rng.standard_normal((6, 7, 8, 5)) + random_stt_tensor((6, 7, 8, 5), 4, 1, 0)
    ranks = [1, 4, 6, 4, 1]
    tl_err = rel_err(tt_to_tensor(tensor_train(x, ranks)), x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = stt_decompose(x, ranks[1:-1], 1, n_iter_max=20)
        svd = stt_decompose(x, ranks[1:-1], 1, method="svd")
    assert ours.info.rel_error <= tl_err * (1 + 1e-6)
    assert rel_err(svd.to_tensor(), x) <= tl_err * (1 + 1e-6)


def test_history_monotone_and_info():
    rng = np.random.default_rng(14)
    x = random_stt_tensor((5, 6, 6, 5), 8, 2, 3) + 0.1 * rng.standard_normal((5, 6, 6, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = stt_decompose(x, 8, 2, n_iter_max=30, tol=1e-12)
    errs = np.array(fit.info.errors)
    assert fit.info.method == "als"
    assert len(errs) == fit.info.n_iter + 1
    tail = errs[DEFAULT_WARMUP:]
    assert np.all(np.diff(tail) <= 1e-12)
    assert errs[-1] == pytest.approx(rel_err(fit.to_tensor(), x), rel=1e-6)


def test_verbose_logs_one_line_per_sweep(caplog):
    x = random_stt_tensor((4, 4, 4), 4, 2, 0)
    with caplog.at_level(logging.INFO, logger="semitensor.decomposition"):
        fit = stt_decompose(x, 4, 2, verbose=True)
    lines = [r for r in caplog.records if "stt_decompose sweep" in r.getMessage()]
    assert len(lines) == fit.info.n_iter


def test_callback_stops():
    x = random_stt_tensor((4, 5, 5, 4), 8, 2, 1)
    seen = []

    def cb(iteration, decomposition, rel_error):
        assert isinstance(decomposition, STTTensor)
        seen.append((iteration, rel_error))
        return iteration == 2

    fit = stt_decompose(x, 8, 2, callback=cb)
    assert [s[0] for s in seen] == [0, 1, 2]
    assert fit.info.stop_reason == "callback" and fit.info.n_iter == 2


def test_convergence_warning():
    rng = np.random.default_rng(15)
    x = rng.standard_normal((5, 5, 5, 5))
    with pytest.warns(ConvergenceWarning, match=r"n_iter_max=2"):
        fit = stt_decompose(x, 4, 2, n_iter_max=2)
    assert fit.info.stop_reason == "n_iter_max" and not fit.info.converged


def test_method_svd_and_init_options():
    x = random_stt_tensor((6, 8, 8, 6), 8, 2, 2)
    svd = stt_decompose(x, 8, 2, method="svd")
    assert svd.info.method == "svd" and svd.info.n_iter == 0
    assert svd.info.rel_error == pytest.approx(rel_err(svd.to_tensor(), x))
    fit = stt_decompose(x, 8, 2, init=svd)
    assert fit.info.errors[0] == pytest.approx(svd.info.rel_error)
    rnd = stt_decompose(x, 8, 2, init="random", random_state=0, n_restarts=2)
    assert rnd.info.rel_error < 1e-6
    again = stt_decompose(x, 8, 2, init="random", random_state=0, n_restarts=2)
    np.testing.assert_array_equal(again.to_tensor(), rnd.to_tensor())


def test_never_worse_than_start_and_restarts():
    rng = np.random.default_rng(16)
    x = rng.standard_normal((4, 6, 6, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        svd = stt_decompose(x, 4, 2, method="svd")
        one = stt_decompose(x, 4, 2, n_iter_max=10, random_state=1)
        three = stt_decompose(x, 4, 2, n_iter_max=10, n_restarts=3, random_state=1)
    assert one.info.rel_error <= svd.info.rel_error + 1e-12
    assert three.info.rel_error <= one.info.rel_error + 1e-12


def test_order_two_is_truncated_svd():
    rng = np.random.default_rng(17)
    x = rng.standard_normal((7, 5))
    fit = stt_decompose(x, 3, 2)
    s = np.linalg.svd(x, compute_uv=False)
    assert fit.info.rel_error == pytest.approx(np.sqrt((s[3:] ** 2).sum()) / np.linalg.norm(s))
    assert rel_err(fit.to_tensor(), x) == pytest.approx(fit.info.rel_error)


@pytest.mark.filterwarnings("ignore:stt_decompose stopped after n_iter_max")
def test_eps_ranks():
    x = random_stt_tensor((4, 6, 6, 4), 4, 2, 4)
    fit = stt_decompose(x, None, 2, eps=1e-6)
    assert fit.info.rel_error <= 1e-6
    assert fit.info.ranks_used == fit.ranks
    assert all(r % 2 == 0 for r in fit.ranks)
    rng = np.random.default_rng(18)
    noise = rng.standard_normal((3, 4, 4, 3))
    with pytest.warns(ConvergenceWarning, match=r"did not reach eps=1e-06.*stopped because"):
        stt_decompose(noise, None, 2, eps=1e-6, n_iter_max=5)


def test_backend_input_kept(backend):
    x_np = random_stt_tensor((4, 5, 5, 4), 4, 2, 5)
    x = to_backend(x_np, backend, dtype=np.float32)
    copy = to_np(x).copy()
    fit = stt_decompose(x, 4, 2)
    np.testing.assert_array_equal(to_np(x), copy)
    assert type(fit.cores[0]) is type(x)
    assert fit.cores[0].dtype == x.dtype
    assert rel_err(fit.to_tensor(), x_np) < 1e-5


@pytest.mark.parametrize("method", ["svd", "als"])
def test_torch_result_from_any_path(method):
    torch = pytest.importorskip("torch")
    x = torch.from_numpy(random_stt_tensor((5, 6, 7, 4), 6, 2, 9))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = stt_decompose(x, [4, 6, 4], 2, method=method, n_iter_max=2, tol=0.0)
    assert all(isinstance(c, torch.Tensor) for c in fit.cores)
    assert fit.info.rel_error == pytest.approx(rel_err(fit.to_tensor(), x), rel=1e-6)


def test_input_not_modified_numpy():
    x = random_stt_tensor((4, 5, 5, 4), 4, 2, 6)
    copy = x.copy()
    stt_decompose(x, 4, 2)
    np.testing.assert_array_equal(x, copy)


def test_torch_autograd_through_result():
    torch = pytest.importorskip("torch")
    x = torch.from_numpy(random_stt_tensor((4, 5, 5, 4), 4, 2, 7))
    fit = stt_decompose(x, 4, 2)
    cores = [c.clone().requires_grad_(True) for c in fit.cores]
    STTTensor(cores, 2).to_tensor().sum().backward()
    assert all(c.grad is not None for c in cores)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(tensor=np.ones(4), ranks=2), ValueError, r"order at least 2; got a 1-d"),
        (dict(tensor=np.full((3, 3, 3), np.nan), ranks=2), ValueError, r"contains NaN or Inf"),
        (dict(ranks=3), ValueError, r"ranks must be a positive multiple of t=2; got 3"),
        (
            dict(ranks=[4, 3, 4]),
            ValueError,
            r"ranks\[1\] must be a positive multiple of t=2; got 3",
        ),
        (dict(ranks=[4, 4]), ValueError, r"list of N-1 = 3 bond sizes; got 2"),
        (dict(ranks=0), ValueError, r"ranks must be a positive integer; got 0"),
        (dict(ranks=2.5), TypeError, r"ranks must be an int, a list of ints or None"),
        (dict(ranks=None), ValueError, r"give ranks .* or eps; got neither"),
        (dict(ranks=4, eps=0.1), ValueError, r"give either ranks or eps, not both"),
        (dict(ranks=None, eps=2.0), ValueError, r"eps must be a number in \(0, 1\); got 2.0"),
        (dict(ranks=4, t=[2, 4]), ValueError, r"fits a uniform t only; got t=\[2, 4\]"),
        (dict(ranks=4, t=[2]), ValueError, r"one entry per interior core \(2\); got 1"),
        (dict(ranks=4, t="2"), TypeError, r"t must be a positive int or a list"),
        (dict(ranks=4, t=0), ValueError, r"t must be a positive integer; got 0"),
        (dict(ranks=4, side="up"), ValueError, r"side must be 'left' or 'right'"),
        (dict(ranks=4, method="hosvd"), ValueError, r"method must be 'als' or 'svd'"),
        (dict(ranks=4, init="zeros"), ValueError, r"init must be 'svd', 'random' or an STTTensor"),
        (dict(ranks=4, method="svd", init="random"), ValueError, r"method='svd' is the SVD sweep"),
        (dict(ranks=4, tol=-1.0), ValueError, r"tol must be a non-negative number"),
        (dict(ranks=4, n_iter_max=0), ValueError, r"n_iter_max must be a positive integer"),
        (dict(ranks=4, n_restarts=0), ValueError, r"n_restarts must be a positive integer"),
        (dict(ranks=4, callback=3), TypeError, r"callback must be callable or None"),
        (dict(ranks=4, random_state="x"), TypeError, r"random_state must be None, an int"),
    ],
)
def test_decompose_errors(kwargs, err, match):
    kwargs = dict(kwargs)
    tensor = kwargs.pop("tensor", np.ones((3, 4, 4, 3)))
    with pytest.raises(err, match=match):
        stt_decompose(tensor, **kwargs)


def test_decompose_init_mismatch():
    x = random_stt_tensor((4, 5, 5, 4), 4, 2, 8)
    other = stt_decompose(x, 8, 2, method="svd")
    with pytest.raises(ValueError, match=r"init must match the fit"):
        stt_decompose(x, 4, 2, init=other)


def test_zero_tensor():
    fit = stt_decompose(np.zeros((3, 4, 3)), 2, 2)
    assert fit.info.stop_reason == "exact"
    assert np.all(fit.to_tensor() == 0)
