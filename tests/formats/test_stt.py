"""The semi-tensor train format (SPEC §4): evaluation routes, equivalences, errors."""

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semitensor.formats.stt import STTTensor, stt_to_tensor
from tests.conftest import to_backend, to_np
from tests.oracles import random_stt_cores, slow_stt

try:
    import torch
except ImportError:
    torch = None

SIDES = ["left", "right"]


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
