"""Fits on dask arrays equal the numpy fits of the same data (threads and a LocalCluster)."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

import semitensor as st  # noqa: E402
from semitensor.formats.stt import STTTensor  # noqa: E402

TOL = 1e-10


def _data():
    rng = np.random.default_rng(0)
    x = STTTensor([rng.standard_normal(s) for s in [(1, 6, 4), (2, 5, 2), (2, 4, 2), (4, 6, 1)]], 2)
    x = x.to_tensor()
    return x + 0.01 * np.abs(x).max() * rng.standard_normal(x.shape)


X = _data()
CHUNKS = (4, 3, 4, 6)  # splits three modes, in pieces that do not align with t


def _fits(xin, side):
    """Every method's fit of ``xin`` (numpy fits with warmup=0: dask runs no two-core sweeps)."""
    ring = dict(t=2, side=side, random_state=1, tol=1e-6, warmup=0)
    tucker = dict(ranks=[4, 4, 4, 2], t=[2, 1, 2, 2], side=side)
    return {
        "sttu-hosvd": st.sttu_decompose(xin, method="hosvd", **tucker),
        "sttu-hooi": st.sttu_decompose(xin, tol=1e-8, **tucker),
        "stt-svd": st.stt_decompose(xin, 4, init="svd", **ring),
        "stt-random": st.stt_decompose(xin, 4, init="random", **ring),
        "str-svd": st.str_decompose(xin, 4, init="svd", **ring),
        "str-random": st.str_decompose(xin, 4, init="random", n_restarts=2, **ring),
    }


def _assert_same(fits, ref):
    for name, fit in fits.items():
        want = ref[name]
        assert type(fit) is type(want), name
        assert fit.info.n_iter == want.info.n_iter, name
        assert fit.info.stop_reason == want.info.stop_reason, name
        np.testing.assert_allclose(fit.info.errors, want.info.errors, rtol=0, atol=TOL)
        np.testing.assert_allclose(fit.to_tensor(), want.to_tensor(), rtol=0, atol=TOL)
        arrays = fit.named_arrays().values()
        assert all(isinstance(a, np.ndarray) for a in arrays), name


@pytest.fixture(scope="module")
def reference():
    return {side: _fits(X, side) for side in ("left", "right")}


@pytest.mark.parametrize("side", ["left", "right"])
def test_threads_equal_numpy(reference, side):
    with dask.config.set(scheduler="threads"):
        fits = _fits(da.from_array(X, chunks=CHUNKS), side)
    _assert_same(fits, reference[side])


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes of one thread each (as the issue asks)."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c


def test_local_cluster_equals_numpy(reference, cluster):
    with distributed.Client(cluster):
        fits = _fits(da.from_array(X, chunks=CHUNKS), "left")
    _assert_same(fits, reference["left"])


RING = ("stt-svd", "stt-random", "str-svd", "str-random")


@pytest.mark.parametrize("path", ["kept-on-workers", "no-cache"])
def test_every_sweep_path_equals_numpy(reference, cluster, monkeypatch, path):
    """Intermediates kept on the workers (a tensor whose partial contractions and
    projections are too large to gather), and no ring cache (``r_0 r_1 > I_0``)."""
    from semitensor.decomposition import _dask_ring, _dask_sttu

    if path == "kept-on-workers":
        monkeypatch.setattr(_dask_ring, "GATHER_ENTRIES", 0)
        monkeypatch.setattr(_dask_sttu, "GATHER_ENTRIES", 0)
        names = RING + ("sttu-hosvd", "sttu-hooi")
    else:
        monkeypatch.setattr(_dask_ring, "_CACHE_RATIO", 0.0)
        names = RING
    with distributed.Client(cluster):
        fits = _fits(da.from_array(X, chunks=CHUNKS), "left")
    _assert_same({k: fits[k] for k in names}, reference["left"])


def test_callback_sees_numpy_formats():
    seen = []
    xd = da.from_array(X, chunks=CHUNKS)

    def callback(it, dec, err):
        seen.append((it, type(dec), err))

    st.stt_decompose(xd, 4, t=2, init="random", random_state=0, tol=0.5, callback=callback)
    assert [s[0] for s in seen][:2] == [0, 1]
    assert all(s[1] is STTTensor for s in seen)


def test_float32_and_scale_follow_numpy():
    x32 = (X * 1e120).astype(np.float64)
    fit = st.sttu_decompose(da.from_array(x32, chunks=CHUNKS), [4, 4, 4, 2], t=1, method="hosvd")
    ref = st.sttu_decompose(x32, [4, 4, 4, 2], t=1, method="hosvd")
    np.testing.assert_allclose(fit.to_tensor(), ref.to_tensor(), rtol=1e-10, atol=0)
    f32 = st.str_decompose(da.from_array(X.astype(np.float32), chunks=CHUNKS), 4, tol=0.5)
    assert f32.cores[0].dtype == np.float32


def test_zero_tensor_is_exact():
    fit = st.str_decompose(da.zeros((4, 6, 4), chunks=2), 2, t=2)
    assert fit.info.stop_reason == "exact" and not fit.to_tensor().any()


def test_unknown_chunks_are_refused():
    xd = da.from_array(X, chunks=CHUNKS)
    xd = xd[xd[:, 0, 0, 0] > -np.inf]  # boolean indexing: unknown chunk sizes
    for fit in (st.sttu_decompose, st.stt_decompose, st.str_decompose):
        with pytest.raises(ValueError, match="compute_chunk_sizes"):
            fit(xd, 4)


