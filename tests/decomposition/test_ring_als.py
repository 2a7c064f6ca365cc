"""The ring-ALS engine on numpy: sweeps, solves, starts and the driver."""

import numpy as np

from semitensor.decomposition._linalg import solve_spd
from semitensor.decomposition._prepare import check_settings
from semitensor.decomposition._ring_fit import fit_ring
from semitensor.decomposition._starts import random_ring, ring_to_tensor, tr_svd
from semitensor.decomposition.stt import stt_decompose
from tests.oracles import random_stt_tensor, rel_err


def engine_settings(rng, **kw):
    """The engine's settings object, as the fits build it."""
    args = {"n_iter_max": 100, "tol": 1e-8, "eps": None, "verbose": False, "callback": None}
    args.update(kw)
    return check_settings(
        "ring ALS", method="als", methods=("als", "svd"), random_state=rng, **args
    )


def test_ring_engine_recovers_a_tensor_ring():
    rng = np.random.default_rng(10)
    ranks = [3, 2, 4, 2, 3]
    x = ring_to_tensor(random_ring((4, 5, 4, 5), ranks, rng))
    cores, info = fit_ring(x, tr_svd(x, ranks, rng), engine_settings(rng))
    assert rel_err(ring_to_tensor(cores), x) < 1e-8
    assert info.converged and info.stop_reason in ("tol", "exact")


def test_singular_systems_fall_back_to_least_squares():
    rng = np.random.default_rng(20)
    a = rng.standard_normal((6, 3))
    m = a @ a.T  # PSD of rank 3
    b = m @ rng.standard_normal((6, 4))
    y = solve_spd(m, b)
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


def test_small_blas_limits_blas_to_one_thread_inside_only():
    from threadpoolctl import threadpool_info, threadpool_limits

    from semitensor.decomposition._linalg import small_blas

    def blas_threads():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    with threadpool_limits(limits=2, user_api="blas"):  # so that one is a change
        before = blas_threads()
        for _ in range(2):  # the controller is made once and reused
            with small_blas(np.ones((4, 4))):
                assert all(n == 1 for n in blas_threads())
            assert blas_threads() == before
