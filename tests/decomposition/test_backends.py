"""The ring-ALS engine on every backend: numpy and torch (CPU, CUDA when present).

The engine (`semitensor.decomposition._ring_fit` and its parts) runs in the array namespace of the
tensor; these tests check that a torch fit gives the numpy fit's numbers (same seed,
same draws, fixed singular-vector signs), keeps the input's dtype and device, and
never copies an array to the host inside the fit.
"""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from semitensor.decomposition import _linalg, _prepare, _ring_fit, _starts  # noqa: E402
from semitensor.decomposition.str import str_decompose  # noqa: E402
from semitensor.decomposition.stt import stt_decompose  # noqa: E402
from semitensor.exceptions import ConvergenceWarning  # noqa: E402
from semitensor.formats.stt import STTTensor  # noqa: E402
from tests.spies import HostCopies  # noqa: E402

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def noisy_ring(shape, ranks, seed, noise=0.01):
    """A ring tensor plus relative ``noise``: the fits below are well conditioned."""
    rng = np.random.default_rng(seed)
    x = _starts.ring_to_tensor(_starts.random_ring(shape, ranks, rng))
    return x + noise * rng.standard_normal(shape) * np.linalg.norm(x) / np.sqrt(x.size)


def engine_settings(seed, init="svd", n_iter_max=100, tol=1e-8, n_restarts=1):
    """The engine's settings object, as the fits build it."""
    return _prepare.check_settings(
        "ring ALS",
        method="als",
        methods=("als", "svd"),
        n_iter_max=n_iter_max,
        tol=tol,
        eps=None,
        random_state=np.random.default_rng(seed),
        verbose=False,
        callback=None,
        n_restarts=n_restarts,
        init=init,
    )


def rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def host(c):
    return c.detach().cpu().numpy()


# -- the engine: numpy and torch give the same fit ------------------------------------


# r_0·r_1 <= I_1 in both cases: a larger first block is padded with noise, and the
# noise's interplay with the (then rank-deficient) later unfoldings makes the SVD start
# depend on the eigensolver's choice of basis for null spaces, which differs between
# BLAS libraries (seen on CUDA and on MKL against OpenBLAS).
CASES = [((6, 5, 4, 5), [2, 3, 4, 2, 2]), ((4, 5, 4, 3, 4), [2, 2, 3, 2, 2, 2])]


@pytest.mark.parametrize("init", ["svd", "random"])
@pytest.mark.parametrize("shape, ranks", CASES, ids=["order4", "order5"])
def test_fit_tensor_ring_torch_matches_numpy(shape, ranks, init, device):
    x = noisy_ring(shape, ranks, seed=3)
    kw = {"init": init, "n_iter_max": 15, "tol": 1e-10, "n_restarts": 2}
    cores_np, info_np = _ring_fit.fit_tensor_ring(x, ranks, engine_settings(seed=0, **kw))
    xt = torch.tensor(x, device=device)
    cores_t, info_t = _ring_fit.fit_tensor_ring(xt, ranks, engine_settings(seed=0, **kw))
    assert len(info_t.errors) == len(info_np.errors)
    np.testing.assert_allclose(info_t.errors, info_np.errors, rtol=1e-8, atol=1e-12)
    assert info_t.stop_reason == info_np.stop_reason
    for c_t, c_np in zip(cores_t, cores_np):
        assert isinstance(c_t, torch.Tensor)
        assert c_t.dtype == torch.float64 and c_t.device.type == device
        assert rel(host(c_t), c_np) < 1e-8


def test_tr_svd_and_random_ring_match_numpy(device):
    shape, ranks = (6, 5, 4, 5), [2, 3, 4, 2, 2]
    x = noisy_ring(shape, ranks, seed=4)
    xt = torch.tensor(x, device=device)
    for c_t, c_np in zip(
        _starts.tr_svd(xt, ranks, np.random.default_rng(1)),
        _starts.tr_svd(x, ranks, np.random.default_rng(1)),
    ):
        assert c_t.device.type == device
        assert rel(host(c_t), c_np) < 1e-10
    ring_np = _starts.random_ring(shape, ranks, np.random.default_rng(2), scale=3.0)
    ring_t = _starts.random_ring(shape, ranks, np.random.default_rng(2), scale=3.0, like=xt)
    for c_t, c_np in zip(ring_t, ring_np):
        assert c_t.dtype == torch.float64 and c_t.device.type == device
        np.testing.assert_array_equal(host(c_t), c_np)
    np.testing.assert_allclose(
        host(_starts.ring_to_tensor(ring_t)), _starts.ring_to_tensor(ring_np), rtol=1e-12
    )


