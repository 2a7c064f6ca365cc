"""stt_decompose: exact recovery, history, callbacks, eps, backends, errors."""

import logging
import warnings

import numpy as np
import pytest

from semitensor.decomposition._ring_fit import DEFAULT_WARMUP
from semitensor.decomposition.stt import stt_decompose
from semitensor.exceptions import ConvergenceWarning
from semitensor.formats.stt import STTTensor
from tests.conftest import to_backend, to_np
from tests.oracles import random_stt_cores, random_stt_tensor, rel_err

try:
    import torch
except ImportError:
    torch = None

SIDES = ["left", "right"]


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
    one_core = np.array([k for k in range(1, len(errs)) if k not in fit.info.two_core_at])
    assert fit.info.two_core_at[:DEFAULT_WARMUP] == list(range(1, DEFAULT_WARMUP + 1))
    assert np.all(errs[one_core] - errs[one_core - 1] <= 1e-12)
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
        (dict(ranks=3), ValueError, r"ranks must be a positive multiple of t=2; got 3"),
        (
            dict(ranks=[4, 3, 4]),
            ValueError,
            r"ranks\[1\] must be a positive multiple of t=2; got 3",
        ),
        (dict(ranks=[4, 4]), ValueError, r"list of 3 \(bond sizes R_1..R_3\); got 2"),
        (dict(ranks=0), ValueError, r"ranks must be a positive integer; got 0"),
        (dict(ranks=2.5), TypeError, r"ranks must be an int, a list of ints or None"),
        (
            dict(ranks=[4, 2, 4], t=[2, 4]),
            ValueError,
            r"ranks\[1\] = 2 joins cores with t = 2 and 4, so it must be a multiple of .* 4",
        ),
        (dict(ranks=4, t=[2]), ValueError, r"one entry per interior core \(2\); got 1"),
        (dict(ranks=4, method="hosvd"), ValueError, r"method must be 'als' or 'svd'"),
        (dict(ranks=4, init="zeros"), ValueError, r"init must be 'svd', 'random' or an STTTensor"),
        (dict(ranks=4, method="svd", init="random"), ValueError, r"method='svd' is the SVD sweep"),
        (dict(ranks=4, n_restarts=0), ValueError, r"n_restarts must be a positive integer"),
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


def test_stt_init_with_eps_is_refused():
    x = np.random.default_rng(2).standard_normal((4, 6, 4))
    start = stt_decompose(x, 2, 2)
    with pytest.raises(ValueError, match="give ranks instead of eps"):
        stt_decompose(x, None, 2, eps=0.3, init=start)


def test_order2_stt_calls_the_callback():
    calls = []
    fit = stt_decompose(
        np.random.default_rng(3).random((6, 5)), 2, callback=lambda *a: calls.append(a) or True
    )
    assert [c[0] for c in calls] == [0]
    assert isinstance(calls[0][1], STTTensor)
    assert fit.info.stop_reason == "callback"
