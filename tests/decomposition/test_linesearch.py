"""linesearch=True: Bro's extrapolation of the one-core sweeps of the STT/STR fits."""

import warnings

import numpy as np
import pytest

from semitensor.decomposition.str import str_decompose
from semitensor.decomposition.stt import stt_decompose
from semitensor.exceptions import ConvergenceWarning
from tests.conftest import BACKENDS, to_backend, to_np
from tests.oracles import random_stt_tensor

FITS = {"stt": stt_decompose, "str": str_decompose}


def _data(seed=0):
    """A smooth tensor plus noise: a slow ALS tail, where extrapolation pays."""
    rng = np.random.default_rng(seed)
    g = np.linspace(0, 1, 10)
    grid = np.meshgrid(g, g, g, g, indexing="ij")
    x = np.exp(-sum((k + 1) * v for k, v in enumerate(grid)))
    return x + 0.02 * np.linalg.norm(x) / 100 * rng.standard_normal(x.shape)


def _fit(fmt, x, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return FITS[fmt](x, 4, 2, random_state=0, **kw)


@pytest.mark.parametrize("fmt", FITS)
def test_no_sweep_raises_the_error_and_fixed_sweeps_end_lower(fmt):
    x = _data()
    plain = _fit(fmt, x, tol=0, n_iter_max=40, warmup=0)
    fast = _fit(fmt, x, tol=0, n_iter_max=40, warmup=0, linesearch=True)
    errors = fast.info.errors
    assert len(errors) == 41
    assert all(b <= a * (1 + 1e-12) for a, b in zip(errors, errors[1:]))
    assert fast.info.rel_error < plain.info.rel_error
    np.testing.assert_allclose(
        np.linalg.norm(fast.to_tensor() - x) / np.linalg.norm(x), fast.info.rel_error, rtol=1e-6
    )


@pytest.mark.parametrize("fmt", FITS)
def test_torch_agrees_with_numpy(fmt):
    torch = pytest.importorskip("torch")
    x = _data(1)
    kw = dict(tol=0, n_iter_max=15, linesearch=True)
    a = _fit(fmt, x, **kw)
    b = _fit(fmt, torch.tensor(x), **kw)
    assert isinstance(b.cores[0], torch.Tensor)
    np.testing.assert_allclose(b.info.errors, a.info.errors, rtol=1e-8)
    # The step (up to 15^(1/3)) amplifies rounding along the trajectory: the tensors,
    # not the bit patterns of the cores, are compared.
    full_a, full_b = a.to_tensor(), to_np(b.to_tensor())
    assert np.linalg.norm(full_b - full_a) / np.linalg.norm(full_a) < 1e-7


@pytest.mark.parametrize("backend", BACKENDS)
def test_exact_instances_are_still_recovered(backend):
    hits = 0
    for seed in range(8):
        x = random_stt_tensor((6, 8, 8, 6), 8, 2, seed)
        fit = stt_decompose(to_backend(x, backend), 8, 2, random_state=seed, linesearch=True)
        err = np.linalg.norm(to_np(fit.to_tensor()) - x) / np.linalg.norm(x)
        hits += err < 1e-8
    assert hits == 8


def test_bad_linesearch_is_refused():
    x = _data()
    with pytest.raises(TypeError, match="linesearch must be True or False; got 1 of type int"):
        stt_decompose(x, 4, 2, linesearch=1)
    da = pytest.importorskip("dask.array")
    with pytest.raises(TypeError, match="linesearch is not supported for dask arrays"):
        str_decompose(da.from_array(x), 4, 2, linesearch=True)
