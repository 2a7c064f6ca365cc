"""str_decompose(full_core=...): where the full core sits changes the count, not the fit."""

import numpy as np
import pytest

from semitensor.decomposition.str import str_decompose
from semitensor.formats.chain import str_params
from semitensor.formats.str import STRTensor
from tests.conftest import BACKENDS, to_backend, to_np

SHAPE = (8, 6, 3, 5)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    base = np.add.outer(np.add.outer(np.arange(8.0), np.arange(6.0)), np.arange(3.0))
    return np.sin(np.add.outer(base, np.arange(5.0)) / 4) + 0.1 * rng.standard_normal(SHAPE)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("side", ["left", "right"])
def test_every_placement_fits_the_same_tensor_and_auto_is_the_smallest(backend, side):
    x = to_backend(_data(), backend)
    fits = {
        m: str_decompose(x, 4, 2, side=side, random_state=0, n_iter_max=10, full_core=m)
        for m in ["auto", 0, 1, 2, 3]
    }
    ref = to_np(fits[0].to_tensor())
    for fit in fits.values():
        assert type(fit.cores[0]) is type(x)
        np.testing.assert_allclose(fit.info.errors, fits[0].info.errors, rtol=1e-10)
        np.testing.assert_allclose(to_np(fit.to_tensor()), ref, atol=1e-10)
        assert fit.n_params == str_params(SHAPE, [4] * 4, 2, fit.full_core)
        assert fit.ranks == (4, 4, 4, 4)
    # mode 2 (size 3) is the smallest: the full 4×3×4 core there saves 3/4 of 4·I·4
    assert fits["auto"].full_core == 2
    assert fits["auto"].n_params == min(f.n_params for f in fits.values()) == 4 * 3 * 4 + 19 * 4
    assert fits[0].n_params == 4 * 8 * 4 + 14 * 4


def test_a_start_with_another_full_core_is_the_same_start():
    x = _data(1)
    start = str_decompose(x, 4, 2, method="svd", full_core=0)
    moved = str_decompose(x, 4, 2, method="svd", full_core=3)
    assert moved.full_core == 3 and start.full_core == 0
    a = str_decompose(x, 4, 2, init=start, n_iter_max=3, warmup=0, full_core=1)
    b = str_decompose(x, 4, 2, init=moved, n_iter_max=3, warmup=0, full_core=1)
    assert a.full_core == b.full_core == 1
    np.testing.assert_allclose(a.info.errors, b.info.errors, rtol=1e-10)


@pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")
def test_full_core_with_eps_and_with_a_mask():
    x = _data(2)
    fit = str_decompose(x, None, 2, eps=0.2, random_state=0, full_core="auto")
    assert fit.info.rel_error <= 0.2 and fit.full_core == 2
    mask = np.random.default_rng(0).random(SHAPE) < 0.8
    masked = str_decompose(x, 4, 2, mask=mask, random_state=0, n_iter_max=5, full_core=3)
    assert masked.full_core == 3
    assert isinstance(masked, STRTensor) and masked.shape == SHAPE


@pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")
def test_dask_fit_places_the_full_core_as_numpy_does():
    da = pytest.importorskip("dask.array")
    x = _data(3)
    kw = dict(init="random", warmup=0, random_state=0, n_iter_max=3)
    want = str_decompose(x, 4, 2, **kw)
    got = str_decompose(da.from_array(x, chunks=(4, 6, 3, 5)), 4, 2, **kw)
    assert got.full_core == want.full_core == 2
    np.testing.assert_allclose(got.to_tensor(), want.to_tensor(), atol=1e-10)


def test_bad_full_core_is_refused():
    x = _data()
    with pytest.raises(TypeError, match="full_core must be 'auto' or a mode"):
        str_decompose(x, 4, 2, full_core="smallest")
    with pytest.raises(TypeError, match="full_core must be 'auto' or a mode"):
        str_decompose(x, 4, 2, full_core=True)
    with pytest.raises(ValueError, match=r"full_core must be in \[-4, 3\].*got 4"):
        str_decompose(x, 4, 2, full_core=4)
