"""The semi-tensor ring format (SPEC §4): evaluation routes, equivalences, errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semitensor.formats.str import STRTensor, str_to_tensor
from tests.conftest import BACKENDS, to_backend, to_np
from tests.oracles import slow_str

try:
    import torch
except ImportError:
    torch = None

SIDES = ["left", "right"]


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
