"""Passes over the data per sweep: each read of a chunk of the tensor is counted.

A ring sweep reads the data twice (the right-hand side of the first core, then the
cached contraction with it), a HOOI sweep once, whatever the order of the tensor;
before, a ring sweep read it ``N`` times and a HOOI sweep ``N − 1`` times. The
generator counts its calls (threads: the same process), so the count is exact.
"""

import threading
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import semitensor as st  # noqa: E402
from semitensor.decomposition import _dask_ring, _dask_sttu  # noqa: E402
from semitensor.exceptions import ConvergenceWarning  # noqa: E402

SHAPE, CHUNKS = (8, 6, 8, 6), (4, 3, 4, 6)
N_BLOCKS = 2 * 2 * 2 * 1


class Counted:
    """A lazy random tensor whose blocks count how often they are generated."""

    def __init__(self):
        self.calls = 0
        self.lock = threading.Lock()

    def block(self, block_info=None):
        with self.lock:
            self.calls += 1
        info = block_info[None]
        rng = np.random.default_rng(list(info["chunk-location"]))
        return rng.standard_normal(info["chunk-shape"])

    def array(self):
        chunks = da.core.normalize_chunks(CHUNKS, SHAPE)
        return da.map_blocks(self.block, chunks=chunks, dtype=float)


def _reads(fit, sweeps):
    counted = Counted()
    with dask.config.set(scheduler="threads"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dec = fit(counted.array(), sweeps)
    assert dec.info.n_iter == sweeps
    return counted.calls


def _per_sweep(fit, first=1):
    return (_reads(fit, first + 1) - _reads(fit, first)) / N_BLOCKS


def _ring(fn, ranks):
    return lambda x, n: fn(x, ranks, t=2, init="random", random_state=0, n_iter_max=n, tol=1e-15)


@pytest.mark.parametrize(("fn", "ranks"), [(st.stt_decompose, 4), (st.str_decompose, [4, 2, 4, 2])])
@pytest.mark.parametrize("gather", [True, False], ids=["gathered", "kept-on-workers"])
def test_ring_sweep_reads_the_data_twice(monkeypatch, fn, ranks, gather):
    if not gather:
        monkeypatch.setattr(_dask_ring, "GATHER_ENTRIES", 0)
    assert _per_sweep(_ring(fn, ranks)) == 2


def test_ring_sweep_without_cache_reads_it_once_per_core(monkeypatch):
    # r_0 r_1 > I_0: the cache would exceed the tensor, so each core makes its own pass.
    monkeypatch.setattr(_dask_ring, "_CACHE_RATIO", 0.0)
    assert _per_sweep(_ring(st.str_decompose, 4)) == len(SHAPE)


def test_ring_sweep_without_room_on_the_workers_reads_it_once_per_core(monkeypatch):
    # A cache too large for the client and for a quarter of the workers' memory.
    monkeypatch.setattr(_dask_ring, "GATHER_ENTRIES", 0)
    monkeypatch.setattr(_dask_ring, "worker_memory", lambda: 8 * 4 * 6 * 8 * 6 * 4 - 1)
    assert _per_sweep(_ring(st.str_decompose, 4)) == len(SHAPE)
    monkeypatch.setattr(_dask_ring, "worker_memory", lambda: 8 * 4 * 6 * 8 * 6 * 4)
    assert _per_sweep(_ring(st.str_decompose, 4)) == 2


@pytest.mark.parametrize("gather", [True, False], ids=["gathered", "kept-on-workers"])
def test_hooi_sweep_reads_the_data_once(monkeypatch, gather):
    if not gather:  # projections too large for the client stay (persisted) with dask
        monkeypatch.setattr(_dask_sttu, "GATHER_ENTRIES", 0)

    def fit(x, n):
        return st.sttu_decompose(x, [4, 2, 4, 2], t=2, n_iter_max=n, tol=1e-15)

    assert _per_sweep(fit, first=2) == 1
