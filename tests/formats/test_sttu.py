"""The semi-tensor Tucker format (SPEC §4): reconstruction, norms, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semitensor.formats import reconstruct
from semitensor.formats.sttu import STTuTensor, sttu_to_tensor
from tests.conftest import to_np
from tests.oracles import kron_factor, kron_to_tensor, random_format

try:
    import torch
except ImportError:
    torch = None

SIDES = ["left", "right"]


# --- format ------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["left", "right"])
def test_to_tensor_matches_kronecker_definition(backend, side):
    rng = np.random.default_rng(0)
    dec = random_format(rng, (3, 2, 4), (2, 1, 3), [2, 3, 1], side, backend)
    ref = kron_to_tensor(
        *(to_np(a) for a in (dec.core,)), [to_np(f) for f in dec.factors], [2, 3, 1], side
    )
    out = dec.to_tensor()
    assert type(out) is type(dec.core)
    assert out.dtype == dec.core.dtype
    assert tuple(out.shape) == dec.shape == (6, 6, 4)
    np.testing.assert_allclose(to_np(out), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        to_np(sttu_to_tensor(dec.core, list(dec.factors), [2, 3, 1], side)),
        ref,
        rtol=1e-12,
        atol=1e-12,
    )
    np.testing.assert_allclose(to_np(reconstruct(dec)), ref, rtol=1e-12, atol=1e-12)


def test_properties_and_repr():
    rng = np.random.default_rng(1)
    dec = random_format(rng, (4, 3, 5), (2, 2, 1), 2, "right")
    assert dec.shape == (8, 6, 10)
    assert dec.ranks == (4, 4, 2)
    assert dec.t == (2, 2, 2)
    assert dec.side == "right"
    assert dec.ndim == 3
    assert dec.info is None
    n_params = 4 * 4 * 2 + 8 * 4 // 4 + 6 * 4 // 4 + 10 * 2 // 4
    assert dec.n_params == n_params
    assert dec.compression_ratio == pytest.approx(8 * 6 * 10 / n_params)
    text = repr(dec)
    assert text.startswith("STTuTensor(shape=(8, 6, 10), ranks=(4, 4, 2), t=(2, 2, 2)")
    assert "side='right'" in text and f"n_params={n_params}" in text


@settings(max_examples=30, deadline=None)
@given(
    dims=st.lists(
        st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)), min_size=1, max_size=4
    ),
    side=st.sampled_from(["left", "right"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_hypothesis_to_tensor_to_tucker_and_kronecker_agree(dims, side, seed):
    rng = np.random.default_rng(seed)
    shape_over_t = [d[0] for d in dims]
    ranks_over_t = [d[1] for d in dims]
    ts = [d[2] for d in dims]
    dec = random_format(rng, shape_over_t, ranks_over_t, ts, side)
    ref = kron_to_tensor(dec.core, dec.factors, ts, side)
    np.testing.assert_allclose(dec.to_tensor(), ref, rtol=1e-10, atol=1e-10)
    if len(dims) == 1:
        with pytest.raises(ValueError, match="to_tucker needs a format of order >= 2"):
            dec.to_tucker()
    else:
        tucker = dec.to_tucker()
        np.testing.assert_allclose(tucker.to_tensor(), ref, rtol=1e-10, atol=1e-10)
        for f, u, tn in zip(tucker.factors, dec.factors, ts):
            np.testing.assert_array_equal(f, kron_factor(u, tn, side))
    stored = dec.core.size + sum(f.size for f in dec.factors)
    assert dec.n_params == stored
    assert dec.norm() == pytest.approx(np.linalg.norm(ref), rel=1e-10)


def test_norm_without_full_tensor(backend, monkeypatch):
    rng = np.random.default_rng(2)
    dec = random_format(rng, (3, 4, 2), (2, 3, 2), 2, "left", backend)
    full = to_np(dec.to_tensor())

    def no_full_tensor(self):
        raise AssertionError("norm() formed the full tensor")

    monkeypatch.setattr(STTuTensor, "to_tensor", no_full_tensor)
    norm = dec.norm()
    # A scalar of the format's own library (numpy: a numpy float), never a host copy.
    if backend == "numpy":
        assert isinstance(norm, np.floating)
    else:
        assert type(norm) is type(dec.core) and norm.ndim == 0
    assert float(norm) == pytest.approx(float(np.linalg.norm(full)), rel=1e-12)


def test_to_tensor_keeps_torch_dtype_and_autograd():
    torch = pytest.importorskip("torch")
    core = torch.randn(4, 2, 6, dtype=torch.float32, requires_grad=True)
    factors = [torch.randn(3, 2, requires_grad=True), torch.randn(5, 1), torch.randn(2, 3)]
    dec = STTuTensor(core, factors, t=2)
    out = dec.to_tensor()
    assert out.dtype == torch.float32 and out.device == core.device
    (out**2).sum().backward()
    assert core.grad is not None and factors[0].grad is not None
    ref = kron_to_tensor(core.detach().numpy(), [f.detach().numpy() for f in factors], 2)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-4, atol=1e-4)
    dec.norm().backward()
    tucker = dec.to_tucker()
    assert isinstance(tucker.factors[1], torch.Tensor) and tucker.factors[1].shape == (10, 2)


def test_t1_is_tensorly_tucker():
    import tensorly as tl

    rng = np.random.default_rng(3)
    dec = random_format(rng, (5, 4, 3), (2, 3, 2), 1)
    ref = tl.tucker_to_tensor((dec.core, list(dec.factors)))
    np.testing.assert_allclose(dec.to_tensor(), ref, rtol=1e-12, atol=1e-12)


def test_constructor_does_not_modify_factor_list():
    rng = np.random.default_rng(4)
    factors = [rng.standard_normal((3, 1)), rng.standard_normal((2, 2))]
    copies = [f.copy() for f in factors]
    dec = STTuTensor(np.ones((2, 4)), factors, t=2)
    assert isinstance(dec.factors, tuple)
    dec.to_tensor()
    assert len(factors) == 2
    for f, c in zip(factors, copies):
        np.testing.assert_array_equal(f, c)


@pytest.mark.parametrize(
    ("core_shape", "factor_shapes", "t", "exc", "match"),
    [
        ((4, 2), [(3, 2), (2, 1, 1)], 2, ValueError, r"factors\[1\] must be 2-d"),
        ((4, 2), [(3, 2)], 2, ValueError, r"core has 2 modes .* but 1 factors"),
        (
            (4, 3),
            [(3, 2), (2, 1)],
            2,
            ValueError,
            r"mode 1: core size R_1=3 is not a multiple of t_1=2",
        ),
        (
            (4, 2),
            [(3, 3), (2, 1)],
            2,
            ValueError,
            r"mode 0: factors\[0\] has shape \(3, 3\) but needs R_0/t_0 = 4/2 = 2 columns",
        ),
        (
            (4, 2),
            [(3, 2), (2, 1)],
            [2],
            ValueError,
            r"t must be an int or have one entry per mode \(2\); got 1",
        ),
        ((4, 2), [(3, 2), (2, 1)], [2, 0], ValueError, r"t\[1\] must be a positive integer; got 0"),
        ((4, 2), [(3, 2), (2, 1)], 2.0, TypeError, r"t must be a positive int or a list"),
        (
            (4, 2),
            [(3, 2), (2, 1)],
            [2, 1.5],
            TypeError,
            r"t\[1\] must be a positive integer; got 1.5",
        ),
    ],
)
def test_constructor_errors(core_shape, factor_shapes, t, exc, match):
    with pytest.raises(exc, match=match):
        STTuTensor(np.ones(core_shape), [np.ones(s) for s in factor_shapes], t)


def test_constructor_type_errors():
    with pytest.raises(TypeError, match="factors must be a list or tuple of arrays; got ndarray"):
        STTuTensor(np.ones((2, 2)), np.ones((2, 2)), 1)
    with pytest.raises(ValueError, match="side must be 'left' or 'right'; got 'up'"):
        STTuTensor(np.ones((2, 2)), [np.ones((2, 2)), np.ones((2, 2))], 1, side="up")
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"factors\[0\] is a torch array"):
        STTuTensor(np.ones((2, 2)), [torch.ones(2, 2), np.ones((2, 2))], 1)


def test_reconstruct_rejects_other_objects():
    with pytest.raises(
        TypeError,
        match=r"reconstruct expects a decomposition of this library \(.*STTuTensor.*\); got tuple",
    ):
        reconstruct((np.ones((2, 2)), [np.eye(2), np.eye(2)]))
