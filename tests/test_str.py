"""Semi-tensor ring (SPEC §4): format, equivalences, fitting."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semitensor.formats.str import STRTensor, str_to_tensor
from tests.conftest import BACKENDS, to_backend, to_np

try:
    import torch
except ImportError:
    torch = None

SIDES = ["left", "right"]


def lift(G, t, side):
    return np.kron(G, np.eye(t)) if side == "left" else np.kron(np.eye(t), G)


def slow_str(cores, ts, side):
    """The definition, entry by entry, with explicit Kronecker factors (the oracle)."""
    shape = [g.shape[1] for g in cores]
    out = np.zeros(shape)
    for idx in np.ndindex(*shape):
        P = cores[0][:, idx[0], :]
        for k in range(1, len(cores)):
            P = P @ lift(cores[k][:, idx[k], :], ts[k - 1], side)
        out[idx] = np.trace(P)
    return out


@st.composite
def str_cores(draw, uniform=False):
    n = draw(st.integers(2, 4))
    t_uniform = draw(st.integers(1, 3))
    ts = [t_uniform if uniform else draw(st.integers(1, 3)) for _ in range(n - 1)]
    sizes = [draw(st.integers(1, 3)) for _ in range(n)]
    # Core k >= 1 is (R_k/t_k, I, R_{k+1}/t_k): each bond is a multiple of the t of
    # both cores it joins (R_0 closes the ring through the last core).
    r0 = ts[-1] * draw(st.integers(1, 2))
    ranks = [r0, ts[0] * draw(st.integers(1, 2))]
    ranks += [math.lcm(ts[k - 1], ts[k - 2]) * draw(st.integers(1, 2)) for k in range(2, n)]
    shapes = [(r0, sizes[0], ranks[1])]
    for k in range(1, n):
        nxt = ranks[k + 1] if k + 1 < n else r0
        shapes.append((ranks[k] // ts[k - 1], sizes[k], nxt // ts[k - 1]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes], ts


@settings(max_examples=40, deadline=None)
@given(data=str_cores(), side=st.sampled_from(SIDES), backend=st.sampled_from(BACKENDS))
def test_to_tensor_entries_norm_match_definition(data, side, backend):
    cores, ts = data
    x = STRTensor([to_backend(c, backend) for c in cores], ts, side)
    want = slow_str(cores, ts, side)
    np.testing.assert_allclose(to_np(x.to_tensor()), want, atol=1e-10)
    idx = np.array(list(np.ndindex(*x.shape)))
    np.testing.assert_allclose(to_np(x.entries(to_backend(idx, backend))), want.ravel(), atol=1e-10)
    assert float(to_np(x.norm())) == pytest.approx(np.linalg.norm(want), rel=1e-9, abs=1e-12)
    assert x.n_params == sum(c.size for c in cores)


@settings(max_examples=40, deadline=None)
@given(data=str_cores(uniform=True), side=st.sampled_from(SIDES))
def test_compact_and_to_tr_are_exact_and_smaller(data, side):
    cores, ts = data
    x = STRTensor(cores, ts[0], side)
    want = slow_str(cores, ts, side)
    c = x.compact()
    assert c.t == (1,) * (len(cores) - 1)
    assert c.ranks == tuple(r // ts[0] for r in x.ranks)
    np.testing.assert_allclose(c.to_tensor(), want, atol=1e-10)
    np.testing.assert_allclose(x.to_tr().to_tensor(), want, atol=1e-10)
    r0, i1, r1 = cores[0].shape
    assert x.n_params - c.n_params == r0 * i1 * r1 - (r0 // ts[0]) * i1 * (r1 // ts[0])


def test_parameter_count_formula():
    rng = np.random.default_rng(0)
    shapes, t = [(4, 3, 6), (3, 5, 2), (2, 7, 2)], 2
    x = STRTensor([rng.standard_normal(s) for s in shapes], t)
    R = x.ranks + (x.ranks[0],)
    formula = R[0] * 3 * R[1] + sum(R[k] * size * R[k + 1] // t**2 for k, size in [(1, 5), (2, 7)])
    assert x.n_params == formula
    assert x.compression_ratio == pytest.approx(math.prod(x.shape) / formula)


def test_t1_agrees_with_tensorly_tensor_ring():
    from tensorly.tr_tensor import tr_to_tensor

    rng = np.random.default_rng(1)
    cores = [rng.standard_normal(s) for s in [(2, 3, 3), (3, 4, 2), (2, 2, 2)]]
    np.testing.assert_allclose(str_to_tensor(cores, 1), tr_to_tensor(cores), atol=1e-12)


def test_getitem():
    rng = np.random.default_rng(2)
    x = STRTensor([rng.standard_normal(s) for s in [(4, 3, 4), (2, 2, 2), (2, 3, 2)]], 2)
    assert float(x[2, 1, -1]) == pytest.approx(x.to_tensor()[2, 1, 2])
    with pytest.raises(IndexError, match="indexed by 3 integers"):
        x[0, 1]


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_torch_autograd_through_to_tensor():
    rng = np.random.default_rng(3)
    shapes = [(2, 2, 2), (1, 3, 2), (2, 2, 1)]
    cores = [torch.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert torch.autograd.gradcheck(lambda *c: STRTensor(list(c), 2).to_tensor(), cores)


def test_cores_list_not_modified():
    rng = np.random.default_rng(4)
    cores = [rng.standard_normal(s) for s in [(4, 3, 4), (2, 2, 2), (2, 3, 2)]]
    copies = [c.copy() for c in cores]
    x = STRTensor(cores, 2)
    x.to_tensor(), x.norm(), x.compact()
    for c, d in zip(cores, copies):
        np.testing.assert_array_equal(c, d)


# --- bad input ------------------------------------------------------------------


def test_errors_name_core_and_sizes():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="at least 2 cores; got 1"):
        STRTensor([rng.standard_normal((2, 3, 2))], 1)
    with pytest.raises(TypeError, match="list or tuple"):
        STRTensor(rng.standard_normal((2, 3, 2)), 1)
    with pytest.raises(ValueError, match=r"cores\[1\] must be 3-d"):
        STRTensor([rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 2))], 1)
    with pytest.raises(
        ValueError, match=r"cores\[1\] has shape \(3, 2, 2\): its first size must be R_1/t = 4/2"
    ):
        STRTensor([rng.standard_normal((4, 3, 4)), rng.standard_normal((3, 2, 2))], 2)
    with pytest.raises(ValueError, match=r"t = 3 does not divide 4"):
        STRTensor([rng.standard_normal((4, 3, 4)), rng.standard_normal((1, 2, 2))], 3)
    with pytest.raises(ValueError, match=r"must close the ring at R_0 = 4"):
        STRTensor([rng.standard_normal((4, 3, 4)), rng.standard_normal((2, 2, 3))], 2)
    with pytest.raises(ValueError, match="needs the same t for every core"):
        STRTensor(
            [rng.standard_normal(s) for s in [(2, 2, 4), (2, 2, 2), (4, 2, 2)]], [2, 1]
        ).compact()
    x = STRTensor([rng.standard_normal(s) for s in [(4, 3, 4), (2, 2, 2), (2, 3, 2)]], 2)
    with pytest.raises(ValueError, match=r"indices\[1\] = \(0, 5, 0\) is out of range"):
        x.entries(np.array([[0, 0, 0], [0, 5, 0]]))
    with pytest.raises(TypeError, match="indices must be integers"):
        x.entries(np.zeros((1, 3)))


# --- fitting ----------------------------------------------------------------------

from semitensor.decomposition.str import str_decompose  # noqa: E402
from semitensor.exceptions import ConvergenceWarning  # noqa: E402

EXACT_SHAPES = [(8, 6, 8), (4, 8, 4), (4, 8, 4), (4, 6, 4)]  # 6×8×8×6, t=2, R=8


def exact_str(seed, side="left"):
    rng = np.random.default_rng(seed)
    return STRTensor([rng.standard_normal(s) for s in EXACT_SHAPES], 2, side).to_tensor()


def rel_err(fit, x):
    return float(np.linalg.norm(to_np(fit.to_tensor()) - to_np(x)) / np.linalg.norm(to_np(x)))


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_recovery(seed, side):
    x = exact_str(seed, side)
    fit = str_decompose(x, 8, 2, side=side, random_state=seed)
    assert fit.ranks == (8, 8, 8, 8) and fit.t == (2, 2, 2)
    assert rel_err(fit, x) < 1e-8
    assert fit.info.rel_error == pytest.approx(rel_err(fit, x), rel=1e-3, abs=1e-12)


@pytest.mark.slow
def test_exact_recovery_19_of_20_seeds():
    hits = sum(
        rel_err(str_decompose(exact_str(s), 8, 2, random_state=s), exact_str(s)) < 1e-8
        for s in range(20)
    )
    assert hits >= 19


def test_fit_reconstructs_its_own_ring_and_compact_is_exact():
    x = exact_str(5)
    fit = str_decompose(x, 8, 2, random_state=0)
    np.testing.assert_allclose(fit.compact().to_tensor(), fit.to_tensor(), atol=1e-12)
    np.testing.assert_allclose(fit.to_tr().to_tensor(), fit.to_tensor(), atol=1e-12)
    # the embedding is the minimum-norm one: t equal diagonal blocks
    g1 = fit.cores[0]
    np.testing.assert_allclose(g1[0::2, :, 0::2], g1[1::2, :, 1::2])
    np.testing.assert_array_equal(g1[0::2, :, 1::2], 0)


def test_errors_never_increase_over_als_sweeps():
    x = np.random.default_rng(0).random((6, 7, 8, 5))
    fit = str_decompose(x, 4, 2, random_state=0, n_iter_max=30)
    errs = np.array(fit.info.errors)
    # the two-core warm-up may move the error either way; one-core sweeps may not
    tail = errs[-20:]
    assert np.all(np.diff(tail) <= 1e-12 * tail[:-1] + 1e-15)


def test_t1_no_worse_than_tensorly_tr_svd():
    from tensorly.decomposition import tensor_ring

    for seed in range(3):
        x = np.random.default_rng(seed).random((6, 7, 8, 5))
        ours = str_decompose(x, [2, 3, 3, 3], 1, random_state=seed).info.rel_error
        tr = tensor_ring(x, [2, 3, 3, 3, 2])
        assert ours <= np.linalg.norm(tr.to_tensor() - x) / np.linalg.norm(x) * (1 + 1e-6)


def test_t1_no_worse_than_tensorly_tr_als_on_average():
    # A ring of ranks (2,3,3,3) plus 1% noise, the same sweep budget for both. (On
    # pure noise both land in different local minima of equal quality; see the
    # benchmarks page for those numbers.)
    from tensorly.decomposition import tensor_ring_als

    ours, theirs = [], []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        shapes = [(2, 6, 3), (3, 7, 3), (3, 8, 3), (3, 5, 2)]
        x = STRTensor([rng.standard_normal(s) for s in shapes], 1).to_tensor()
        x = x + 0.01 * np.linalg.norm(x) / np.sqrt(x.size) * rng.standard_normal(x.shape)
        ours.append(str_decompose(x, [2, 3, 3, 3], 1, random_state=seed).info.rel_error)
        tra = tensor_ring_als(
            x, [2, 3, 3, 3, 2], n_iter_max=100, random_state=seed, ls_solve="normal_eq"
        )
        theirs.append(np.linalg.norm(tra.to_tensor() - x) / np.linalg.norm(x))
    assert np.mean(ours) <= np.mean(theirs) * (1 + 1e-6)


@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_input_gives_torch_result(dtype):
    x = torch.tensor(exact_str(0), dtype=getattr(torch, dtype))
    x0 = x.clone()
    fit = str_decompose(x, 8, 2, random_state=0)
    assert all(isinstance(g, torch.Tensor) and g.dtype == x.dtype for g in fit.cores)
    assert rel_err(fit, x) < (1e-5 if dtype == "float32" else 1e-8)
    assert torch.equal(x, x0)


def test_reproducible_and_input_untouched():
    x = np.random.default_rng(1).random((5, 6, 7))
    x0 = x.copy()
    a = str_decompose(x, 4, 2, init="random", random_state=3, n_iter_max=10)
    b = str_decompose(x, 4, 2, init="random", random_state=3, n_iter_max=10)
    np.testing.assert_array_equal(a.to_tensor(), b.to_tensor())
    np.testing.assert_array_equal(x, x0)


def test_init_callback_restarts_svd_method():
    x = exact_str(3)
    start = str_decompose(x, 8, 2, method="svd")
    assert start.info.n_iter == 0
    calls = []
    fit = str_decompose(
        x, 8, 2, init=start, callback=lambda i, d, e: calls.append((i, e)) or i >= 2
    )
    assert fit.info.stop_reason == "callback" and calls[-1][0] == 2
    assert isinstance(fit, STRTensor)
    best = str_decompose(x, 8, 2, n_restarts=2, random_state=0)
    assert best.info.rel_error < 1e-8


def test_eps_chooses_ranks():
    x = exact_str(4)
    fit = str_decompose(x, None, 2, eps=1e-6, random_state=0)
    assert fit.info.rel_error <= 1e-6
    assert fit.info.ranks_used == fit.ranks
    with pytest.warns(ConvergenceWarning, match="did not reach eps"):
        str_decompose(np.random.default_rng(0).random((4, 4, 4)), None, 2, eps=1e-3, n_iter_max=5)


def test_fit_refusals():
    x = np.random.default_rng(0).random((4, 4, 4))
    with pytest.raises(ValueError, match="contains NaN or Inf"):
        str_decompose(np.full((2, 2, 2), np.nan), 2, 2)
    with pytest.raises(ValueError, match="order at least 2"):
        str_decompose(np.ones(4), 2, 2)
    with pytest.raises(ValueError, match=r"ranks\[1\] must be a positive multiple of t=2; got 3"):
        str_decompose(x, [2, 3, 2], 2)
    with pytest.raises(ValueError, match="list of N = 3 bond sizes"):
        str_decompose(x, [2, 2], 2)
    with pytest.raises(ValueError, match="fits a uniform t only"):
        str_decompose(x, 4, [2, 1])
    with pytest.raises(ValueError, match="give ranks .* or eps; got neither"):
        str_decompose(x, None, 2)
    with pytest.raises(ValueError, match="not both"):
        str_decompose(x, 2, 2, eps=0.1)
    with pytest.raises(ValueError, match="method must be 'als' or 'svd'"):
        str_decompose(x, 2, 2, method="dmrg")
    with pytest.raises(ValueError, match="init must be 'svd', 'random' or an STRTensor"):
        str_decompose(x, 2, 2, init="ones")
    with pytest.raises(ValueError, match="init must match the fit"):
        str_decompose(x, 4, 2, init=str_decompose(x, 2, 2))
    with pytest.raises(ValueError, match="give ranks instead of eps"):
        str_decompose(x, None, 2, eps=0.1, init=str_decompose(x, 2, 2))
    with pytest.raises(TypeError, match="callback must be callable"):
        str_decompose(x, 2, 2, callback=3)
