"""sttu_decompose: structured HOSVD/HOOI, eps ranks, backends, errors."""

import logging
import math
import warnings

import numpy as np
import pytest

from semitensor.decomposition.sttu import sttu_decompose
from semitensor.exceptions import ConvergenceWarning
from semitensor.formats.sttu import STTuTensor
from tests.conftest import BACKENDS, to_backend, to_np
from tests.oracles import kron_factor, kron_to_tensor, random_format, rel_err, z_matrix

try:
    import torch
except ImportError:
    torch = None

SIDES = ["left", "right"]


# --- fitting ----------------------------------------------------------------------


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("method", ["hosvd", "hooi"])
def test_exact_recovery_of_structured_tensor(backend, side, method):
    rng = np.random.default_rng(10)
    truth = random_format(rng, (4, 3, 5, 2), (2, 2, 1, 2), [2, 3, 2, 1], side, backend)
    x = truth.to_tensor()
    dec = sttu_decompose(x, list(truth.ranks), [2, 3, 2, 1], side=side, method=method)
    assert type(dec.core) is type(x)
    assert dec.core.dtype == x.dtype
    assert dec.shape == truth.shape and dec.ranks == truth.ranks and dec.side == side
    assert rel_err(dec.to_tensor(), x) < 1e-10
    assert dec.info.errors[-1] < 1e-10
    assert dec.info.converged
    assert dec.info.stop_reason == ("closed_form" if method == "hosvd" else "exact")
    for u in dec.factors:  # orthonormal factors
        u = to_np(u)
        np.testing.assert_allclose(u.T @ u, np.eye(u.shape[1]), atol=1e-10)


