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


RING_FITS = {"stt": (stt_decompose, [4, 4]), "str": (str_decompose, [4, 4, 4])}


def _scaled_start(fit, x, scales, poison=None):
    decompose, ranks = RING_FITS[fit]
    start = decompose(x, ranks, 2, method="svd")
    arrays = dict(start.named_arrays())
    for k, (key, scale) in enumerate(zip(sorted(arrays), scales)):
        arrays[key] = arrays[key] * scale
        if poison is not None and k == 1:
            arrays[key] = arrays[key] + poison  # NaN or Inf spreads to the whole core
    return type(start).from_named_arrays(arrays, start.t, start.side, **start.options())


@pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fit", RING_FITS)
@pytest.mark.parametrize(
    "scales", [(1e300,) * 3, (1e100,) * 3, (1e-300,) * 3, (1e250, 1e-250, 1e250)]
)
def test_an_init_of_extreme_magnitude_follows_the_unit_start(fit, scales, backend):
    # Before: LAPACK printed "DLASCL parameter number 4 had an illegal value" and the fit
    # raised LinAlgError (huge cores) or started from an underflowed zero ring (tiny).
    x = to_backend(np.random.default_rng(2).standard_normal((8, 6, 4)), backend)
    decompose, ranks = RING_FITS[fit]
    ref = decompose(x, ranks, 2, init=_scaled_start(fit, x, (1, 1, 1)), n_iter_max=4, warmup=0)
    dec = decompose(x, ranks, 2, init=_scaled_start(fit, x, scales), n_iter_max=4, warmup=0)
    assert np.all(np.isfinite(dec.info.errors))
    np.testing.assert_allclose(dec.info.errors[1:], ref.info.errors[1:], rtol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fit", RING_FITS)
@pytest.mark.parametrize("poison", [np.nan, np.inf])
def test_an_init_holding_nan_or_inf_is_refused_naming_the_core(fit, poison, backend):
    x = to_backend(np.random.default_rng(2).standard_normal((8, 6, 4)), backend)
    decompose, ranks = RING_FITS[fit]
    init = _scaled_start(fit, x, (1, 1, 1), poison=poison)
    with pytest.raises(ValueError, match=r"init\.cores\[1\] contains NaN or Inf"):
        decompose(x, ranks, 2, init=init)
