"""Regressions found in review: complex norms, refusals, order-2 callbacks, dtypes."""

import numpy as np
import pytest

import semitensor as st
from tests.conftest import BACKENDS, to_backend, to_np

try:
    import torch
except ImportError:
    torch = None

SIDES = ["left", "right"]


def cplx(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("side", SIDES)
def test_norm_of_complex_formats(backend, side):
    rng = np.random.default_rng(0)

    def arrays(shapes):
        return [to_backend(cplx(rng, s), backend) for s in shapes]

    formats = [
        st.STTTensor(arrays([(1, 3, 4), (2, 2, 2), (4, 3, 1)]), 2, side),
        st.STRTensor(arrays([(4, 3, 4), (2, 2, 2), (2, 3, 2)]), 2, side),
        st.STRTensor(arrays([(2, 2, 4), (2, 2, 2), (4, 2, 2)]), [2, 1], side),
        st.STTuTensor(*(lambda c: (c[0], c[1:]))(arrays([(2, 4), (3, 1), (2, 2)])), 2, side),
    ]
    for dec in formats:
        norm = to_np(dec.norm())
        assert not np.iscomplexobj(norm)
        assert float(norm) == pytest.approx(np.linalg.norm(to_np(dec.to_tensor())), rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fit", [st.stt_decompose, st.str_decompose, st.sttu_decompose])
def test_fits_refuse_complex_input(backend, fit):
    x = to_backend(cplx(np.random.default_rng(1), (4, 6, 4)), backend)
    with pytest.raises(TypeError, match="tensor must be real"):
        fit(x, 2, 2)


def test_stt_init_with_eps_is_refused():
    x = np.random.default_rng(2).standard_normal((4, 6, 4))
    start = st.stt_decompose(x, 2, 2)
    with pytest.raises(ValueError, match="give ranks instead of eps"):
        st.stt_decompose(x, None, 2, eps=0.3, init=start)


def test_order2_stt_calls_the_callback():
    calls = []
    fit = st.stt_decompose(
        np.random.default_rng(3).random((6, 5)), 2, callback=lambda *a: calls.append(a) or True
    )
    assert [c[0] for c in calls] == [0]
    assert isinstance(calls[0][1], st.STTTensor)
    assert fit.info.stop_reason == "callback"


@pytest.mark.parametrize("backend", BACKENDS)
def test_sttu_half_precision_fits_in_float32_and_casts_back(backend):
    x = np.random.default_rng(4).standard_normal((4, 6, 4))
    if backend == "numpy":
        xh, half = x.astype(np.float16), np.float16
    else:
        xh, half = torch.tensor(x, dtype=torch.bfloat16), torch.bfloat16
    fit = st.sttu_decompose(xh, 2, method="hosvd")
    assert fit.core.dtype == half and all(u.dtype == half for u in fit.factors)


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_sttu_result_is_detached_from_the_input_graph():
    x = torch.tensor(np.random.default_rng(5).standard_normal((4, 6, 4)), requires_grad=True)
    fit = st.sttu_decompose(x, 2, method="hosvd")
    assert not fit.core.requires_grad
    assert not any(u.requires_grad for u in fit.factors)