def test_hosvd_is_leading_subspace_of_z():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((6, 4, 9))
    ts, ranks = [2, 2, 3], [4, 2, 6]
    for side in ("left", "right"):
        dec = sttu_decompose(x, ranks, ts, side=side, method="hosvd")
        for n, u in enumerate(dec.factors):
            z = z_matrix(x, n, ts[n], side)
            w = np.linalg.svd(z)[0][:, : ranks[n] // ts[n]]
            np.testing.assert_allclose(u @ u.T, w @ w.T, atol=1e-8)
        # the core is X projected by the structured factors: X ×_n (U_n ⊗ I)ᵀ
        core = kron_to_tensor(x, [kron_factor(u, tn, side).T for u, tn in zip(dec.factors, ts)], 1)
        np.testing.assert_allclose(dec.core, core, atol=1e-10)


def _low_rank_plus_noise(rng, shape, ranks, noise):
    core = rng.standard_normal(ranks)
    factors = [np.linalg.qr(rng.standard_normal((i, r)))[0] for i, r in zip(shape, ranks)]
    x = kron_to_tensor(core, factors, 1)
    return x + noise * np.linalg.norm(x) / math.sqrt(x.size) * rng.standard_normal(shape)


def test_t1_error_no_worse_than_tensorly():
    from tensorly.decomposition import tucker
    from tensorly.tucker_tensor import tucker_to_tensor

    rng = np.random.default_rng(12)
    for shape, ranks in [((10, 12, 8), (3, 4, 2)), ((8, 8, 8, 8), (4, 3, 3, 2))]:
        x = _low_rank_plus_noise(rng, shape, ranks, 0.3)
        ours = sttu_decompose(x, list(ranks), 1)
        ref = tucker(x, list(ranks), tol=1e-10, n_iter_max=200)
        assert rel_err(ours.to_tensor(), x) <= rel_err(tucker_to_tensor(ref), x) + 1e-6
        assert ours.info.errors[-1] == pytest.approx(rel_err(ours.to_tensor(), x), rel=1e-8)


def test_hooi_history_and_monotone_error():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((8, 6, 10))
    with pytest.warns(ConvergenceWarning):
        dec = sttu_decompose(x, [4, 2, 4], 2, tol=1e-12, n_iter_max=50)
    info = dec.info
    assert info.method == "hooi"
    assert len(info.errors) == info.n_iter + 1
    assert np.all(np.diff(info.errors) <= 1e-12)
    assert info.errors[-1] == pytest.approx(rel_err(dec.to_tensor(), x), rel=1e-8)
    hosvd = sttu_decompose(x, [4, 2, 4], 2, method="hosvd")
    assert hosvd.info.n_iter == 0 and hosvd.info.errors[0] == pytest.approx(info.errors[0])


def test_eps_chooses_smallest_ranks_within_bound():
    rng = np.random.default_rng(14)
    x = _low_rank_plus_noise(rng, (8, 12, 6), (4, 6, 2), 0.05)
    for eps, side in [(0.2, "left"), (0.02, "right"), (1e-9, "left")]:
        ts = [2, 3, 2]
        dec = sttu_decompose(x, None, ts, side=side, eps=eps, method="hosvd")
        assert dec.info.ranks_used == dec.ranks
        assert rel_err(dec.to_tensor(), x) <= eps
        # Mode n may discard its share of what is left of eps²‖X‖² (a third for the
        # first mode, then what the modes before it left unused, split evenly).
        left = eps**2 * np.linalg.norm(x) ** 2
        for n, (r, tn) in enumerate(zip(dec.ranks, ts)):
            assert r % tn == 0
            budget = left / (3 - n)
            sq = np.linalg.svd(z_matrix(x, n, tn, side), compute_uv=False) ** 2
            k = r // tn
            assert sq[k:].sum() <= budget * (1 + 1e-9)
            if k > 1:  # one fewer singular vector would break the mode's budget
                assert sq[k - 1 :].sum() > budget
            left -= sq[k:].sum()
    hooi = sttu_decompose(x, None, ts, eps=0.2)
    assert hooi.info.errors[-1] <= 0.2


def test_eps_recovers_exact_ranks():
    rng = np.random.default_rng(15)
    truth = random_format(rng, (4, 5, 3), (2, 3, 1), 2)
    dec = sttu_decompose(truth.to_tensor(), None, 2, eps=1e-8)
    assert dec.ranks == truth.ranks
    assert dec.info.errors[-1] < 1e-10


def test_gram_falls_back_to_svd_for_tiny_singular_values():
    rng = np.random.default_rng(16)
    u = np.linalg.qr(rng.standard_normal((8, 2)))[0]
    v = np.linalg.qr(rng.standard_normal((40, 2)))[0]
    x = (u * [1.0, 1e-7]) @ v.T  # σ_2/σ_1 = 1e-7: below what the Gram route resolves
    dec = sttu_decompose(x, [2, 2], 1, method="hosvd")
    assert rel_err(dec.to_tensor(), x) < 1e-13
    np.testing.assert_allclose(dec.factors[0] @ dec.factors[0].T, u @ u.T, atol=1e-9)


def test_ranks_beyond_numerical_rank_stay_exact():
    rng = np.random.default_rng(17)
    truth = random_format(rng, (4, 4, 4), (1, 2, 1), 2)
    dec = sttu_decompose(truth.to_tensor(), [6, 6, 4], 2)
    assert rel_err(dec.to_tensor(), truth.to_tensor()) < 1e-10
    for f in dec.factors:
        np.testing.assert_allclose(f.T @ f, np.eye(f.shape[1]), atol=1e-10)


def test_callback_receives_state_and_can_stop():
    rng = np.random.default_rng(18)
    x = rng.standard_normal((6, 8, 4))
    seen = []

    def callback(iteration, decomposition, rel_error):
        seen.append((iteration, decomposition.ranks, rel_error))
        assert isinstance(decomposition, STTuTensor)
        return iteration == 2

    dec = sttu_decompose(x, [2, 4, 2], 2, tol=0.0, callback=callback)
    assert [s[0] for s in seen] == [0, 1, 2]
    assert dec.info.stop_reason == "callback" and not dec.info.converged
    assert dec.info.n_iter == 2
    assert [s[2] for s in seen] == dec.info.errors
    stopped = sttu_decompose(x, [2, 4, 2], 2, callback=lambda *a: True)
    assert stopped.info.stop_reason == "callback" and stopped.info.n_iter == 0


def test_missed_tolerance_warns():
    rng = np.random.default_rng(19)
    x = rng.standard_normal((6, 8, 4))
    with pytest.warns(
        ConvergenceWarning,
        match=r"stopped after n_iter_max=2 sweeps before the relative error settled within tol=0.0",
    ):
        dec = sttu_decompose(x, [2, 4, 2], 2, tol=0.0, n_iter_max=2)
    assert dec.info.stop_reason == "n_iter_max" and not dec.info.converged
    assert dec.info.n_iter == 2


def test_verbose_logs_each_sweep(caplog):
    rng = np.random.default_rng(20)
    x = rng.standard_normal((6, 8, 4))
    with caplog.at_level(logging.INFO, logger="semitensor"), pytest.warns(ConvergenceWarning):
        dec = sttu_decompose(x, [2, 4, 2], 2, verbose=True, n_iter_max=3, tol=1e-30)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("semitensor")]
    assert len(messages) >= dec.info.n_iter + 1
    assert messages[1].startswith("sttu hooi sweep 1: rel_error=")


