"""Completion from samples (no dense array): exact recovery, validation, bad samples."""

import numpy as np
import pytest

from semitensor import STRTensor, STTTensor, complete
from semitensor.decomposition._masked_als import ring_values
from semitensor.exceptions import ConvergenceWarning
from semitensor.formats.chain import stt_to_ring
from tests.conftest import BACKENDS, to_backend, to_np

pytestmark = pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")


def _tt(rng, n, size, r):
    shapes = [(1 if k == 0 else r, size, 1 if k == n - 1 else r) for k in range(n)]
    return [np.linalg.qr(rng.standard_normal((a * b, c)))[0].reshape(a, b, c) for a, b, c in shapes]


def _at(cores, idx):
    return ring_values(cores, [idx[:, k] for k in range(idx.shape[1])])


# Measured: a 30^4 TT of ranks 3 from 40 samples per parameter (3.5% of the entries)
# is recovered in about 20 sweeps from random cores; from 10 per parameter at 50^4
# (0.2%) masked ALS from random cores stalls at training errors near 0.7.
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_tensor_train_is_recovered_from_samples(backend, seed):
    rng = np.random.default_rng(100 + seed)
    cores = _tt(rng, 4, 30, 3)
    n_params = sum(c.size for c in cores)
    idx = rng.integers(0, 30, size=(40 * n_params, 4))
    test = rng.integers(0, 30, size=(2000, 4))
    vals = to_backend(_at(cores, idx), backend)
    fit = complete(idx, vals, (30,) * 4, ranks=3, t=1, random_state=seed, tol=1e-8)
    assert isinstance(fit, STTTensor) and fit.info.rel_error < 1e-10
    got = _at(stt_to_ring([to_np(c) for c in fit.cores], 1, "left"), test)
    truth = _at(cores, test)
    assert np.linalg.norm(got - truth) / np.linalg.norm(truth) < 1e-8


def test_the_dense_masked_fit_and_the_samples_fit_are_one_engine(monkeypatch):
    from semitensor import stt_decompose
    from semitensor.decomposition import _masked_fit

    # Left to itself the dense fit runs the grid sweep (the per-sample sweep in other
    # arithmetic, tested in test_masked.py) with an extrapolation complete() has not.
    monkeypatch.setattr(_masked_fit, "choose_route", lambda observed, ranks: "samples")
    rng = np.random.default_rng(3)
    x = rng.random((5, 6, 4))
    mask = rng.random(x.shape) < 0.6
    idx = np.argwhere(mask)
    a = complete(idx, x[mask], x.shape, ranks=2, t=2, random_state=0, n_iter_max=5)
    b = stt_decompose(x, 2, 2, mask=mask, init="random", random_state=0, n_iter_max=5)
    np.testing.assert_allclose(a.info.errors, b.info.errors, rtol=1e-12)
    np.testing.assert_allclose(a.to_tensor(), b.to_tensor(), rtol=1e-10, atol=1e-12)


def test_str_completion_with_validation_returns_the_best_held_out_state():
    rng = np.random.default_rng(4)
    x = rng.random((6, 6, 6))
    idx = np.argwhere(rng.random(x.shape) < 0.5)
    val = np.argwhere(rng.random(x.shape) < 0.2)
    fit = complete(
        idx,
        x[tuple(idx.T)],
        x.shape,
        ranks=4,
        t=2,
        format="str",
        validation=(val, x[tuple(val.T)]),
        random_state=0,
        n_iter_max=100,
    )
    assert isinstance(fit, STRTensor)
    held = fit.info.held_out_errors
    assert len(held) == len(fit.info.errors)
    diff = fit.to_tensor()[tuple(val.T)] - x[tuple(val.T)]
    assert np.linalg.norm(diff) / np.linalg.norm(x[tuple(val.T)]) == pytest.approx(min(held))


def test_str_completion_places_the_full_core_as_str_decompose_does():
    rng = np.random.default_rng(5)
    x = rng.random((7, 6, 3))
    idx = np.argwhere(rng.random(x.shape) < 0.7)
    kw = dict(ranks=4, t=2, format="str", random_state=0, n_iter_max=5, tol=0)
    with pytest.warns(ConvergenceWarning):
        auto = complete(idx, x[tuple(idx.T)], x.shape, **kw)
    with pytest.warns(ConvergenceWarning):
        first = complete(idx, x[tuple(idx.T)], x.shape, full_core=0, **kw)
    assert auto.full_core == 2 and first.full_core == 0  # the smallest mode, or the asked one
    assert auto.n_params < first.n_params
    np.testing.assert_allclose(auto.to_tensor(), first.to_tensor(), atol=1e-12)
    with pytest.raises(ValueError, match="full_core applies to format='str' only"):
        complete(idx, x[tuple(idx.T)], x.shape, ranks=4, full_core=1)


IDX = np.array([[0, 0], [1, 1], [2, 0], [0, 1]])
VALS = np.array([1.0, 2.0, 3.0, 4.0])

BAD = [
    (dict(indices=IDX[:, :1]), ValueError, r"indices must have shape \(P, N\) = \(4, 2\)"),
    (dict(indices=IDX * 1.0), TypeError, r"indices must be integers; got dtype float64"),
    (
        dict(indices=IDX + [0, 1]),
        ValueError,
        r"row 1 = \[1, 2\] is out of range for shape \(3, 2\)",
    ),
    (dict(values=VALS[:, None]), ValueError, r"values must be 1-d"),
    (dict(values=np.array([1.0, np.nan, 3.0, 4.0])), ValueError, r"values contains NaN or Inf"),
    (dict(shape=(4, 2)), ValueError, r"no sample in slice 3 of mode 0"),
    (dict(shape=(3,)), ValueError, r"shape must be a tuple of at least 2 mode sizes"),
    (dict(format="tucker"), ValueError, r"format must be"),
]


@pytest.mark.parametrize("kwargs, err, match", BAD)
def test_bad_samples_are_refused_naming_what_is_wrong(kwargs, err, match):
    args = {"indices": IDX, "values": VALS, "shape": (3, 2), "ranks": 1, "t": 1, **kwargs}
    with pytest.raises(err, match=match):
        complete(**args)
