"""Masked fits of STT and STR: exact completion, parity, the engine, bad masks."""

import warnings

import numpy as np
import pytest

from semitensor import ConvergenceWarning
from semitensor.decomposition._masked_als import masked_sweep
from semitensor.decomposition._masked_fit import samples_of
from semitensor.decomposition._ring_als import Ring, Sweeper
from semitensor.decomposition._starts import random_ring, ring_to_tensor
from semitensor.decomposition.str import str_decompose
from semitensor.decomposition.stt import stt_decompose
from semitensor.formats.str import STRTensor
from semitensor.formats.stt import STTTensor
from tests.conftest import BACKENDS, to_backend, to_np

FITS = {"stt": stt_decompose, "str": str_decompose}
SHAPE = (6, 7, 8, 6)
# Short fits (a few sweeps) are the point of several tests below.
pytestmark = pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")


def _instance(fmt, t, seed):
    """A random exact STT/STR of bond R = 2t (t > 1) or 3 (t = 1), and its parameter count."""
    rng = np.random.default_rng(seed)
    r = 2 * t if t > 1 else 3
    inner = [(r // t, SHAPE[k], r // t) for k in range(1, 4)]
    if fmt == "stt":
        shapes = [(1, SHAPE[0], r), *inner[:2], (r, SHAPE[3], 1)]
        ref = STTTensor([rng.standard_normal(s) for s in shapes], t=t)
        return ref.to_tensor(), r, ref.n_params, rng
    ref = STRTensor([rng.standard_normal(s) for s in [(r, SHAPE[0], r), *inner]], t=t)
    return ref.to_tensor(), r, ref.compact().n_params, rng


def _random_mask(rng, shape, count):
    flat = np.zeros(int(np.prod(shape)), dtype=bool)
    flat[rng.choice(flat.size, count, replace=False)] = True
    return flat.reshape(shape)


def _held_out(fit, x, mask):
    diff = (to_np(fit.to_tensor()) - x)[~mask]
    return np.linalg.norm(diff) / np.linalg.norm(x[~mask])


# (format, t, samples per parameter, n_restarts): measured over seeds 0-19 with the
# "svd" start, held-out errors below 1e-8 in 19-20 of 20 (t = 2 at three samples per
# parameter: 9 (STT) and 13 (STR) of 20, the rest stuck at training errors 0.2-0.4).
EXACT = [("stt", 2, 5, 3), ("stt", 1, 4, 1), ("str", 2, 5, 5), ("str", 1, 3, 3)]


@pytest.mark.parametrize("fmt, t, per_param, restarts", EXACT)
def test_exact_completion_in_19_of_20_seeds(fmt, t, per_param, restarts):
    recovered = 0
    for seed in range(20):
        x, r, n_params, rng = _instance(fmt, t, seed)
        mask = _random_mask(rng, SHAPE, per_param * n_params)
        assert mask.mean() < 0.6  # a completion, not a fit of almost everything
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = FITS[fmt](
                np.where(mask, x, np.nan),
                ranks=r,
                t=t,
                mask=mask,
                n_restarts=restarts,
                n_iter_max=1000,
                random_state=seed,
            )
        recovered += _held_out(fit, x, mask) < 1e-8
    assert recovered >= 19


@pytest.mark.parametrize("fmt", FITS)
def test_the_values_under_the_mask_are_never_read(fmt):
    x, r, n_params, rng = _instance(fmt, 2, 1)
    mask = _random_mask(rng, SHAPE, 5 * n_params)
    a = FITS[fmt](np.where(mask, x, 0.0), r, 2, mask=mask, random_state=0, n_iter_max=20)
    junk = np.where(mask, x, rng.standard_normal(SHAPE) * 1e6)
    b = FITS[fmt](junk, r, 2, mask=mask, random_state=0, n_iter_max=20)
    c = FITS[fmt](np.where(mask, x, np.nan), r, 2, mask=mask, random_state=0, n_iter_max=20)
    for other in (b, c):
        assert other.info.errors == a.info.errors
        for ca, co in zip(a.cores, other.cores):
            np.testing.assert_array_equal(ca, co)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fmt", FITS)
def test_a_mask_of_all_true_is_the_unmasked_fit(backend, fmt):
    x = to_backend(np.random.default_rng(2).random((4, 6, 4)), backend)
    mask = to_backend(np.ones((4, 6, 4), dtype=bool), backend)
    a = FITS[fmt](x, 2, 2, random_state=0, n_iter_max=5)
    b = FITS[fmt](x, 2, 2, mask=mask, random_state=0, n_iter_max=5)
    assert a.info.errors == b.info.errors
    for ca, cb in zip(a.cores, b.cores):
        np.testing.assert_array_equal(to_np(ca), to_np(cb))


def test_a_masked_sweep_over_every_entry_is_the_unmasked_least_squares_sweep():
    rng = np.random.default_rng(3)
    shape, ranks = (4, 5, 6, 3), [2, 3, 2, 3, 2]
    x = rng.standard_normal(shape)
    start = random_ring(shape, ranks, rng)
    ring = Ring(x, start)
    err = Sweeper(ring).one_core_sweep()
    cores = list(start)
    err_masked = masked_sweep(samples_of(x, np.ones(shape, dtype=bool)), cores)
    assert err_masked == pytest.approx(err, rel=1e-10)
    for a, b in zip(ring.cores, cores):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("observed, cache", [(0.05, True), (0.5, True), (0.5, False)])
def test_the_grid_sweep_is_the_sampled_sweep(backend, observed, cache, monkeypatch):
    from semitensor.decomposition import _masked_grid
    from semitensor.decomposition._masked_grid import GridSweep

    if not cache:  # the unfoldings made afresh at each core update
        monkeypatch.setattr(_masked_grid, "_CACHE_ENTRIES", 0)

    rng = np.random.default_rng(7)
    shape, ranks = (5, 6, 4, 7), [2, 3, 4, 1, 2]
    x = rng.standard_normal(shape)
    mask = rng.random(shape) < observed
    mask[0, 0, 0, :] = mask[0, :, 0, 0] = mask[:, 0, 0, 0] = mask[0, 0, :, 0] = True
    x = np.where(mask, x, 0.0)
    start = [to_backend(c, backend) for c in random_ring(shape, ranks, rng)]
    grid = GridSweep(to_backend(x, backend), to_backend(mask, backend))
    sampled, gridded = list(start), list(start)
    samples = samples_of(to_backend(x, backend), to_backend(mask, backend))
    diff = np.where(mask, x - ring_to_tensor([to_np(c) for c in start]), 0.0)
    assert grid.error(start) == pytest.approx(np.linalg.norm(diff) / np.linalg.norm(x), rel=1e-10)
    for _ in range(3):
        assert grid(gridded) == pytest.approx(masked_sweep(samples, sampled), rel=1e-9)
    for a, b in zip(sampled, gridded):
        np.testing.assert_allclose(to_np(b), to_np(a), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "observed, ranks, route",
    [
        (0.99, [4, 4, 4, 4], "em"),
        (0.5, [4, 4, 4, 4], "em"),  # EM sweeps cheap against (r r)² Grams
        (0.5, [2, 4, 1, 2], "grid"),  # small Grams: the exact sweep
        (0.2, [4, 4, 4, 4], "grid"),
        (0.1, [2, 2, 2, 2], "grid"),
        (0.05, [4, 4, 4, 4], "samples"),
    ],
)
def test_the_masked_sweep_is_chosen_by_observed_fraction_and_ranks(observed, ranks, route):
    from semitensor.decomposition._masked_fit import MaskedData, choose_route

    assert choose_route(observed, ranks) == route
    mask = np.random.default_rng(0).random((10, 10, 10)) < 0.5
    forced = MaskedData(np.where(mask, 1.0, 0.0), mask, route="samples")
    assert forced.route == "samples"


@pytest.mark.parametrize("fmt", FITS)
def test_numpy_and_torch_agree_on_a_masked_fit(fmt):
    pytest.importorskip("torch")
    x, r, n_params, rng = _instance(fmt, 2, 4)
    mask = _random_mask(rng, SHAPE, 5 * n_params)
    a = FITS[fmt](x, r, 2, mask=mask, random_state=0, n_iter_max=30)
    b = FITS[fmt](
        to_backend(x, "torch"), r, 2, mask=to_backend(mask, "torch"), random_state=0, n_iter_max=30
    )
    np.testing.assert_allclose(b.info.errors, a.info.errors, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(to_np(b.to_tensor()), a.to_tensor(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("fmt", FITS)
def test_a_numpy_masked_array_is_its_data_and_its_mask(fmt):
    x, r, n_params, rng = _instance(fmt, 2, 5)
    mask = _random_mask(rng, SHAPE, 5 * n_params)
    a = FITS[fmt](np.ma.masked_array(x, mask=~mask), r, 2, random_state=0, n_iter_max=10)
    b = FITS[fmt](x, r, 2, mask=mask, random_state=0, n_iter_max=10)
    assert a.info.errors == b.info.errors
    # ... and a mask given with it observes only what both observe.
    half = mask & (rng.random(SHAPE) < 0.8)
    c = FITS[fmt](np.ma.masked_array(x, mask=~mask), r, 2, mask=half, random_state=0, n_iter_max=10)
    d = FITS[fmt](x, r, 2, mask=half, random_state=0, n_iter_max=10)
    assert c.info.errors == d.info.errors


@pytest.mark.parametrize("fmt", FITS)
def test_validation_mask_records_held_out_errors_and_stops_on_them(fmt):
    rng = np.random.default_rng(6)
    x = rng.random((8, 8, 8))  # noise: the held-out error cannot keep improving
    mask = rng.random(x.shape) < 0.7
    val = mask & (rng.random(x.shape) < 0.3)
    fit = FITS[fmt](x, 4, 2, mask=mask, validation_mask=val, random_state=0, n_iter_max=200)
    info = fit.info
    assert len(info.held_out_errors) == len(info.errors) == info.n_iter + 1
    assert info.stop_reason in ("held_out", "tol")
    best = int(np.argmin(info.held_out_errors))
    if info.stop_reason == "held_out":
        assert info.n_iter - best == 5 and info.best_iter == best
    # The state returned is the one of least held-out error.
    got = np.linalg.norm((fit.to_tensor() - x)[val]) / np.linalg.norm(x[val])
    assert got == pytest.approx(min(info.held_out_errors), rel=1e-8)
    # The held-out entries are never fitted: changing them changes no training error.
    y = np.where(val, -x, x)
    other = FITS[fmt](y, 4, 2, mask=mask, validation_mask=val, random_state=0, n_iter_max=3)
    first = FITS[fmt](x, 4, 2, mask=mask, validation_mask=val, random_state=0, n_iter_max=3)
    assert other.info.errors == first.info.errors


X = np.random.default_rng(0).random((4, 6, 4))
M = np.random.default_rng(1).random((4, 6, 4)) < 0.7

BAD = [
    (
        dict(mask=M[:, :5]),
        ValueError,
        r"mask must have the tensor's shape \(4, 6, 4\); got shape \(4, 5, 4\)",
    ),
    (
        dict(mask=M.astype(int)),
        TypeError,
        r"mask must be a boolean array \(True = observed\); got dtype int64",
    ),
    (dict(mask=np.zeros_like(M)), ValueError, r"mask observes no entry \(all False\)"),
    (
        dict(mask=np.where(np.arange(6)[None, :, None] == 3, False, M)),
        ValueError,
        r"mask observes no entry of mode 1 at index 3 \(empty slices of mode 1: \[3\]\)",
    ),
    (
        dict(tensor=np.where(M & (X > 0.9), np.nan, X), mask=M),
        ValueError,
        r"tensor \(at its observed entries, where the mask is True\) contains NaN or Inf",
    ),
    (dict(tensor=np.where(M, X, np.nan)), ValueError, r"tensor contains NaN or Inf"),
    (
        dict(mask=M, validation_mask=np.zeros_like(M)),
        ValueError,
        r"validation_mask holds out no entry",
    ),
    (dict(validation_mask=M[0]), ValueError, r"validation_mask must have the tensor's shape"),
]


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize("kwargs, err, match", BAD)
def test_bad_masks_are_refused_naming_what_is_wrong(fit, kwargs, err, match):
    args = {"tensor": X, "ranks": 2, "t": 2, **kwargs}
    with pytest.raises(err, match=match):
        FITS[fit](**args)


@pytest.mark.parametrize("fit", FITS)
def test_a_torch_mask_with_a_numpy_tensor_is_a_type_error(fit):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        FITS[fit](X, 2, 2, mask=torch.from_numpy(M))


@pytest.mark.parametrize("fit", FITS)
def test_eps_is_reached_on_the_observed_entries(fit):
    x, r, n_params, rng = _instance(fit, 2, 7)
    mask = _random_mask(rng, SHAPE, 6 * n_params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = FITS[fit](x, None, 2, eps=1e-3, mask=mask, random_state=0, n_restarts=3)
    observed = np.linalg.norm((res.to_tensor() - x)[mask]) / np.linalg.norm(x[mask])
    assert observed == pytest.approx(res.info.rel_error, rel=1e-6, abs=1e-12)
    assert res.info.rel_error <= 1e-3 or res.info.ranks_used is not None


@pytest.mark.parametrize("fmt", FITS)
def test_few_missing_entries_are_fitted_by_em_sweeps_that_never_raise_the_error(fmt):
    from semitensor.decomposition._masked_fit import choose_route

    assert choose_route(0.85, [2, 2, 2, 2, 2]) == "em"  # both formats' rings at R = 4, t = 2
    recovered = 0
    for seed in range(10):
        x, r, _, rng = _instance(fmt, 2, seed)
        mask = rng.random(SHAPE) >= 0.15  # 15% missing: EM sweeps at these ranks
        fit = FITS[fmt](np.where(mask, x, np.nan), r, 2, mask=mask, random_state=seed,
                        n_restarts=3, n_iter_max=1000)  # fmt: skip
        errors = fit.info.errors[1:]
        assert all(b <= a * (1 + 1e-9) + 1e-14 for a, b in zip(errors, errors[1:]))
        observed = np.linalg.norm((fit.to_tensor() - x)[mask]) / np.linalg.norm(x[mask])
        assert observed == pytest.approx(fit.info.rel_error, rel=1e-6, abs=1e-12)
        recovered += _held_out(fit, x, mask) < 1e-8
    assert recovered >= 9


def test_the_extrapolated_sweep_keeps_the_trial_only_when_it_lowers_the_error():
    from semitensor.decomposition._masked_fit import Extrapolated

    class Step:  # moves each core by +1; the error is the distance of core 0 from `goal`
        def __init__(self, goal):
            self.goal = goal

        def __call__(self, cores):
            cores[:] = [c + 1.0 for c in cores]
            return self.error(cores)

        def error(self, cores):
            return float(abs(cores[0][0] - self.goal))

    for goal, expected in ((10.0, 1.0 + 2 ** (1 / 3)), (2.0, 2.0)):
        step = Extrapolated(Step(goal))
        cores = [np.zeros(1)]
        step(cores)  # the first sweep is never extrapolated
        assert cores[0][0] == 1.0
        step(cores)  # from 1 to 2, then 1 + 2^(1/3) (2 -> 2.26) when that is closer
        assert cores[0][0] == pytest.approx(expected)


@pytest.mark.parametrize("fmt", FITS)
def test_exact_masked_sweeps_never_raise_the_training_error(fmt):
    rng = np.random.default_rng(8)
    x = rng.random((8, 9, 10))
    mask = rng.random(x.shape) < 0.5
    fit = FITS[fmt](x, 4, 2, mask=mask, random_state=0, n_iter_max=40, tol=0)
    errors = fit.info.errors[1:]
    assert len(errors) == 40
    assert all(b <= a * (1 + 1e-12) for a, b in zip(errors, errors[1:]))
