import errno
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time

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


# --- issue 17: concurrency, bounded reads, crafted files, messages, modes, signals ----


def test_exclusive_save_has_one_winner(tmp_path, monkeypatch):
    # 8 processes race to create one new path with overwrite=False; the slow write
    # (np.savez sleeps) keeps all of them past any "does it exist?" check at once.
    import multiprocessing
    import time

    dec = _random_format("stt", "left", "numpy", np.random.default_rng(4))
    savez = np.savez

    def slow_savez(*args, **kwargs):
        time.sleep(0.3)
        return savez(*args, **kwargs)

    monkeypatch.setattr(np, "savez", slow_savez)
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the fork start method (the test shares a monkeypatched numpy)")
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(8), ctx.Queue()
    path = tmp_path / "race.npz"

    def worker(k):
        barrier.wait()
        try:
            st.save(dec, path, overwrite=False)
            results.put("won")
        except FileExistsError:
            results.put("exists")
        except Exception as exc:  # reported, so the assertion shows it
            results.put(repr(exc))

    procs = [ctx.Process(target=worker, args=(k,)) for k in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes == ["exists"] * 7 + ["won"]
    assert os.listdir(tmp_path) == ["race.npz"]  # no temporary file left
    assert st.load(path).ranks == dec.ranks


def _add_member(src, dst, name, array, replace=False):
    """Copy archive ``src`` to ``dst`` with ``name.npy`` (deflated) added or replaced."""
    import io as _io
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            if not (replace and item.filename == f"{name}.npy"):
                zout.writestr(item, zin.read(item))
        buf = _io.BytesIO()
        np.save(buf, array)
        zout.writestr(f"{name}.npy", buf.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    return dst


def _peak_bytes(fn):
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
    except ValueError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_load_never_reads_members_the_metadata_does_not_name(saved, tmp_path):
    path = _add_member(saved, tmp_path / "bomb.npz", "junk", np.zeros(8 << 20))  # 64 MB
    assert path.stat().st_size < 1 << 20
    assert _peak_bytes(lambda: st.load(path)) < 8 << 20
    assert st.load(path).ranks == (4, 2, 6)


def test_load_checks_headers_before_reading_data(saved, tmp_path):
    # A named member whose (consistent) header is far larger than the metadata allows.
    path = _add_member(saved, tmp_path / "big.npz", "core", np.zeros((2048, 4096)), replace=True)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(ValueError, match="big.npz: the arrays do not form a valid STTu"):
        st.load(path)
    assert _peak_bytes(lambda: st.load(path)) < 8 << 20


def _raw_meta(src, dst, text):
    with np.load(src) as data:
        contents = {k: data[k] for k in data.files}
    contents["__semitensor__"] = np.array(text)
    np.savez(dst, **contents)
    return dst


POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes, links and signals")

CRAFTED = {
    "arrays_not_names": ({"arrays": [1, 2]}, "field 'arrays' must be a non-empty list"),
    "arrays_gap": ({"arrays": ["core", "factor_1"]}, "do not form a valid STTu"),
    "shape_not_ints": ({"shape": [8, "x", 4]}, "field 'shape' is missing or not a list"),
    "t_bool": ({"t": [True, 2, 2]}, "field 't' is missing or not a list of positive ints"),
    "layout_bool": ({"layout": True}, "field 'layout' is missing or not a int"),
    "fit_not_object": ({"fit": [1]}, "field 'fit' must be an object or null"),
    "fit_n_iter_str": ({"fit": {"method": "hooi", "n_iter": "many"}}, "'n_iter' must be an int"),
    "fit_errors_int": ({"fit": {"method": "hooi", "errors": 5}}, "'errors' must be a list"),
    "fit_errors_str": ({"fit": {"method": "hooi", "errors": ["a"]}}, "'errors' must be a list"),
    "fit_converged_str": ({"fit": {"method": "hooi", "converged": "no"}}, "'converged' must be"),
    "fit_method_int": ({"fit": {"method": 3}}, "'method' must be a str"),
    "fit_ranks_used": ({"fit": {"method": "hooi", "ranks_used": "4"}}, "'ranks_used' must be"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_metadata_is_a_value_error_naming_file_and_field(case, saved, tmp_path):
    update, match = CRAFTED[case]
    path = _rewrite(saved, tmp_path / "c.npz", meta_update=update)
    with pytest.raises(ValueError) as caught:
        st.load(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and match in message, message


@pytest.mark.parametrize(
    "text", ["[" * 100_000, '{"a": ' * 50_000, "null", "3", json.dumps([{"library": 1}])]
)
def test_crafted_json_is_a_value_error(text, saved, tmp_path):
    path = _raw_meta(saved, tmp_path / "j.npz", text)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: the __semitensor__ metadata"):
        st.load(path)


def test_metadata_that_is_not_a_string(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "m.npz", replace={"__semitensor__": np.arange(3)})
    with pytest.raises(ValueError, match="metadata is not a JSON string"):
        st.load(path)


def test_pickled_member_is_refused_as_such(saved, tmp_path):
    with np.load(saved) as data:
        contents = {k: data[k] for k in data.files}
    contents["core"] = np.array([{"x": 1}], dtype=object)
    np.savez(tmp_path / "p.npz", **contents)
    with pytest.raises(ValueError, match=r"array core is a pickled \(object\) array; load refuses"):
        st.load(tmp_path / "p.npz")


def test_messages_name_the_users_path_not_the_temporary_file(saved, monkeypatch):
    dec = st.load(saved)

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError) as caught:
        st.save(dec, saved)
    assert caught.value.errno == errno.ENOSPC
    assert str(caught.value) == f"[Errno 28] cannot write {saved}: No space left on device"
    assert os.listdir(saved.parent) == ["ok.npz"]


def test_save_and_load_refuse_directories_and_empty_paths(saved, tmp_path):
    dec = st.load(saved)
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="d is a directory; give the path of a file"):
        st.save(dec, tmp_path / "d")
    with pytest.raises(IsADirectoryError, match="d is a directory, not a semitensor file"):
        st.load(tmp_path / "d")
    before = sorted(os.listdir(tmp_path))
    for call in (lambda: st.save(dec, ""), lambda: st.load("")):
        with pytest.raises(ValueError, match="path must name a file; got the empty path ''"):
            call()
    assert sorted(os.listdir(tmp_path)) == before


def test_bytes_paths(saved, tmp_path):
    dec = st.load(os.fsencode(saved))
    target = os.fsencode(tmp_path / "b.npz")
    assert st.save(dec, target) == str(tmp_path / "b.npz")
    assert st.load(target).ranks == dec.ranks
    with pytest.raises(TypeError, match="path must be a str, bytes or os.PathLike file path"):
        st.save(dec, 3)
    with pytest.raises(TypeError, match="overwrite must be True or False; got 'no'"):
        st.save(dec, target, overwrite="no")


@POSIX
def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(saved, tmp_path):
    dec = st.load(saved)
    old = os.umask(0o027)
    try:
        st.save(dec, tmp_path / "new.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o640
    os.chmod(saved, 0o604)
    st.save(dec, saved)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o604


@POSIX
def test_save_writes_through_a_symlink(saved, tmp_path):
    dec = _random_format("str", "left", "numpy", np.random.default_rng(5))
    link = tmp_path / "link.npz"
    link.symlink_to(saved)
    st.save(dec, link)
    assert link.is_symlink() and os.readlink(link) == str(saved)
    assert isinstance(st.load(saved), st.STRTensor)
    assert sorted(os.listdir(tmp_path)) == ["link.npz", "ok.npz"]


def test_stale_temporary_files_are_removed_by_the_next_save(saved):
    stale = saved.parent / ".ok.npz.semitensor-tmp-999-dead"
    fresh = saved.parent / ".ok.npz.semitensor-tmp-998-beef"
    other = saved.parent / ".other.npz.semitensor-tmp-997-cafe"
    for f in (stale, fresh, other):
        f.write_bytes(b"x" * 10)
    hour_ago = time.time() - 3600
    for f in (stale, other):
        os.utime(f, (hour_ago, hour_ago))
    st.save(st.load(saved), saved)
    assert not stale.exists()
    assert fresh.exists() and other.exists()  # a running save's file; another path's file


@POSIX
def test_sigterm_during_save_leaves_no_temporary_file(tmp_path):
    script = (
        "import sys, time, numpy as np, semitensor as st\n"
        "dec = st.STTTensor([np.ones((1, 3, 2)), np.ones((2, 4, 1))], t=1)\n"
        "savez = np.savez\n"
        "def slow(f, **arrays):\n"
        "    savez(f, **arrays); print('writing', flush=True); time.sleep(60)\n"
        "np.savez = slow\n"
        f"st.save(dec, {str(tmp_path / 'x.npz')!r})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "writing\n"
    assert any(".semitensor-tmp-" in n for n in os.listdir(tmp_path))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == -signal.SIGTERM  # still dies of SIGTERM, as without semitensor
    proc.stdout.close()
    assert os.listdir(tmp_path) == []


def test_load_reads_fortran_order_and_big_endian_members(saved, tmp_path):
    core = np.asfortranarray(np.arange(48, dtype=">f8").reshape(4, 2, 6))
    path = _rewrite(saved, tmp_path / "f.npz", replace={"core": core})
    back = st.load(path)
    assert back.core.dtype == np.float64 and back.core.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(back.core, core)


def test_damaged_bytes_are_always_a_value_error_naming_the_file(saved, tmp_path):
    # Random byte flips and cuts anywhere in a real file (zip headers, npy headers,
    # data, metadata): load either succeeds or raises ValueError, nothing else.
    import random

    rng = random.Random(0)
    data = saved.read_bytes()
    path = tmp_path / "damaged.npz"
    for _ in range(400):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.2:
            damaged = damaged[: rng.randrange(len(damaged))]
        path.write_bytes(bytes(damaged))
        try:
            st.load(path)
        except ValueError as exc:
            assert str(exc).startswith(str(path)), exc


def test_zip_of_an_unsupported_version_is_corrupt(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    central = data.rindex(b"PK\x01\x02")  # the last central-directory entry
    data[central + 6] = 89  # "version needed to extract": 8.9
    path = tmp_path / "v.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="v.npz is truncated or corrupt \\(NotImplementedError"):
        st.load(path)