def test_leading_basis_signs_are_fixed(device):
    """The largest entry of every basis column is positive, whatever LAPACK returned."""
    import array_api_compat

    a = np.random.default_rng(5).standard_normal((7, 30))
    for arr in (a, a.T.copy(), torch.tensor(a, device=device), torch.tensor(a.T, device=device)):
        u = _linalg.leading_basis(array_api_compat.array_namespace(arr), arr, 4, None)
        u = host(u) if isinstance(u, torch.Tensor) else u
        top = u[np.argmax(np.abs(u), axis=0), np.arange(u.shape[1])]
        assert np.all(top > 0)


@pytest.mark.parametrize("singular", [False, True])
def test_solve_spd_torch_matches_numpy(singular, device):
    rng = np.random.default_rng(6)
    a = rng.standard_normal((8, 5 if singular else 12))
    m, b = a @ a.T, rng.standard_normal((8, 3))
    y_np = _linalg.solve_spd(m, b)
    y_t = _linalg.solve_spd(torch.tensor(m, device=device), torch.tensor(b, device=device))
    assert y_t.device.type == device
    assert rel(host(y_t), y_np) < 1e-8
    if singular:  # the minimum-norm solution: nothing in the null space of M
        _, v = np.linalg.eigh(m)
        assert np.linalg.norm(v[:, :3].T @ host(y_t)) < 1e-8 * np.linalg.norm(y_np)


# -- stt_decompose / str_decompose on torch --------------------------------------------


