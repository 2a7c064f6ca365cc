"""Backend parity: every public routine gives the same result on numpy and torch.

For each torch device available (CPU always, CUDA when present) every public
function is run on float64 numpy input and on the same data as a torch tensor on
that device. The torch result must be a torch tensor of the input's dtype and
device, and agree with numpy to 1e-10 relative (Frobenius). Gradients are checked
with ``torch.autograd.gradcheck`` (float64) through ``stp``, ``rstp``,
``stp_mode_dot`` and the ``to_tensor`` of every format. Fits must not copy arrays
to the host inside their loops (only scalars for the stopping tests).

``benchmarks/gpu_check.py`` runs this file on a CUDA machine.
"""

import importlib
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import semitensor as st  # noqa: E402
from semitensor.decomposition.sttu import sttu_decompose  # noqa: E402
from semitensor.exceptions import ConvergenceWarning  # noqa: E402
from semitensor.formats.sttu import STTuTensor, sttu_to_tensor  # noqa: E402
from tests.spies import HostCopies  # noqa: E402

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
RTOL = 1e-10


def _optional(module):
    """A library module that may not exist yet (formats and fits land one by one)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


stt_fmt = _optional("semitensor.formats.stt")
stt_fit = _optional("semitensor.decomposition.stt")
str_fmt = _optional("semitensor.formats.str")
str_fit = _optional("semitensor.decomposition.str")
needs_stt = pytest.mark.skipif(stt_fmt is None, reason="semitensor.formats.stt not present")
needs_stt_fit = pytest.mark.skipif(stt_fit is None, reason="stt_decompose not present")
needs_str = pytest.mark.skipif(str_fmt is None, reason="semitensor.formats.str not present")
needs_str_fit = pytest.mark.skipif(str_fit is None, reason="str_decompose not present")


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def T(x, device, dtype=torch.float64):
    """numpy -> torch on ``device`` (keeps bools and ints as they are unless dtype given)."""
    x = np.asarray(x)
    out = torch.from_numpy(x.copy())
    if x.dtype.kind == "f":
        out = out.to(dtype)
    return out.to(device)


def same(out_t, out_np, device, dtype=torch.float64, rtol=RTOL):
    """The torch result has the right type, dtype and device and matches numpy."""
    assert isinstance(out_t, torch.Tensor), type(out_t)
    assert out_t.dtype == dtype, (out_t.dtype, dtype)
    assert out_t.device.type == device
    got = out_t.detach().cpu().numpy()
    ref = np.asarray(out_np)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    if ref.dtype == bool:
        assert np.array_equal(got, ref)
        return
    scale = np.linalg.norm(ref)
    err = np.linalg.norm(got - ref)
    assert err <= rtol * scale or err <= 1e-300, f"relative difference {err / scale:.3e}"


def rng(seed=0):
    return np.random.default_rng(seed)


# --- products ----------------------------------------------------------------------

STP_CASES = [
    [(3, 4), (2, 2)],  # Cheng's shapes, n multiple of p
    [(2, 3), (2, 5)],  # coprime inner sizes
    [(4, 6), (4, 3)],  # gcd 2
    [(3, 4), (4, 5)],  # ordinary matmul
    [(7, 2, 6), (4, 3)],  # stack of matrices
    [(5, 1, 4, 6), (3, 4, 2)],  # broadcast batch dims
    [(4,), (6,)],  # columns
    [(2, 3), (6, 4), (2, 5)],  # chain
    [(1, 4), (2, 2), (4, 3), (6, 1)],
]


@pytest.mark.parametrize("shapes", STP_CASES, ids=str)
@pytest.mark.parametrize("side", ["left", "right"])
def test_stp_parity(shapes, side, device):
    r = rng(1)
    arrays = [r.standard_normal(s) for s in shapes]
    same(st.stp(*[T(a, device) for a in arrays], side=side), st.stp(*arrays, side=side), device)
    fn = st.stp if side == "left" else st.rstp
    same(fn(*[T(a, device) for a in arrays]), fn(*arrays), device)


def test_stp_dtypes_and_boolean(device):
    r = rng(2)
    a, b = r.standard_normal((3, 4)), r.standard_normal((6, 2))
    same(
        st.stp(T(a, device, torch.float32), T(b, device, torch.float32)),
        st.stp(a.astype(np.float32), b.astype(np.float32)),
        device,
        dtype=torch.float32,
        rtol=1e-5,
    )
    pa, pb = r.random((3, 4)) > 0.5, r.random((2, 5)) > 0.5
    same(st.stp(T(pa, device), T(pb, device)), st.stp(pa, pb), device, dtype=torch.bool)
    ia, ib = r.integers(-3, 3, (3, 4)), r.integers(-3, 3, (6, 2))
    try:
        out = st.stp(T(ia, device), T(ib, device))
    except RuntimeError as exc:  # torch has no integer GEMM on CUDA
        if device == "cuda" and "not implemented" in str(exc):
            pytest.xfail(f"integer STP on CUDA: {exc}")
        raise
    same(out, st.stp(ia, ib), device, dtype=torch.int64)


def test_stp_large_stack_parity(device):
    # numpy takes the numba kernel for big stacks of tiny products; torch the generic one.
    r = rng(3)
    a, b = r.standard_normal((2000, 3, 4)), r.standard_normal((2000, 6, 2))
    for side in ["left", "right"]:
        same(st.stp(T(a, device), T(b, device), side=side), st.stp(a, b, side=side), device)


# --- constructors with like= -------------------------------------------------------


def test_matrix_constructors_parity(device):
    like = torch.zeros(1, dtype=torch.float64, device=device)
    same(st.swap_matrix(3, 4, like=like), st.swap_matrix(3, 4), device)
    same(st.power_reducing_matrix(3, like=like), st.power_reducing_matrix(3), device)
    fn = lambda p, q: p and not q  # noqa: E731
    same(st.structure_matrix(fn, 2, like=like), st.structure_matrix(fn, 2), device)
    maj = lambda p, q, r: (p + q + r) % 3  # noqa: E731
    same(st.structure_matrix(maj, 3, k=3, like=like), st.structure_matrix(maj, 3, k=3), device)
    same(st.logical_vector(False, like=like), st.logical_vector(False), device)
    same(
        st.swap_matrix(2, 3, dtype="float32", like=like),
        st.swap_matrix(2, 3, dtype="float32"),
        device,
        dtype=torch.float32,
    )
    same(
        st.swap_matrix(2, 3, dtype="bool", like=like),
        st.swap_matrix(2, 3, dtype="bool"),
        device,
        dtype=torch.bool,
    )


# --- tensor algebra ----------------------------------------------------------------


def test_tenalg_parity(device):
    r = rng(4)
    x = r.standard_normal((4, 6, 5))
    xt = T(x, device)
    for mode in range(3):
        same(st.unfold(xt, mode), st.unfold(x, mode), device)
        m = st.unfold(x, mode)
        same(st.fold(T(m, device), mode, x.shape), st.fold(m, mode, x.shape), device)
    u = r.standard_normal((3, 6))
    same(st.mode_dot(xt, T(u, device), 1), st.mode_dot(x, u, 1), device)
    same(
        st.mode_dot(xt, T(u.T, device), 1, transpose=True),
        st.mode_dot(x, u.T, 1, transpose=True),
        device,
    )
    v = r.standard_normal(5)
    same(st.mode_dot(xt, T(v, device), 2), st.mode_dot(x, v, 2), device)
    for side in ["left", "right"]:
        for k in [1, 2, 3, 6]:
            w = r.standard_normal((4, k))
            same(
                st.stp_mode_dot(xt, T(w, device), 1, side=side),
                st.stp_mode_dot(x, w, 1, side=side),
                device,
            )
    # Many batches with few columns: the one-GEMM layout of tenalg.
    y = r.standard_normal((40, 6, 3))
    w = r.standard_normal((2, 3))
    same(st.stp_mode_dot(T(y, device), T(w, device), 1), st.stp_mode_dot(y, w, 1), device)


# --- formats and fits --------------------------------------------------------------


def random_sttu(r, side="left"):
    core = r.standard_normal((4, 6, 2))
    factors = [r.standard_normal((3, 2)), r.standard_normal((2, 3)), r.standard_normal((5, 1))]
    return core, factors, 2, side


@pytest.mark.parametrize("side", ["left", "right"])
def test_sttu_format_parity(side, device):
    core, factors, t, side = random_sttu(rng(5), side)
    dec_np = STTuTensor(core, factors, t, side)
    dec_t = STTuTensor(T(core, device), [T(f, device) for f in factors], t, side)
    same(dec_t.to_tensor(), dec_np.to_tensor(), device)
    same(st.reconstruct(dec_t), dec_np.to_tensor(), device)
    same(dec_t.norm(), np.asarray(dec_np.norm()), device)
    same(
        sttu_to_tensor(T(core, device), [T(f, device) for f in factors], t, side),
        dec_np.to_tensor(),
        device,
    )
    pytest.importorskip("tensorly")
    for a, b in zip(dec_t.to_tucker().factors, dec_np.to_tucker().factors):
        same(a, b, device)


@pytest.mark.parametrize("method", ["hosvd", "hooi"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_sttu_decompose_parity(method, side, device):
    r = rng(6)
    x = STTuTensor(*random_sttu(r, side)).to_tensor()
    x = x + 0.05 * r.standard_normal(x.shape)
    # tol=0 with a fixed sweep count: both backends run the same number of sweeps.
    kw = {"method": method, "side": side, "n_iter_max": 4, "tol": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit_np = sttu_decompose(x, [4, 4, 2], 2, **kw)
        fit_t = sttu_decompose(T(x, device), [4, 4, 2], 2, **kw)
    same(fit_t.to_tensor(), fit_np.to_tensor(), device)
    assert fit_t.info.n_iter == fit_np.info.n_iter
    np.testing.assert_allclose(fit_t.info.errors, fit_np.info.errors, rtol=1e-8)
    for f in fit_t.factors:
        assert f.device.type == device and f.dtype == torch.float64
    fit32 = sttu_decompose(T(x, device, torch.float32), [4, 4, 2], 2, method="hosvd", side=side)
    assert fit32.core.dtype == torch.float32 and fit32.core.device.type == device


def random_stt(r):
    shapes = [(1, 3, 4), (2, 4, 3), (3, 2, 2), (4, 3, 1)]
    return [r.standard_normal(s) for s in shapes]


@needs_stt
@pytest.mark.parametrize("side", ["left", "right"])
def test_stt_format_parity(side, device):
    cores = random_stt(rng(7))
    dec_np = stt_fmt.STTTensor(cores, 2, side)
    dec_t = stt_fmt.STTTensor([T(c, device) for c in cores], 2, side)
    same(dec_t.to_tensor(), dec_np.to_tensor(), device)
    same(st.reconstruct(dec_t), dec_np.to_tensor(), device)
    same(dec_t.norm(), np.asarray(dec_np.norm()), device)
    idx = np.array([[0, 1, 0, 2], [2, 3, 1, 0], [-1, 0, 1, 1]])
    same(dec_t.entries(idx), dec_np.entries(idx), device)
    same(dec_t.entries(T(idx, device)), dec_np.entries(idx), device)
    same(stt_fmt.stt_to_tensor([T(c, device) for c in cores], 2, side), dec_np.to_tensor(), device)
    pytest.importorskip("tensorly")
    for a, b in zip(dec_t.to_tr().factors, dec_np.to_tr().factors):
        same(a, b, device)


@needs_stt_fit
@pytest.mark.parametrize("side", ["left", "right"])
def test_stt_decompose_parity(side, device):
    # An exactly representable tensor: both fits converge to it, so they agree to
    # rounding. (On noisy data a fit stopped after a few sweeps is path-sensitive: for
    # side="right" here a 1e-16 relative change of x moved numpy's own result by 6e-8,
    # so numpy and torch, with different BLAS libraries, cannot agree to 1e-10 there.)
    x = stt_fmt.STTTensor(random_stt(rng(8)), 2, side).to_tensor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit_np = stt_fit.stt_decompose(x, [4, 6, 4], 2, side=side, random_state=0)
        fit_t = stt_fit.stt_decompose(T(x, device), [4, 6, 4], 2, side=side, random_state=0)
    same(fit_t.to_tensor(), fit_np.to_tensor(), device)
    assert all(c.device.type == device and c.dtype == torch.float64 for c in fit_t.cores)


def random_str(r):
    shapes = [(4, 3, 4), (2, 4, 3), (3, 2, 2), (2, 3, 2)]
    return [r.standard_normal(s) for s in shapes]


@needs_str
@pytest.mark.parametrize("side", ["left", "right"])
def test_str_format_parity(side, device):
    cores = random_str(rng(9))
    dec_np = str_fmt.STRTensor(cores, 2, side)
    dec_t = str_fmt.STRTensor([T(c, device) for c in cores], 2, side)
    same(dec_t.to_tensor(), dec_np.to_tensor(), device)
    same(st.reconstruct(dec_t), dec_np.to_tensor(), device)
    same(dec_t.norm(), np.asarray(dec_np.norm()), device)
    idx = np.array([[0, 1, 0, 2], [2, 3, 1, 0]])
    same(dec_t.entries(idx), dec_np.entries(idx), device)
    same(str_fmt.str_to_tensor([T(c, device) for c in cores], 2, side), dec_np.to_tensor(), device)
    same(dec_t.compact().to_tensor(), dec_np.to_tensor(), device)
    pytest.importorskip("tensorly")
    for a, b in zip(dec_t.to_tr().factors, dec_np.to_tr().factors):
        same(a, b, device)


@needs_str_fit
@pytest.mark.parametrize("side", ["left", "right"])
def test_str_decompose_parity(side, device):
    r = rng(10)
    x = str_fmt.STRTensor(random_str(r), 2, side).to_tensor()
    x = x + 0.01 * r.standard_normal(x.shape)
    kw = {"side": side, "random_state": 0, "n_iter_max": 6, "tol": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit_np = str_fit.str_decompose(x, [4, 4, 6, 4], 2, **kw)
        fit_t = str_fit.str_decompose(T(x, device), [4, 4, 6, 4], 2, **kw)
    same(fit_t.to_tensor(), fit_np.to_tensor(), device)
    assert all(c.device.type == device and c.dtype == torch.float64 for c in fit_t.cores)


# --- autograd ----------------------------------------------------------------------


def _leaf(x, device):
    return T(x, device).requires_grad_(True)


@pytest.mark.parametrize("shapes", STP_CASES[:6] + STP_CASES[7:], ids=str)
@pytest.mark.parametrize("side", ["left", "right"])
def test_gradcheck_stp(shapes, side, device):
    r = rng(11)
    arrays = tuple(_leaf(r.standard_normal(s), device) for s in shapes)
    fn = st.stp if side == "left" else st.rstp
    assert torch.autograd.gradcheck(lambda *a: fn(*a), arrays)


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_gradcheck_stp_mode_dot(side, k, device):
    r = rng(12)
    x, u = _leaf(r.standard_normal((3, 6, 2)), device), _leaf(r.standard_normal((4, k)), device)
    assert torch.autograd.gradcheck(lambda a, b: st.stp_mode_dot(a, b, 1, side=side), (x, u))


@pytest.mark.parametrize("side", ["left", "right"])
def test_gradcheck_sttu_to_tensor(side, device):
    core, factors, t, side = random_sttu(rng(13), side)
    args = (_leaf(core, device), *(_leaf(f, device) for f in factors))
    assert torch.autograd.gradcheck(
        lambda c, *fs: STTuTensor(c, list(fs), t, side).to_tensor(), args
    )
    assert torch.autograd.gradcheck(lambda c, *fs: STTuTensor(c, list(fs), t, side).norm(), args)


@needs_stt
@pytest.mark.parametrize("side", ["left", "right"])
def test_gradcheck_stt_to_tensor(side, device):
    args = tuple(_leaf(c, device) for c in random_stt(rng(14)))
    assert torch.autograd.gradcheck(
        lambda *c: stt_fmt.STTTensor(list(c), 2, side).to_tensor(), args
    )


@needs_str
@pytest.mark.parametrize("side", ["left", "right"])
def test_gradcheck_str_to_tensor(side, device):
    args = tuple(_leaf(c, device) for c in random_str(rng(15)))
    assert torch.autograd.gradcheck(
        lambda *c: str_fmt.STRTensor(list(c), 2, side).to_tensor(), args
    )


# --- no host round trips inside fits -----------------------------------------------


def test_sttu_fit_moves_only_small_vectors_to_host(device, monkeypatch):
    r = rng(16)
    x = STTuTensor(*random_sttu(r)).to_tensor() + 0.05 * r.standard_normal((6, 4, 10))
    xt = T(x, device)
    spy = HostCopies(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sttu_decompose(xt, [4, 4, 2], 2, n_iter_max=3, tol=0.0)
    # Scalars for the stopping test, and the spectrum (I_n/t_n values) of each mode
    # for the rank/Gram checks: never a tensor-sized copy.
    assert max(spy.sizes, default=0) <= max(x.shape) // 2, spy.sizes


FITS = [
    pytest.param("stt", marks=needs_stt_fit),
    pytest.param("str", marks=needs_str_fit),
]


@pytest.mark.parametrize("fmt", FITS)
def test_ring_fits_keep_data_on_device(fmt, device, monkeypatch):
    r = rng(17)
    if fmt == "stt":
        fit, x, ranks = stt_fit.stt_decompose, stt_fmt.STTTensor(random_stt(r), 2), [4, 6, 4]
    else:
        fit, x, ranks = str_fit.str_decompose, str_fmt.STRTensor(random_str(r), 2), [4, 4, 6, 4]
    xt = T(x.to_tensor(), device)
    spy = HostCopies(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit(xt, ranks, 2, n_iter_max=3, tol=0.0, random_state=0)
    assert max(spy.sizes, default=0) <= 1, sorted(set(spy.sizes))
