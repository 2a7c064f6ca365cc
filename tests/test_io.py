import json
import os

import numpy as np
import pytest

import semitensor as st
from semitensor import io as st_io
from semitensor.formats import format_class, format_of, registered_formats

from .conftest import to_backend, to_np


def _random_format(name, side, backend, rng):
    """A small hand-built decomposition of each format (no fitting: fast)."""

    def arr(*shape):
        return to_backend(rng.standard_normal(shape), backend)

    cls = format_class(name)
    if name == "sttu":
        return cls(arr(4, 2, 6), [arr(3, 2), arr(5, 1), arr(2, 3)], t=[2, 2, 2], side=side)
    if name == "stt":
        return cls([arr(1, 3, 4), arr(2, 5, 3), arr(6, 2, 1)], t=2, side=side)
    if name == "str":
        return cls([arr(2, 3, 4), arr(2, 5, 2), arr(2, 2, 1)], t=2, side=side)
    raise AssertionError(f"add a test case for the new format {name!r}")


FORMAT_NAMES = ["sttu", "stt", "str"]


@pytest.mark.parametrize("name", FORMAT_NAMES)
@pytest.mark.parametrize("side", ["left", "right"])
def test_round_trip_every_format_and_backend(name, side, backend, tmp_path):
    dec = _random_format(name, side, backend, np.random.default_rng(0))
    path = tmp_path / "dec.npz"
    assert st.save(dec, path) == str(path)
    back = st.load(path)
    assert type(back) is type(dec)
    assert (back.shape, back.ranks, back.t, back.side) == (dec.shape, dec.ranks, dec.t, dec.side)
    assert back.n_params == dec.n_params
    full = back.to_tensor()
    assert isinstance(full, np.ndarray)  # load gives numpy arrays whatever was saved
    np.testing.assert_allclose(full, to_np(dec.to_tensor()), rtol=1e-12, atol=1e-12)
    assert back.info is None
    assert os.listdir(tmp_path) == ["dec.npz"]  # no temporary file left


def test_load_like_torch(tmp_path):
    torch = pytest.importorskip("torch")
    dec = _random_format("sttu", "left", "numpy", np.random.default_rng(1))
    st.save(dec, tmp_path / "d.npz")
    back = st.load(tmp_path / "d.npz", like=torch.zeros(1, dtype=torch.float64))
    assert isinstance(back.core, torch.Tensor)
    np.testing.assert_allclose(back.to_tensor().numpy(), dec.to_tensor())


def test_fit_report_is_restored(tmp_path):
    x = np.random.default_rng(2).standard_normal((8, 6, 4))
    dec = st.sttu_decompose(x, ranks=[4, 2, 2], t=2)
    st.save(dec, tmp_path / "fit.npz")
    info = st.load(tmp_path / "fit.npz").info
    assert info.method == dec.info.method
    assert info.n_iter == dec.info.n_iter
    assert info.stop_reason == dec.info.stop_reason
    assert info.errors == pytest.approx(dec.info.errors)


def test_registry():
    assert set(registered_formats()) == set(FORMAT_NAMES)
    with pytest.raises(ValueError, match="unknown decomposition format 'cp'; known formats"):
        format_class("cp")
    with pytest.raises(TypeError, match="expected a decomposition of this library"):
        format_of(np.ones(3))


# --- refusals ------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    dec = _random_format("sttu", "left", "numpy", np.random.default_rng(3))
    path = tmp_path / "ok.npz"
    st.save(dec, path)
    return path


def _rewrite(src, dst, meta_update=None, drop=(), replace=None):
    with np.load(src) as data:
        contents = {k: data[k] for k in data.files}
    meta = json.loads(str(contents["__semitensor__"]))
    meta.update(meta_update or {})
    contents["__semitensor__"] = np.array(json.dumps(meta))
    contents.update(replace or {})
    for k in drop:
        del contents[k]
    np.savez(dst, **contents)
    return dst


