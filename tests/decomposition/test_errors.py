"""One vocabulary of argument errors for the three fits (STTu, STT, STR).

Every keyword the fits share is checked by the same function of
`semitensor._validation`, so the same bad value gets the same exception and the same
message from each fit. Per-fit rules (rank multiples, init cores) are tested with
each fit.
"""

import numpy as np
import pytest

from semitensor.decomposition.str import str_decompose
from semitensor.decomposition.stt import stt_decompose
from semitensor.decomposition.sttu import sttu_decompose
from tests.conftest import BACKENDS, to_backend

FITS = {"sttu": sttu_decompose, "stt": stt_decompose, "str": str_decompose}

X = np.random.default_rng(0).random((4, 6, 4))

SHARED = [
    (dict(tensor=np.full((4, 6, 4), np.nan)), ValueError, r"tensor contains NaN or Inf"),
    (dict(tensor=np.ones((4, 6, 4)) * 1j), TypeError, r"tensor must be real"),
    (dict(ranks=None), ValueError, r"give ranks \(.*\) or eps; got neither"),
    (dict(eps=0.1), ValueError, r"give either ranks or eps, not both"),
    (dict(ranks=None, eps=2.0), ValueError, r"eps must be a number in \(0, 1\); got 2.0"),
    (dict(ranks=None, eps=0.0), ValueError, r"eps must be a number in \(0, 1\); got 0.0"),
    (
        dict(ranks=None, eps="0.1"),
        TypeError,
        r"eps must be a number in \(0, 1\) or None; got '0.1'",
    ),
    (dict(ranks=None, eps=True), TypeError, r"eps must be a number in \(0, 1\) or None; got True"),
    (dict(tol=-1.0), ValueError, r"tol must be a finite non-negative number; got -1.0"),
    (dict(tol=float("nan")), ValueError, r"tol must be a finite non-negative number; got nan"),
    (dict(tol="1e-3"), TypeError, r"tol must be a non-negative number; got '1e-3' of type str"),
    (dict(tol=False), TypeError, r"tol must be a non-negative number; got False"),
    (dict(n_iter_max=0), ValueError, r"n_iter_max must be a positive integer; got 0"),
    (dict(n_iter_max=2.5), TypeError, r"n_iter_max must be a positive integer; got 2.5"),
    (dict(callback=3), TypeError, r"callback must be callable or None; got 3 of type int"),
    (dict(random_state="x"), TypeError, r"random_state must be None, an int"),
    (dict(side="up"), ValueError, r"side must be 'left' or 'right'; got 'up'"),
    (dict(method="bogus"), ValueError, r"method must be .*; got 'bogus'"),
    (dict(t=0), ValueError, r"t must be a positive integer; got 0"),
    (dict(t="2"), TypeError, r"t must be a positive int or a list of one per"),
]


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize("kwargs, err, match", SHARED)
def test_shared_keywords_fail_alike(fit, kwargs, err, match):
    args = {"tensor": X, "ranks": 2, "t": 2, **kwargs}
    with pytest.raises(err, match=match):
        FITS[fit](**args)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fit", FITS)
def test_fits_refuse_complex_input(backend, fit):
    rng = np.random.default_rng(1)
    x = to_backend(rng.standard_normal((4, 6, 4)) + 1j * rng.standard_normal((4, 6, 4)), backend)
    with pytest.raises(TypeError, match="tensor must be real"):
        FITS[fit](x, 2, 2)


@pytest.mark.parametrize("fit", FITS)
def test_masked_arrays_are_fitted_on_their_unmasked_entries(fit):
    # Issue 12: a numpy masked array is its data plus its mask (masked = unobserved),
    # never its data with the values under the mask (tests/decomposition/test_masked.py).
    x = np.ma.masked_array(X, mask=X > 0.9)
    a = FITS[fit](x, 2, 2, random_state=0)
    b = FITS[fit](np.where(X > 0.9, np.nan, X), 2, 2, mask=X <= 0.9, random_state=0)
    assert a.info.errors == b.info.errors
    assert a.info.errors != FITS[fit](X, 2, 2, random_state=0).info.errors


@pytest.mark.parametrize("fit", FITS)
def test_zero_size_tensors_are_refused(fit):
    with pytest.raises(ValueError, match=r"must not have a mode of size 0; got shape \(4, 0, 4\)"):
        FITS[fit](np.zeros((4, 0, 4)), 2, 2)


@pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")
@pytest.mark.parametrize("fit", FITS)
def test_a_callback_that_edits_its_argument_cannot_corrupt_the_fit(fit):
    def vandal(iteration, dec, err):
        arrays = dec.cores if hasattr(dec, "cores") else [dec.core, *dec.factors]
        for a in arrays:
            a[...] = 0.0

    kw = {"n_iter_max": 5} if fit == "sttu" else {"n_iter_max": 5, "random_state": 0}
    clean = FITS[fit](X, 2, 2, **kw)
    edited = FITS[fit](X, 2, 2, callback=vandal, **kw)
    assert edited.info.errors == clean.info.errors
    np.testing.assert_allclose(edited.to_tensor(), clean.to_tensor())


@pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")
@pytest.mark.parametrize("fit", ["stt", "str"])
@pytest.mark.parametrize("seed", range(4))
def test_error_history_has_one_entry_per_sweep(fit, seed):
    x = np.random.default_rng(seed).random((5, 6, 4, 3))
    dec = FITS[fit](x, 2, 2, warmup=5, random_state=seed, n_iter_max=12)
    assert len(dec.info.errors) == dec.info.n_iter + 1
    assert dec.info.rel_error <= dec.info.errors[0] * (1 + 1e-12)


@pytest.mark.parametrize("fit", ["stt", "str"])
def test_bonds_no_unfolding_can_use_are_refused_before_any_work(fit):
    x = np.random.default_rng(2).random((4, 6, 8))  # 192 entries
    with pytest.raises(ValueError, match=r"ranks\[0\] = 2000 exceeds \d+, the largest useful"):
        FITS[fit](x, 2000, 2)


@pytest.mark.parametrize("fit", FITS)
def test_negative_seeds_are_refused_with_the_argument_named(fit):
    with pytest.raises(ValueError, match=r"random_state must be a non-negative int .*; got -1"):
        FITS[fit](X, 2, 2, random_state=-1)


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize("dtype", ["<U1", object])
def test_fits_refuse_non_numeric_tensors(fit, dtype):
    x = np.full((2, 2, 2), "1", dtype=dtype)
    with pytest.raises(TypeError, match=r"tensor must hold real numbers; got an array of dtype"):
        FITS[fit](x, 2, 1)


@pytest.mark.parametrize("fit", FITS)
def test_long_double_tensors_are_fitted_in_float64(fit):
    dec = FITS[fit](X.astype(np.longdouble), 2, 2)
    assert np.isfinite(dec.info.rel_error) and dec.info.rel_error < 1