def test_input_and_arguments_not_modified(backend):
    rng = np.random.default_rng(21)
    x = to_backend(rng.standard_normal((6, 4, 8)), backend)
    before = to_np(x).copy()
    ranks = [2, 4, 4]
    dec = sttu_decompose(x, ranks, [2, 2, 4])
    np.testing.assert_array_equal(to_np(x), before)
    assert ranks == [2, 4, 4]
    assert rel_err(dec.to_tensor(), x) < 1.0


def test_torch_float32_and_integer_input():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(22)
    truth = random_format(rng, (3, 4, 2), (2, 1, 2), 2)
    x = torch.as_tensor(truth.to_tensor(), dtype=torch.float32)
    dec = sttu_decompose(x, list(truth.ranks), 2)
    assert isinstance(dec.core, torch.Tensor) and dec.core.dtype == torch.float32
    assert all(f.dtype == torch.float32 for f in dec.factors)
    assert rel_err(dec.to_tensor(), x) < 1e-5
    ints = sttu_decompose(np.arange(24).reshape(4, 6), [2, 2], 2)
    assert ints.core.dtype == np.float64


def test_random_state_is_validated_and_result_deterministic():
    x = np.random.default_rng(23).standard_normal((4, 6, 4))
    a = sttu_decompose(x, 2, 2, random_state=0)
    b = sttu_decompose(x, 2, 2, random_state=np.random.default_rng(5))
    np.testing.assert_allclose(a.to_tensor(), b.to_tensor(), atol=1e-12)
    with pytest.raises(TypeError, match="random_state must be None, an int"):
        sttu_decompose(x, 2, 2, random_state="seed")


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            dict(ranks=[2, 2, 8]),
            ValueError,
            r"ranks\[2\] must be a positive multiple of t\[2\]=2 no larger than the mode size "
            r"I_2=4; got 8",
        ),
        (
            dict(ranks=[2, 3, 2]),
            ValueError,
            r"ranks\[1\] must be a positive multiple of t\[1\]=2 .*got 3",
        ),
        (
            dict(ranks=[2, 2]),
            ValueError,
            r"ranks must be an int or a list of 3 \(one per mode\); got 2",
        ),
        (dict(ranks=[2, 0, 2]), ValueError, r"ranks\[1\] must be a positive integer; got 0"),
        (dict(ranks=[2, 2.0, 2]), TypeError, r"ranks\[1\] must be a positive integer; got 2.0"),
        (
            dict(ranks="2"),
            TypeError,
            r"ranks must be an int, a list of ints or None; got '2' of type str",
        ),
        (
            dict(ranks=2, t=4),
            ValueError,
            r"t\[1\]=4 does not divide the size of mode 1 \(I_1=6\); tensor shape \(4, 6, 4\)",
        ),
        (
            dict(ranks=2, t=[2, 2]),
            ValueError,
            r"t must be an int or have one entry per mode \(3\); got 2",
        ),
    ],
)
def test_decompose_argument_errors(kwargs, exc, match):
    x = np.ones((4, 6, 4))
    kwargs = dict(kwargs)
    ranks = kwargs.pop("ranks")
    t = kwargs.pop("t", 2)
    with pytest.raises(exc, match=match):
        sttu_decompose(x, ranks, t, **kwargs)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_decompose_refuses_non_finite(backend, bad):
    x = np.ones((4, 4))
    x[1, 2] = bad
    with pytest.raises(
        ValueError, match="tensor contains NaN or Inf; decompositions need finite input"
    ):
        sttu_decompose(to_backend(x, backend), 2, 2)