def test_save_refuses_non_format(tmp_path):
    with pytest.raises(TypeError, match="expected a decomposition of this library.*ndarray"):
        st.save(np.ones((2, 2)), tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_save_refuses_existing_without_overwrite(saved):
    before = saved.read_bytes()
    dec = st.load(saved)
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        st.save(dec, saved, overwrite=False)
    assert saved.read_bytes() == before


def test_failed_write_leaves_nothing_behind(saved, monkeypatch):
    before = saved.read_bytes()
    dec = st.load(saved)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(st_io.np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        st.save(dec, saved)
    assert saved.read_bytes() == before  # the old file is intact
    assert os.listdir(saved.parent) == ["ok.npz"]  # and no temporary file remains


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz: no such file"):
        st.load(tmp_path / "nope.npz")


def test_load_not_an_archive(tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(b"hello")
    with pytest.raises(ValueError, match="is not a semitensor file: not an .npz archive"):
        st.load(path)


def test_load_plain_npy(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.ones(3))
    with pytest.raises(ValueError, match="not an .npz archive"):
        st.load(path)


def test_load_truncated(saved, tmp_path):
    data = saved.read_bytes()
    for cut in (len(data) // 2, len(data) - 10):
        path = tmp_path / f"cut{cut}.npz"
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="is truncated or corrupt"):
            st.load(path)


def test_load_npz_without_metadata(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, core=np.ones((2, 2)))
    with pytest.raises(ValueError, match="no __semitensor__ metadata.*semitensor.save"):
        st.load(path)


def test_load_bad_json(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "b.npz", replace={"__semitensor__": np.array("{oops")})
    with pytest.raises(ValueError, match="metadata is not valid JSON"):
        st.load(path)


def test_load_metadata_field_missing(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "b.npz", meta_update={"side": None})
    with pytest.raises(ValueError, match="metadata field 'side' is missing or not a str"):
        st.load(path)


def test_load_other_library(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "b.npz", meta_update={"library": "other"})
    with pytest.raises(ValueError, match="not a semitensor file \\(library 'other'\\)"):
        st.load(path)


def test_load_unknown_format(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "b.npz", meta_update={"format": "cp"})
    with pytest.raises(ValueError, match="unknown decomposition format 'cp'"):
        st.load(path)


def test_load_newer_layout(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "b.npz", meta_update={"layout": 99})
    with pytest.raises(ValueError, match="uses file layout 99, newer than"):
        st.load(path)


def test_load_missing_array(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "b.npz", drop=["factor_1"])
    with pytest.raises(ValueError, match="is incomplete: missing array\\(s\\) factor_1"):
        st.load(path)


def test_load_mismatched_metadata(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "b.npz", meta_update={"ranks": [4, 2, 8]})
    with pytest.raises(ValueError, match="arrays give ranks \\(4, 2, 6\\).*mismatched"):
        st.load(path)


def test_load_wrong_format_for_arrays(saved, tmp_path):
    # The STTu arrays of `saved` under an STT label: the error must name the file, the
    # format the metadata claims (STT, not the STTu the arrays would make) and the
    # class's own complaint. (The old pattern "missing array(s)|do not form a valid STT"
    # took either outcome and also matched "valid STTu".)
    path = _rewrite(saved, tmp_path / "b.npz", meta_update={"format": "stt"})
    with pytest.raises(ValueError) as caught:
        st.load(path)
    assert str(caught.value) == (
        f"{path}: the arrays do not form a valid STT: an STT needs at least 2 cores; got 0"
    )


def test_load_invalid_shapes(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "b.npz", replace={"factor_0": np.ones((3, 5))})
    with pytest.raises(ValueError, match="arrays do not form a valid STTu: mode 0"):
        st.load(path)


def test_load_nan(saved, tmp_path):
    core = np.full((4, 2, 6), np.nan)
    path = _rewrite(saved, tmp_path / "b.npz", replace={"core": core})
    with pytest.raises(ValueError, match="array core holds NaN or Inf"):
        st.load(path)


def test_load_non_numeric(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "b.npz", replace={"core": np.array(["a", "b"])})
    with pytest.raises(ValueError, match="array core has non-numeric dtype"):
        st.load(path)
