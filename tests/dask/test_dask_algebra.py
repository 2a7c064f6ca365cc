"""Mode products, unfoldings and lazy reconstructions on dask arrays (chunk-wise)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

da = pytest.importorskip("dask.array")

import semitensor as st  # noqa: E402
from semitensor.formats.str import STRTensor  # noqa: E402
from semitensor.formats.stt import STTTensor  # noqa: E402
from semitensor.formats.sttu import STTuTensor  # noqa: E402

CHUNKS = [(6, 12, 10), (4, 5, 3), (3, 7, 4), (1, 1, 10)]


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal((6, 12, 10))


@pytest.mark.parametrize("chunks", CHUNKS)
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 12])
def test_stp_mode_dot_matches_numpy(x, chunks, side, k):
    u = np.random.default_rng(k).standard_normal((5, k))
    out = st.stp_mode_dot(da.from_array(x, chunks=chunks), u, 1, side=side)
    assert isinstance(out, da.Array)
    np.testing.assert_allclose(out.compute(), st.stp_mode_dot(x, u, 1, side=side), atol=1e-12)


@pytest.mark.parametrize("chunks", CHUNKS)
def test_mode_dot_and_unfold_match_numpy(x, chunks):
    xd = da.from_array(x, chunks=chunks)
    u = np.random.default_rng(1).standard_normal((4, 10))
    for out, ref in [
        (st.mode_dot(xd, u, 2), st.mode_dot(x, u, 2)),
        (st.mode_dot(xd, u.T, -1, transpose=True), st.mode_dot(x, u.T, -1, transpose=True)),
        (st.mode_dot(xd, u[0], 2), st.mode_dot(x, u[0], 2)),
        (st.unfold(xd, 1), st.unfold(x, 1)),
    ]:
        assert isinstance(out, da.Array)
        np.testing.assert_allclose(out.compute(), ref, atol=1e-12)


def test_split_mode_is_contracted_chunk_by_chunk(x):
    """A mode split in 4 chunks: each chunk's share is a separate task, then a tree sum."""
    xd = da.from_array(x, chunks=(6, 3, 10))
    out = st.stp_mode_dot(xd, np.ones((2, 4)), 1)
    assert out.chunks[1] == (6,)
    assert any("sum" in k[0] for k in out.__dask_graph__().keys() if isinstance(k, tuple))


def test_bad_operands_are_refused(x):
    xd = da.from_array(x, chunks=4)
    with pytest.raises(ValueError, match="divide the size of mode 1"):
        st.stp_mode_dot(xd, np.ones((2, 5)), 1)
    with pytest.raises(ValueError, match="size of mode 2"):
        st.mode_dot(xd, np.ones((2, 5)), 2)
    with pytest.raises(ValueError, match="mode"):
        st.unfold(xd, 3)
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="cannot mix array libraries"):
        st.mode_dot(xd, torch.ones(2, 10, dtype=torch.float64), 2)


def _formats(side):
    rng = np.random.default_rng(3)
    factors = [rng.standard_normal(s) for s in [(4, 2), (6, 3), (5, 1)]]
    return [
        STTuTensor(rng.standard_normal((4, 6, 2)), factors, t=2, side=side),
        STTTensor([rng.standard_normal(s) for s in [(1, 6, 4), (2, 5, 2), (4, 3, 1)]], 2, side),
        STRTensor([rng.standard_normal(s) for s in [(4, 6, 4), (2, 5, 2), (2, 3, 2)]], 2, side),
    ]


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("chunks", [(3, 4, 3), (1, 7, 2), "auto", 5])
def test_to_tensor_chunks_is_lazy_and_exact(side, chunks):
    for fmt in _formats(side):
        lazy = fmt.to_tensor(chunks=chunks)
        assert isinstance(lazy, da.Array)
        assert lazy.shape == fmt.shape
        if isinstance(chunks, tuple):
            assert lazy.chunksize == tuple(min(c, s) for c, s in zip(chunks, fmt.shape))
        np.testing.assert_allclose(lazy.compute(), fmt.to_tensor(), atol=1e-12)


def test_to_tensor_chunks_needs_uniform_t():
    rng = np.random.default_rng(4)
    cores = [rng.standard_normal(s) for s in [(1, 4, 4), (2, 4, 3), (2, 4, 2), (6, 4, 1)]]
    fmt = STTTensor(cores, [2, 3])
    with pytest.raises(ValueError, match="same t"):
        fmt.to_tensor(chunks=2)
    assert fmt.to_tensor().shape == (4, 4, 4, 4)


@settings(max_examples=30, deadline=None)
@given(data=hst.data())
def test_stp_mode_dot_on_any_chunking_is_the_numpy_product(data):
    """Property: for any shape, divisor, side and chunking, dask and numpy agree."""
    shape = data.draw(hst.lists(hst.integers(1, 7), min_size=1, max_size=4), label="shape")
    mode = data.draw(hst.integers(0, len(shape) - 1), label="mode")
    shape[mode] *= data.draw(hst.sampled_from([1, 2, 3]), label="factor")
    size = shape[mode]
    k = data.draw(hst.sampled_from([d for d in range(1, size + 1) if size % d == 0]))
    chunks = tuple(data.draw(hst.integers(1, s), label=f"chunk{n}") for n, s in enumerate(shape))
    side = data.draw(hst.sampled_from(["left", "right"]))
    rng = np.random.default_rng(len(shape) * 100 + size)
    x, u = rng.standard_normal(shape), rng.standard_normal((3, k))
    out = st.stp_mode_dot(da.from_array(x, chunks=chunks), u, mode, side=side)
    np.testing.assert_allclose(out.compute(), st.stp_mode_dot(x, u, mode, side=side), atol=1e-12)
