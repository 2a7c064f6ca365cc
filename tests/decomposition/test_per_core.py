"""STT/STR fits with a t per core: the structured ring engine against its definitions."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from semitensor.decomposition._ring_als import Ring, Sweeper, _block_gram
from semitensor.decomposition._starts import random_ring
from semitensor.decomposition._structured import (
    StructuredRing,
    StructuredSweeper,
    _project_rhs,
    _projected_gram,
    structured_to_tensor,
    structured_tr_svd,
)
from semitensor.decomposition.str import str_decompose
from semitensor.decomposition.stt import stt_decompose
from semitensor.exceptions import ConvergenceWarning
from semitensor.formats.chain import stt_to_ring
from semitensor.formats.str import STRTensor
from semitensor.formats.stt import STTTensor
from tests.conftest import BACKENDS, to_backend, to_np
from tests.oracles import kron_factor, rel_err

SIDES = ["left", "right"]


@st.composite
def structured(draw, train=False, t_max=3, size_min=1):
    """``(shape, full bonds, ts)`` of a small structured ring (``ts[0] == 1``)."""
    n = draw(st.integers(3, 4))
    ts = [1] + [draw(st.integers(1, t_max)) for _ in range(n - 1)]
    if train:
        ts[-1] = 1
    shape = tuple(draw(st.integers(size_min, 4)) for _ in range(n))
    ranks = [1 if train else ts[-1] * draw(st.integers(1, 2))]
    ranks += [math.lcm(ts[k - 1], ts[k]) * draw(st.integers(1, 2)) for k in range(1, n)]
    ranks.append(ranks[0])
    return shape, ranks, tuple(ts), draw(st.integers(0, 2**32 - 1))


def _kron_ring(cores, ts, side):
    """Every entry as tr(H_1(i_1) ⋯ H_N(i_N)) with H_k = G_k ⊗ I_{t_k}, through np.kron."""
    shape = [g.shape[1] for g in cores]
    out = np.zeros(shape)
    for idx in np.ndindex(*shape):
        p = np.eye(cores[0].shape[0])
        for g, t, i in zip(cores, ts, idx):
            p = p @ kron_factor(g[:, i, :], t, side)
        out[idx] = np.trace(p)
    return out


def _s_matrix(p, q, t, side):
    """``S``: the matrix of ``g ↦ g ⊗ I_t`` on one slice, ``(p·t·q·t) × (p·q)``."""
    cols = []
    for j in range(p * q):
        e = np.zeros(p * q)
        e[j] = 1.0
        cols.append(kron_factor(e.reshape(p, q), t, side).ravel())
    return np.stack(cols, axis=1)


@settings(max_examples=30, deadline=None)
@given(data=structured(), side=st.sampled_from(SIDES), backend=st.sampled_from(BACKENDS))
def test_structured_tensor_is_the_kronecker_ring(data, side, backend):
    shape, ranks, ts, seed = data
    cores = random_ring(shape, ranks, np.random.default_rng(seed), ts=ts)
    got = structured_to_tensor([to_backend(c, backend) for c in cores], ts, side)
    np.testing.assert_allclose(to_np(got), _kron_ring(cores, ts, side), atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(
    p=st.integers(1, 3), q=st.integers(1, 3), t=st.integers(2, 3), x=st.integers(1, 2),
    size=st.integers(1, 3), side=st.sampled_from(SIDES), seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_projections_are_the_transpose_of_the_structure(p, q, t, x, size, side, seed):
    rng = np.random.default_rng(seed)
    r, rr = p * t, q * t
    s = _s_matrix(p, q, t, side)
    b = rng.standard_normal((r, size, rr))
    want = np.stack([(s.T @ b[:, i, :].ravel()).reshape(p, q) for i in range(size)], axis=1)
    np.testing.assert_allclose(_project_rhs(np, b, t, side), want, atol=1e-12)
    gl = rng.standard_normal((x, r, x, r))
    gr = rng.standard_normal((rr, x, rr, x))
    m = _block_gram(np, gl, gr)  # rows (a_k, a_e)
    np.testing.assert_allclose(_projected_gram(np, gl, gr, t, side), s.T @ m @ s, atol=1e-10)


def _brute_sweep(x, cores, ts, side):
    """One sweep of exact least-squares core updates with the design matrix formed.

    Returns the cores, or None when a least-squares problem has no unique solution
    (then the sweeps may pick different solutions and part ways).
    """
    cores = [c.copy() for c in cores]
    for k, core in enumerate(cores):
        size = core.size
        design = np.empty((x.size, size))
        for j in range(size):
            e = np.zeros(size)
            e[j] = 1.0
            trial = list(cores)
            trial[k] = e.reshape(core.shape)
            design[:, j] = structured_to_tensor(trial, ts, side).ravel()
        sv = np.linalg.svd(design, compute_uv=False)
        if sv.size < size or sv[-1] < 1e-3 * sv[0]:  # normal equations square it
            return None
        cores[k] = np.linalg.lstsq(design, x.ravel(), rcond=None)[0].reshape(core.shape)
    return cores


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    data=structured(t_max=2, size_min=3),
    side=st.sampled_from(SIDES),
    backend=st.sampled_from(BACKENDS),
)
def test_a_sweep_solves_each_core_exactly(data, side, backend):
    shape, ranks, ts, seed = data
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    start = random_ring(shape, ranks, rng, ts=ts)
    ring = StructuredRing(to_backend(x, backend), [to_backend(c, backend) for c in start], ts, side)
    want = _brute_sweep(x, start, ts, side)
    assume(want is not None)
    err = StructuredSweeper(ring).one_core_sweep()
    fit = structured_to_tensor(want, ts, side)
    np.testing.assert_allclose(to_np(ring.to_tensor(ring.cores)), fit, atol=1e-8)
    # The estimate is ‖X‖² − 2<X, X̂> + ‖X̂‖²: exact in the squared error up to rounding.
    assert err**2 == pytest.approx((np.linalg.norm(fit - x) / np.linalg.norm(x)) ** 2, abs=1e-12)


@pytest.mark.parametrize("side", SIDES)
def test_uniform_t_gives_the_iterates_of_the_ring_route(side):
    # One t for all: the structured train and the smaller ring solve the same problems.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6, 5, 4))
    ts = (1, 2, 2, 1)
    start = structured_tr_svd(x, [1, 4, 6, 4, 1], ts, side, np.random.default_rng(1))
    ring = StructuredRing(x, start, ts, side)
    plain = Ring(x, [np.ascontiguousarray(c) for c in stt_to_ring(start, 2, side)])
    a, b = StructuredSweeper(ring), Sweeper(plain)
    for _ in range(6):
        assert a.one_core_sweep() == pytest.approx(b.one_core_sweep(), rel=1e-9)
    np.testing.assert_allclose(ring.to_tensor(ring.cores), plain.to_tensor(plain.cores), atol=1e-9)


def test_tr_svd_with_t_one_everywhere_is_exact_on_a_train():
    rng = np.random.default_rng(2)
    cores = [rng.standard_normal(s) for s in [(1, 4, 3), (3, 5, 3), (3, 4, 1)]]
    x = structured_to_tensor(cores, (1, 1, 1), "left")
    start = structured_tr_svd(x, [1, 3, 3, 1], (1, 1, 1), "left", rng)
    assert rel_err(structured_to_tensor(start, (1, 1, 1), "left"), x) < 1e-12


def _stt_instance(shape, bonds, ts, seed):
    rng = np.random.default_rng(seed)
    b, tt = [1, *bonds, 1], [1, *ts, 1]
    shapes = [(b[k] // tt[k], shape[k], b[k + 1] // tt[k]) for k in range(len(shape))]
    return STTTensor([rng.standard_normal(s) for s in shapes], ts).to_tensor()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("side", SIDES)
def test_stt_per_core_fit(backend, side):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 6, 8, 5))
    before = x.copy()
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = stt_decompose(
            to_backend(x, backend), [4, 8, 4], t=[2, 4], side=side, random_state=0,
            n_iter_max=15, callback=lambda it, s, e: seen.append((it, type(s), e)) and False,
        )  # fmt: skip
    np.testing.assert_array_equal(x, before)
    assert isinstance(fit, STTTensor) and type(fit.cores[0]) is type(to_backend(x, backend))
    assert (fit.t, fit.ranks, fit.side) == ((2, 4), (4, 8, 4), side)
    assert fit.n_params == 5 * 4 + 2 * 6 * 4 + 2 * 8 * 1 + 4 * 5
    errors = np.array(fit.info.errors)
    assert np.all(np.diff(errors) <= 1e-12) and fit.info.two_core_sweeps == 0
    assert fit.info.rel_error == pytest.approx(rel_err(fit.to_tensor(), x), rel=1e-9)
    assert [s[0] for s in seen] == list(range(len(errors))) and seen[-1][1] is STTTensor
    if backend != "numpy":
        with pytest.warns(ConvergenceWarning, match="n_iter_max=15"):
            ref = stt_decompose(x, [4, 8, 4], t=[2, 4], side=side, random_state=0, n_iter_max=15)
        np.testing.assert_allclose(to_np(fit.to_tensor()), ref.to_tensor(), atol=1e-8)


def test_stt_per_core_recovers_an_exact_instance_with_restarts():
    x = _stt_instance((4, 5, 6, 5, 4), [4, 8, 8, 4], (2, 4, 2), seed=0)
    fit = stt_decompose(x, [4, 8, 8, 4], t=[2, 4, 2], n_restarts=5, random_state=1000)
    assert fit.info.rel_error < 1e-8 and fit.info.stop_reason == "exact"


def test_stt_per_core_svd_start_and_zero_tensor():
    x = _stt_instance((4, 5, 6, 4), [4, 4, 4], (2, 4), seed=1)
    fit = stt_decompose(x, [4, 4, 4], t=[2, 4], method="svd")
    assert fit.info.stop_reason == "closed_form"
    assert fit.info.rel_error == pytest.approx(rel_err(fit.to_tensor(), x), rel=1e-9)
    zero = stt_decompose(np.zeros((4, 5, 6, 4)), [4, 4, 4], t=[2, 4])
    assert zero.info.stop_reason == "exact" and not np.any(zero.to_tensor())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("side", SIDES)
def test_str_per_core_full_core_is_a_rotation(backend, side):
    # Full core on mode 1 of X = full core on mode 0 of X with its modes rotated.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 4, 6, 5))
    opts = dict(side=side, random_state=0, n_iter_max=8, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = str_decompose(to_backend(x, backend), [4, 4, 8, 8], t=[2, 4, 4], full_core=1, **opts)
        rot = str_decompose(
            np.transpose(x, (1, 2, 3, 0)), [4, 8, 8, 4], [4, 4, 2], full_core=0, **opts
        )
    assert isinstance(fit, STRTensor) and (fit.full_core, fit.t) == (1, (2, 4, 4))
    assert fit.ranks == (4, 4, 8, 8)
    np.testing.assert_allclose(fit.info.errors, rot.info.errors, rtol=1e-9)
    want = np.transpose(rot.to_tensor(), (3, 0, 1, 2))
    np.testing.assert_allclose(to_np(fit.to_tensor()), want, atol=1e-9)
    assert np.all(np.diff(fit.info.errors) <= 1e-12)


def test_str_per_mode_t_places_the_full_core_where_it_costs_least():
    x = np.random.default_rng(5).standard_normal((6, 8, 8, 6))
    fits = {
        m: str_decompose(x, [4, 4, 8, 8], t=[2, 2, 4, 4], full_core=m, method="svd")
        for m in ["auto", 0, 1]
    }
    assert fits["auto"].full_core == 0 and fits[1].full_core == 1
    assert fits["auto"].n_params == 4 * 6 * 4 + 4 * 8 * 8 // 4 + 8 * 8 * 8 // 16 + 8 * 6 * 4 // 16
    assert fits["auto"].n_params < fits[1].n_params
    assert fits[0].t == (2, 4, 4) and fits[1].t == (2, 4, 4)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: stt_decompose(x, 4, t=[2, 4], warmup=2), r"warmup=2"),
        (
            lambda x: stt_decompose(x, 4, t=[2, 4], mask=np.arange(x.size).reshape(x.shape) > 0),
            r"does not take mask",
        ),
        (lambda x: stt_decompose(x, [4, 6, 4], t=[2, 4]), r"ranks\[1\] = 6 .* lcm, 4"),
        (lambda x: str_decompose(x, 4, t=[2, 4, 2]), r"needs full_core given"),
        (lambda x: str_decompose(x, [4, 4, 6, 6], t=[2, 2, 4, 4]), r"suit no placement"),
    ],
)
def test_per_core_refusals(call, match):
    with pytest.raises(ValueError, match=match):
        call(np.random.default_rng(0).standard_normal((4, 4, 8, 4)))


def test_per_core_init_is_a_matching_stt():
    x = _stt_instance((4, 5, 6, 4), [4, 4, 4], (2, 4), seed=2)
    start = stt_decompose(x, [4, 4, 4], t=[2, 4], method="svd")
    with pytest.warns(ConvergenceWarning, match="n_iter_max=3"):
        fit = stt_decompose(x, [4, 4, 4], t=[2, 4], init=start, n_iter_max=3, tol=0.0)
    assert fit.info.errors[0] == pytest.approx(start.info.rel_error, rel=1e-9)
    with pytest.raises(ValueError, match="init must match"):
        stt_decompose(x, [4, 4, 4], t=[4, 2], init=start)


def test_stt_per_core_eps_search_grows_bonds_in_multiples_of_their_lcm():
    x = _stt_instance((4, 6, 8, 5), [4, 8, 4], (2, 4), seed=3)
    x = x + 1e-3 * np.random.default_rng(0).standard_normal(x.shape) * np.abs(x).max()
    fit = stt_decompose(x, None, t=[2, 4], eps=0.05, random_state=0)
    assert fit.info.rel_error <= 0.05 and fit.t == (2, 4)
    r1, r2, r3 = fit.ranks
    assert r1 % 2 == 0 and r2 % 4 == 0 and r3 % 4 == 0
    assert fit.info.ranks_used == fit.ranks
    with pytest.raises(ValueError, match="not both"):
        stt_decompose(x, 4, t=[2, 4], eps=0.05)


@pytest.mark.parametrize(("t", "full_core"), [([2, 2, 4, 4], "auto"), ([2, 4, 4], 1)])
def test_str_per_core_eps_search(t, full_core):
    grid = np.meshgrid(*[np.linspace(0, 1, s) for s in (5, 4, 6, 5)], indexing="ij")
    x = 1.0 / (1.0 + sum(grid))  # smooth: low rank to a good accuracy
    fit = str_decompose(x, None, t=t, full_core=full_core, eps=1e-3, random_state=0)
    assert fit.info.rel_error <= 1e-3 and fit.info.ranks_used == fit.ranks
    n = len(fit.ranks)
    by_mode = [1 if k == fit.full_core else None for k in range(n)]
    rest = iter(fit.t)
    by_mode = [b if b is not None else next(rest) for b in by_mode]
    for k, r in enumerate(fit.ranks):  # bond k joins cores k - 1 and k
        assert r % math.lcm(by_mode[k - 1], by_mode[k]) == 0