def test_bad_input_is_refused():
    xd = da.from_array(X, chunks=CHUNKS)
    bad = xd.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        st.str_decompose(bad, 4)
    with pytest.raises(ValueError, match=r"eps=1e-09 is below .*, the smallest relative"):
        st.sttu_decompose(xd, None, t=1, eps=1e-9)
    with pytest.raises(ValueError, match="warmup"):
        st.str_decompose(xd, 4, warmup=2)
    with pytest.raises(ValueError, match="order at least 3"):
        st.stt_decompose(da.from_array(X[:, :, 0, 0], chunks=2), 2)
    with pytest.raises(ValueError, match="does not divide"):
        st.sttu_decompose(da.from_array(X[:5], chunks=2), 2, t=2)
    with pytest.raises(TypeError, match="real"):
        st.sttu_decompose(xd.astype(np.complex128), 4, t=1)


def test_closed_client_is_refused(cluster):
    """A closed client named as the scheduler is an error before any work is sent."""
    client = distributed.Client(cluster, set_as_default=False)
    client.close()
    xd = da.from_array(X, chunks=CHUNKS)
    with dask.config.set(scheduler=client):
        for fit in (st.sttu_decompose, st.stt_decompose, st.str_decompose):
            with pytest.raises(RuntimeError, match="client is closed"):
                fit(xd, 4, t=1 if fit is st.sttu_decompose else 2)


@pytest.mark.parametrize("eps", [0.05, 0.2, 0.5])
@pytest.mark.parametrize("t", [1, [2, 1, 2, 2]])
def test_sttu_eps_on_dask_picks_the_numpy_ranks_and_fit(eps, t):
    # The ranks come from the same Gram spectra (summed over chunks on dask).
    ref = st.sttu_decompose(X, None, t=t, eps=eps)
    fit = st.sttu_decompose(da.from_array(X, chunks=CHUNKS), None, t=t, eps=eps)
    assert fit.ranks == ref.ranks and fit.info.ranks_used == ref.info.ranks_used
    np.testing.assert_allclose(fit.info.errors, ref.info.errors, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fit.to_tensor(), ref.to_tensor(), atol=1e-10)


@pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")
@pytest.mark.parametrize("fit", [st.stt_decompose, st.str_decompose])
@pytest.mark.parametrize("eps", [0.3, 0.05])
def test_ring_eps_on_dask_meets_eps_with_what_it_reports(fit, eps):
    # Before: refused. The bonds grow from t with warm starts until the error is met.
    dec = fit(da.from_array(X, chunks=CHUNKS), None, eps=eps, random_state=0)
    err = np.linalg.norm(dec.to_tensor() - X) / np.linalg.norm(X)
    assert err <= eps + 1e-12 and err == pytest.approx(dec.info.rel_error, rel=1e-8)
    assert dec.info.ranks_used is not None and tuple(dec.info.ranks_used) == tuple(dec.ranks)


def test_worker_memory_is_the_sum_of_the_limits_on_a_cluster_only(cluster):
    """The ring cache's budget: the workers' limits on a cluster, none on threads."""
    from semitensor.decomposition._dask_prepare import worker_memory

    with distributed.Client(cluster) as client:
        limits = [w["memory_limit"] for w in client.scheduler_info()["workers"].values()]
        assert len(limits) == 2 and worker_memory() == sum(limits) > 0
        with dask.config.set(scheduler="threads"):
            assert worker_memory() is None


def test_masks_on_dask_are_refused_by_every_fit():
    # sttu_decompose ignored mask= on a dask array and fitted every entry.
    x = da.from_array(np.random.default_rng(0).random((4, 6, 8)), chunks=(2, 6, 8))
    mask = np.ones(x.shape, dtype=bool)
    for fit, ranks in (
        (st.sttu_decompose, [2, 2, 2]),
        (st.stt_decompose, 2),
        (st.str_decompose, 2),
    ):
        with pytest.raises(TypeError, match="mask= and validation_mask= are not supported"):
            fit(x, ranks, 2, mask=mask)


@pytest.mark.parametrize("path", ["gathered", "kept-on-workers"])
def test_persisted_on_the_cluster_equals_numpy(reference, cluster, monkeypatch, path):
    """Blocks held in the workers' memory: a pass runs one task per worker over them."""
    from semitensor._kernels import dask_blocks
    from semitensor.decomposition import _dask_ring

    if path == "kept-on-workers":
        monkeypatch.setattr(_dask_ring, "GATHER_ENTRIES", 0)
    with distributed.Client(cluster) as client:
        x = client.persist(da.from_array(X, chunks=CHUNKS))
        distributed.wait(x)
        groups = dask_blocks._held_by_worker(x)
        assert sorted(ix for _, g in groups for ix in g) == list(np.ndindex(x.numblocks))
        ring = dict(t=2, side="left", random_state=1, tol=1e-6, warmup=0)
        fits = {
            "stt-svd": st.stt_decompose(x, 4, init="svd", **ring),
            "stt-random": st.stt_decompose(x, 4, init="random", **ring),
            "str-random": st.str_decompose(x, 4, init="random", n_restarts=2, **ring),
        }
    _assert_same(fits, reference["left"])


def test_blocks_not_held_by_workers_run_a_task_each(cluster):
    from semitensor._kernels import dask_blocks

    x = da.from_array(X, chunks=CHUNKS)
    assert dask_blocks._held_by_worker(x) is None  # no client, no futures
    with distributed.Client(cluster) as client:
        assert dask_blocks._held_by_worker(x) is None  # not persisted
        assert dask_blocks._held_by_worker(client.persist(x).astype(np.float32)) is None
