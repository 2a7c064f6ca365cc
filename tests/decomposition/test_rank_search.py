"""The eps search of the ring fits: the STR's starting rank floor and the budget step."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semitensor.decomposition._rank_search import grow_until_eps, ring_rank_floor
from semitensor.decomposition.fitinfo import FitInfo
from semitensor.decomposition.str import str_decompose
from semitensor.exceptions import ConvergenceWarning
from tests.conftest import BACKENDS, to_backend


def _ring(shape, q, rng):
    cores = [rng.standard_normal((q, s, q)) for s in shape]
    out = cores[0]
    for g in cores[1:]:
        out = np.tensordot(out, g, axes=([-1], [0]))
    return np.trace(out, axis1=0, axis2=-1)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(2, 6), min_size=2, max_size=4),
    q=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    backend=st.sampled_from(BACKENDS),
)
def test_the_floor_never_exceeds_the_rank_of_an_exact_ring(shape, q, seed, backend):
    x = _ring(shape, q, np.random.default_rng(seed))
    assert ring_rank_floor(to_backend(x, backend), 1e-9) <= q


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(2, 7), min_size=2, max_size=4),
    eps=st.floats(0.01, 0.9),
    seed=st.integers(0, 2**16),
)
def test_the_floor_is_the_eckart_young_bound_of_every_cut(shape, eps, seed):
    # A ring of uniform rank q has unfoldings of rank <= q^2: below the floor, some
    # cut's best rank-q^2 approximation already misses eps.
    x = np.random.default_rng(seed).standard_normal(shape)
    q = ring_rank_floor(x, eps)
    budget = (eps * np.linalg.norm(x)) ** 2
    tails = []
    for k in range(1, len(shape)):
        s = np.linalg.svd(x.reshape(math.prod(shape[:k]), -1), compute_uv=False)
        tails.append(lambda r, s=s: float(np.sum(s[r:] ** 2)))
    assert all(tail(q * q) <= budget * (1 + 1e-12) for tail in tails)
    if q > 1:
        assert any(tail((q - 1) ** 2) > budget for tail in tails)


def test_growth_takes_one_step_when_a_fifth_would_pass_the_budget():
    # Before: 12 -> 16 passed the budget of entries and the search gave up, although 14
    # fitted (the COVID-19 tensor at eps = 0.1 stopped at 0.17 instead of 0.096).
    seen = []

    def fit(bonds, previous):
        seen.append(list(bonds))
        return None, FitInfo(method="als", errors=[0.5 if bonds[0] < 14 else 0.05])

    params = lambda b: 100 * b[0]  # noqa: E731
    _, info, bonds = grow_until_eps(fit, [12], [40], 2, params, 1500, 0.1, "f")
    assert seen == [[12], [14]] and bonds == [14] and info.rel_error == 0.05
    with pytest.warns(ConvergenceWarning, match=r"next ranks \[16\] would store more"):
        grow_until_eps(fit, [14], [40], 2, lambda b: 100 * b[0] + (500 if b[0] > 14 else 0),
                       1000, 0.01, "f")  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_str_eps_starts_at_the_floor(backend):
    rng = np.random.default_rng(0)
    x = _ring((8, 9, 10), 2, rng) + 1e-4 * rng.standard_normal((8, 9, 10))
    calls = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = str_decompose(
            to_backend(x, backend), None, 2, eps=1e-2, random_state=0,
            callback=lambda *a: calls.append(a[1].ranks),
        )  # fmt: skip
    assert fit.info.rel_error <= 1e-2
    assert calls[0] == (4, 4, 4) and fit.ranks == (4, 4, 4)  # the floor 2, times t = 2
