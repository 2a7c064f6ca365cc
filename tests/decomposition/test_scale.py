"""Fits are scale-invariant: tiny and huge tensors fit as well as their unit-scale twins."""

import numpy as np
import pytest

from semitensor.decomposition.str import str_decompose
from semitensor.decomposition.stt import stt_decompose
from semitensor.decomposition.sttu import sttu_decompose
from tests.conftest import BACKENDS, to_backend, to_np

FITS = {
    "sttu": lambda x: sttu_decompose(x, [4, 2, 2], 2),
    "stt": lambda x: stt_decompose(x, [4, 4], 2, random_state=0, warmup=0, n_iter_max=30),
    "str": lambda x: str_decompose(x, 4, 2, random_state=0, warmup=0, n_iter_max=30),
}


@pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize("scale", [1e-170, 1e-120, 1e154, 1e200])
def test_extreme_magnitudes_fit_like_unit_scale(fit, scale, backend):
    x = np.random.default_rng(0).standard_normal((8, 6, 4))
    ref = FITS[fit](to_backend(x, backend))
    dec = FITS[fit](to_backend(x * scale, backend))
    assert dec.info.stop_reason != "exact" and dec.info.rel_error > 0.1
    assert dec.info.rel_error == pytest.approx(ref.info.rel_error, rel=1e-8)
    approx = to_np(dec.to_tensor()) / scale
    assert np.all(np.isfinite(approx))
    np.testing.assert_allclose(approx, to_np(ref.to_tensor()), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("fit", FITS)
def test_one_entry_at_the_largest_float(fit):
    x = np.random.default_rng(1).standard_normal((8, 6, 4))
    x[0, 0, 0] = np.finfo(np.float64).max
    dec = FITS[fit](x)
    assert np.all(np.isfinite(dec.info.errors)) and dec.info.rel_error < 1e-12
    assert dec.to_tensor()[0, 0, 0] == pytest.approx(x[0, 0, 0], rel=1e-10)
