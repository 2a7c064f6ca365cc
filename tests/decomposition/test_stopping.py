"""The stopping rule and the warm-up policy shared by the fits."""

import numpy as np
import pytest

from semitensor.decomposition._ring_als import two_core_cost_ratio
from semitensor.decomposition._stopping import out_of_reach, settled
from semitensor.decomposition.str import str_decompose
from semitensor.decomposition.stt import stt_decompose
from semitensor.decomposition.sttu import sttu_decompose
from tests.oracles import random_stt_tensor


@pytest.mark.parametrize("scale", [1.0, 1e-6, 1e6])
def test_settled_is_relative_to_the_error(scale):
    slow = [e * scale for e in (0.2, 0.19999, 0.199985)]  # decreases 1e-5, 5e-6: settled
    fast = [e * scale for e in (2e-6, 1e-6, 5e-7)]  # halving each sweep: not settled
    assert settled(slow, 1e-4)
    assert not settled(fast, 1e-4)
    assert not settled(slow, 1e-6)


def test_a_rising_error_is_not_settled():
    assert not settled([0.5, 0.4, 0.45], 1e-4)


def test_out_of_reach_only_when_the_prediction_stays_above_the_target():
    errors = [0.5, 0.3, 0.25, 0.24, 0.239]
    assert out_of_reach(errors, 0.1)
    assert not out_of_reach(errors, 0.237)
    assert not out_of_reach(errors[:3], 0.1)  # too short a history to predict


def test_times_are_recorded_for_every_error():
    x = random_stt_tensor((4, 6, 6), 4, 2, 0)
    for fit in (
        stt_decompose(x, 4, 2, random_state=0),
        str_decompose(x, 4, 2, random_state=0),
        sttu_decompose(x, [4, 4, 2], 2),
    ):
        times = fit.info.times
        assert len(times) == len(fit.info.errors) == fit.info.n_iter + 1
        assert times[0] >= 0 and np.all(np.diff(times) >= 0)


@pytest.mark.parametrize("warmup", [0, 3])
def test_a_fixed_warmup_runs_that_many_two_core_sweeps(warmup):
    x = random_stt_tensor((6, 8, 8, 6), 8, 2, 2)
    fit = stt_decompose(x, 8, 2, random_state=2, warmup=warmup)
    assert fit.info.two_core_sweeps == warmup


def test_auto_warmup_runs_where_it_is_cheap_and_recovers():
    x = random_stt_tensor((6, 8, 8, 6), 8, 2, 2)
    fit = stt_decompose(x, 8, 2, random_state=2)
    assert fit.info.two_core_sweeps > 0
    assert fit.info.stop_reason == "exact"


@pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")
def test_auto_warmup_is_skipped_where_a_two_core_sweep_costs_many_one_core_ones():
    shape, ring = (64, 64, 50), [2, 8, 8, 2]
    flops, ratio = two_core_cost_ratio(shape, ring)
    assert ratio > 12 and flops > 2e7
    x = np.random.default_rng(0).random(shape)
    fit = stt_decompose(x, 16, 2, random_state=0, n_iter_max=3)
    assert fit.info.two_core_sweeps == 0


def test_eps_search_stops_each_refit_at_eps():
    x = random_stt_tensor((6, 8, 8, 6), 8, 2, 1) + 1e-3 * np.random.default_rng(1).random(
        (6, 8, 8, 6)
    )
    fit = stt_decompose(x, None, 2, eps=0.05, random_state=0)
    assert fit.info.rel_error <= 0.05
    assert fit.info.stop_reason in ("eps", "exact")
