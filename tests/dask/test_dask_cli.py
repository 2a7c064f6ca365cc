"""``semitensor decompose --chunks/--workers/--memory-limit/--scheduler``."""

import numpy as np
import pytest

pytest.importorskip("dask.array")

import semitensor as st  # noqa: E402
from tests.cli.conftest import assert_input_error, run  # noqa: E402


@pytest.fixture
def tensor_file(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).standard_normal((8, 6, 4)))
    return path


def test_chunked_npy_fit_equals_in_memory_fit(capsys, tensor_file, tmp_path):
    args = ["decompose", tensor_file, "--format", "sttu", "--ranks", "4,2,2", "-q"]
    assert run(capsys, *args, "-o", tmp_path / "a.npz")[0] == 0
    assert run(capsys, *args, "--chunks", "3,2,-1", "-o", tmp_path / "b.npz")[0] == 0
    a, b = st.load(tmp_path / "a.npz"), st.load(tmp_path / "b.npz")
    np.testing.assert_allclose(a.to_tensor(), b.to_tensor(), rtol=0, atol=1e-10)


def test_zarr_store_is_read_lazily(capsys, tmp_path):
    zarr = pytest.importorskip("zarr")
    x = np.random.default_rng(1).standard_normal((8, 6, 4))
    z = zarr.open_array(str(tmp_path / "x.zarr"), mode="w", shape=x.shape, chunks=(4, 3, 4))
    z[:] = x
    out = tmp_path / "f.npz"
    code, text, _ = run(
        capsys, "decompose", tmp_path / "x.zarr", "--format", "str", "--ranks", "2",
        "--chunks", "auto", "--n-iter-max", "3", "-q", "-o", out,
    )  # fmt: skip
    assert code == 0 and "STR" in text
    with pytest.warns(st.exceptions.ConvergenceWarning):
        ref = st.str_decompose(x, 2, t=2, random_state=0, n_iter_max=3, warmup=0, tol=1e-8)
    np.testing.assert_allclose(st.load(out).to_tensor(), ref.to_tensor(), atol=1e-10)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--workers", "2"], "need --chunks"),
        (["--chunks", "4", "--memory-limit", "1GB"], "needs --workers"),
        (["--chunks", "4", "--workers", "2", "--scheduler", "tcp://x:1"], "not both"),
        (["--chunks", "a,b"], "--chunks must be"),
        (["--chunks", "0"], "positive or -1"),
        (["--chunks", "4", "--eps", "1e-9"], "eps=1e-09 is below"),
    ],
)
def test_bad_dask_options(capsys, tensor_file, tmp_path, extra, match):
    ranks = [] if "--eps" in extra else ["--ranks", "4,2,2"]
    result = run(
        capsys, "decompose", tensor_file, "--format", "sttu", *ranks, *extra,
        "-o", tmp_path / "o.npz",
    )  # fmt: skip
    assert_input_error(result, match)


def test_scheduler_address_runs_the_fit_there(capsys, tensor_file, tmp_path):
    """--scheduler: the fit runs on an existing cluster (an in-process one here, for speed)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        code, text, _ = run(
            capsys, "decompose", tensor_file, "--format", "sttu", "--ranks", "4,2,2", "-q",
            "--chunks", "4", "--scheduler", cluster.scheduler_address, "-o", tmp_path / "s.npz",
        )  # fmt: skip
        assert code == 0 and "STTu" in text
        assert cluster.scheduler.transition_counter > 0, "no task ran on the cluster"
    args = ["decompose", tensor_file, "--format", "sttu", "--ranks", "4,2,2", "-q"]
    assert run(capsys, *args, "-o", tmp_path / "m.npz")[0] == 0
    ref = st.load(tmp_path / "m.npz").to_tensor()
    np.testing.assert_allclose(st.load(tmp_path / "s.npz").to_tensor(), ref, rtol=0, atol=1e-10)