@pytest.mark.parametrize("init", ["svd", "random"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_stt_torch_matches_numpy(init, side, device):
    x = noisy_ring((6, 5, 4, 5), [2, 2, 3, 2, 2], seed=7)
    kw = {"side": side, "init": init, "random_state": 0, "n_iter_max": 12, "tol": 1e-10}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit_np = stt_decompose(x, [4, 6, 4], 2, **kw)
        fit_t = stt_decompose(torch.tensor(x, device=device), [4, 6, 4], 2, **kw)
    np.testing.assert_allclose(fit_t.info.errors, fit_np.info.errors, rtol=1e-8, atol=1e-12)
    for c_t, c_np in zip(fit_t.cores, fit_np.cores):
        assert c_t.dtype == torch.float64 and c_t.device.type == device
        assert rel(host(c_t), c_np) < 1e-8


@pytest.mark.parametrize("init", ["svd", "random"])
def test_str_torch_matches_numpy(init, device):
    x = noisy_ring((5, 4, 6, 4), [2, 3, 2, 2, 2], seed=8)
    kw = {"init": init, "random_state": 0, "n_iter_max": 12, "tol": 1e-10}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit_np = str_decompose(x, [4, 6, 4, 4], 2, **kw)
        fit_t = str_decompose(torch.tensor(x, device=device), [4, 6, 4, 4], 2, **kw)
    np.testing.assert_allclose(fit_t.info.errors, fit_np.info.errors, rtol=1e-8, atol=1e-12)
    for c_t, c_np in zip(fit_t.cores, fit_np.cores):
        assert c_t.dtype == torch.float64 and c_t.device.type == device
        assert rel(host(c_t), c_np) < 1e-8


def test_matrix_case_torch_matches_numpy(device):
    x = np.random.default_rng(9).standard_normal((7, 5))
    fit_np = stt_decompose(x, 5)
    fit_t = stt_decompose(torch.tensor(x, device=device), 5)
    assert fit_t.info.rel_error == pytest.approx(fit_np.info.rel_error, rel=1e-10)
    for c_t, c_np in zip(fit_t.cores, fit_np.cores):
        assert c_t.device.type == device
        np.testing.assert_allclose(host(c_t), c_np, atol=1e-12)


@pytest.mark.parametrize(
    "dtype, out", [("float64", "float64"), ("float32", "float32"), ("int64", "float64")]
)
@pytest.mark.parametrize("fit", ["stt", "str"])
def test_torch_result_keeps_dtype_and_device(fit, dtype, out, device):
    x = noisy_ring((4, 5, 4, 5), [2, 2, 2, 2, 2], seed=10, noise=0.0)
    if dtype == "int64":
        x = np.round(10 * x / np.abs(x).max())
    xt = torch.tensor(x, device=device).to(getattr(torch, dtype))
    x0 = xt.clone()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if fit == "stt":
            res = stt_decompose(xt, 4, 2, random_state=0, n_iter_max=20)
        else:
            res = str_decompose(xt, 4, 2, random_state=0, n_iter_max=20)
    assert all(
        isinstance(c, torch.Tensor) and c.dtype == getattr(torch, out) and c.device.type == device
        for c in res.cores
    )
    assert all(isinstance(e, float) for e in res.info.errors)
    assert torch.equal(xt, x0)
    if dtype != "int64":  # exact data: the float64 fit survives the cast to float32
        err = rel(host(res.to_tensor()).astype(np.float64), x)
        assert err < (1e-5 if dtype == "float32" else 1e-8)


def test_fit_runs_in_float64_on_the_device(monkeypatch, device):
    """float32 input is fitted in float64 on its device, then cast back."""
    from semitensor.decomposition import stt as stt_module

    seen = []
    fit = stt_module.fit_tensor_ring

    def spy(tensor, *a, **k):
        seen.append((type(tensor), tensor.dtype, tensor.device.type))
        return fit(tensor, *a, **k)

    monkeypatch.setattr(stt_module, "fit_tensor_ring", spy)
    x = torch.tensor(noisy_ring((4, 5, 4, 5), [2, 2, 2, 2, 2], seed=11), device=device)
    res = stt_decompose(x.float(), 4, 2, random_state=0)
    assert seen == [(torch.Tensor, torch.float64, device)]
    assert res.cores[0].dtype == torch.float32


@pytest.mark.parametrize(
    "call",
    [
        lambda x: stt_decompose(x, [4, 6, 4], 2, random_state=0, n_iter_max=8, tol=0.0),
        lambda x: stt_decompose(x, [4, 6, 4], 2, init="random", n_restarts=2, n_iter_max=4),
        lambda x: stt_decompose(x, None, 2, eps=0.05, n_iter_max=4),
        lambda x: str_decompose(x, [4, 4, 6, 4], 2, random_state=0, n_iter_max=8, tol=0.0),
        lambda x: str_decompose(x, 4, 2, method="svd"),
        lambda x: stt_decompose(x[:, :, 0, 0], 3),
    ],
    ids=["stt", "stt-random-restarts", "stt-eps", "str", "str-svd", "matrix"],
)
def test_no_array_leaves_the_device(call, monkeypatch, device):
    """Only scalars (errors, norms, Cholesky checks) are read on the host in a fit."""
    x = torch.tensor(noisy_ring((6, 5, 4, 5), [2, 2, 3, 2, 2], seed=12), device=device)
    spy = HostCopies(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = call(x)
    assert max(spy.sizes, default=0) <= 1, sorted(set(spy.sizes))
    assert all(c.device.type == device for c in res.cores)


def test_torch_input_with_grad_and_mixed_init(device):
    """A tensor that requires grad is fitted without a graph; numpy init cores are moved."""
    x_np = noisy_ring((6, 5, 4, 5), [2, 2, 3, 2, 2], seed=13)
    x = torch.tensor(x_np, device=device, requires_grad=True)
    start = stt_decompose(x_np, [4, 6, 4], 2, method="svd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = stt_decompose(x, [4, 6, 4], 2, init=start, n_iter_max=5, random_state=0)
        ref = stt_decompose(x_np, [4, 6, 4], 2, init=start, n_iter_max=5, random_state=0)
        init_t = STTTensor([torch.tensor(c, device=device) for c in start.cores], 2)
        res2 = stt_decompose(x_np, [4, 6, 4], 2, init=init_t, n_iter_max=5, random_state=0)
    assert all(not c.requires_grad and c.device.type == device for c in res.cores)
    assert x.grad is None
    np.testing.assert_allclose(res.info.errors, ref.info.errors, rtol=1e-8)
    assert isinstance(res2.cores[0], np.ndarray)
    np.testing.assert_allclose(res2.info.errors, ref.info.errors, rtol=1e-12)


@pytest.mark.parametrize("fit", [stt_decompose, str_decompose])
def test_zero_tensor_on_device(fit, device):
    x = torch.zeros((4, 4, 4), dtype=torch.float32, device=device)
    res = fit(x, 4, 2)
    assert res.info.stop_reason == "exact"
    assert all(c.dtype == torch.float32 and c.device.type == device for c in res.cores)
    assert not torch.any(res.to_tensor())


@pytest.mark.parametrize("fit", ["sttu", "stt", "str"])
def test_meta_tensors_are_refused_before_any_computation(fit):
    # Before: RuntimeError "Tensor.item() cannot be called on meta tensors".
    from semitensor.decomposition.sttu import sttu_decompose

    decompose = {"sttu": sttu_decompose, "stt": stt_decompose, "str": str_decompose}[fit]
    x = torch.empty((6, 8, 4), device="meta", dtype=torch.float64)
    with pytest.raises(ValueError, match=r"tensor is a torch tensor on the meta device"):
        decompose(x, [2, 2, 2] if fit == "sttu" else 4, 2)


def test_meta_init_cores_are_refused_naming_them():
    x = torch.as_tensor(noisy_ring((6, 8, 4), (1, 4, 4, 1), 0))
    start = stt_decompose(x, [4, 4], 2, method="svd")
    meta = STTTensor([c.to("meta") for c in start.cores], start.t)
    with pytest.raises(ValueError, match=r"init\.cores\[0\] is a torch tensor on the meta"):
        stt_decompose(x, [4, 4], 2, init=meta)