def test_decompose_refuses_complex_and_scalar():
    with pytest.raises(TypeError, match="tensor must be real; got dtype complex128"):
        sttu_decompose(np.ones((2, 2), dtype=complex), 2, 2)
    with pytest.raises(ValueError, match="tensor must have order at least 1; got a 0-d array"):
        sttu_decompose(np.float64(1.0), 1, 1)


def _reference_hooi(x, ranks, ts, side, n_sweeps):
    """HOOI by the definition (Kronecker factors, full projections), in the library's
    sweep orders: 0..N-1, then alternating direction without repeating the turn mode."""
    n_modes = x.ndim
    factors = []
    for n in range(n_modes):
        factors.append(np.linalg.svd(z_matrix(x, n, ts[n], side))[0][:, : ranks[n] // ts[n]])
    errors = []

    def project(skip):
        mats = [
            np.eye(x.shape[m]) if m == skip else kron_factor(factors[m], ts[m], side).T
            for m in range(n_modes)
        ]
        return kron_to_tensor(x, mats, 1)

    def error():
        core = project(None)
        full = kron_to_tensor(core, [kron_factor(f, tn, side) for f, tn in zip(factors, ts)], 1)
        return rel_err(full, x)

    errors.append(error())
    order = list(range(n_modes))
    for sweep in range(n_sweeps):
        for n in order if sweep == 0 else order[1:]:
            z = z_matrix(project(n), n, ts[n], side)
            factors[n] = np.linalg.svd(z)[0][:, : ranks[n] // ts[n]]
        order = order[::-1]
        errors.append(error())
    return errors


@pytest.mark.parametrize("side", ["left", "right"])
def test_hooi_sweeps_match_the_definition(side):
    rng = np.random.default_rng(24)
    x = rng.standard_normal((4, 6, 8, 4))
    ranks, ts = [2, 3, 4, 2], [2, 3, 2, 1]
    with pytest.warns(ConvergenceWarning):
        dec = sttu_decompose(x, ranks, ts, side=side, tol=0.0, n_iter_max=4)
    np.testing.assert_allclose(dec.info.errors, _reference_hooi(x, ranks, ts, side, 4), rtol=1e-9)


@pytest.mark.slow
def test_t1_faster_than_tensorly_with_no_worse_error():
    import time

    from tensorly.decomposition import tucker
    from tensorly.tucker_tensor import tucker_to_tensor

    x = _low_rank_plus_noise(np.random.default_rng(25), (16,) * 5, (6,) * 5, 0.5)

    def best(fn):
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return min(times), out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours_s, ours = best(lambda: sttu_decompose(x, 6, 1, tol=1e-8))
        ref_s, ref = best(lambda: tucker(x, [6] * 5, tol=1e-8))
    assert rel_err(ours.to_tensor(), x) <= rel_err(tucker_to_tensor(ref), x) + 1e-6
    assert ours_s * 2 <= ref_s


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("precision", ["half", "single"])
def test_sttu_low_precision_fits_in_float64_and_casts_back(backend, precision, monkeypatch):
    from semitensor.decomposition import sttu as sttu_module

    seen = []
    fit_inner = sttu_module._fit
    monkeypatch.setattr(
        sttu_module, "_fit", lambda prob, *a: seen.append(prob.x.dtype) or fit_inner(prob, *a)
    )
    x = np.random.default_rng(4).standard_normal((4, 6, 4))
    if backend == "numpy":
        low = np.float16 if precision == "half" else np.float32
        xl, wide = x.astype(low), np.float64
    else:
        low = torch.bfloat16 if precision == "half" else torch.float32
        xl, wide = torch.tensor(x, dtype=low), torch.float64
    fit = sttu_decompose(xl, 2, method="hosvd")
    assert seen == [wide]
    assert fit.core.dtype == low and all(u.dtype == low for u in fit.factors)


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_sttu_result_is_detached_from_the_input_graph():
    x = torch.tensor(np.random.default_rng(5).standard_normal((4, 6, 4)), requires_grad=True)
    fit = sttu_decompose(x, 2, method="hosvd")
    assert not fit.core.requires_grad
    assert not any(u.requires_grad for u in fit.factors)
