"""Every row of the exit-status table in docs/cli.md, and SEMITENSOR_DEBUG."""

import errno
import json
import os

import numpy as np
import pytest

import semitensor as st
from semitensor.cli import commands, demo

from .conftest import assert_error, assert_input_error, run

ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


@pytest.fixture
def factors(tmp_path):
    rng = np.random.default_rng(0)
    dec = st.STTuTensor(rng.standard_normal((4, 2, 2)), [rng.standard_normal((4, 2)),
                        rng.standard_normal((3, 1)), rng.standard_normal((2, 1))], t=2)  # fmt: skip
    return st.save(dec, tmp_path / "f.npz")


def _decompose(tensor_file, out, *extra):
    return ("decompose", tensor_file, "--format", "sttu", "--ranks", "2", "-o", out, *extra)


# --- 2: usage and input errors ---------------------------------------------------


def test_directories_as_input_or_factors_exit_2(capsys, tmp_path):
    d = tmp_path / "d.npz"
    d.mkdir()
    assert_input_error(run(capsys, *_decompose(d, tmp_path / "o.npz")), "d.npz is a directory")
    assert_input_error(run(capsys, "info", d), "d.npz is a directory, not a semitensor file")
    result = run(capsys, "reconstruct", d, "-o", tmp_path / "o.npy")
    assert_input_error(result, "is a directory, not a semitensor file")


def test_directory_as_output_exits_2(capsys, tensor_file, factors, tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    assert_input_error(run(capsys, *_decompose(tensor_file, d, "--force")), "out is a directory")
    assert_input_error(run(capsys, "reconstruct", factors, "-o", d, "--force"), "is a directory")


def test_unreadable_files_exit_2(capsys, tensor_file, factors, tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(args[0]))

    monkeypatch.setattr(np, "load", denied)
    result = run(capsys, *_decompose(tensor_file, tmp_path / "o.npz"))
    assert_input_error(result, f"{tensor_file}: cannot read it (Permission denied)")
    monkeypatch.undo()
    monkeypatch.setattr("builtins.open", denied)
    assert_input_error(run(capsys, "info", factors), f"cannot read {factors}: Permission denied")


@pytest.mark.skipif(ROOT, reason="root reads and writes files whatever their mode")
def test_unreadable_and_read_only_for_real(capsys, tensor_file, factors, tmp_path):
    os.chmod(factors, 0)
    assert_input_error(run(capsys, "info", factors), "Permission denied")
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    result = run(capsys, *_decompose(tensor_file, ro / "o.npz"))
    assert_input_error(result, "is not writable")


def test_read_only_output_exits_2(capsys, tensor_file, factors, tmp_path, monkeypatch):
    # Checked before the fit (os.access), and again when writing (the OSError).
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: mode != os.W_OK and real_access(p, mode))
    result = run(capsys, *_decompose(tensor_file, tmp_path / "o.npz"))
    assert_input_error(result, f"o.npz: directory {tmp_path} is not writable")
    monkeypatch.undo()

    real_open = os.open

    def read_only_fs(name, *args, **kwargs):
        if ".semitensor-tmp-" in os.fspath(name):
            raise OSError(errno.EROFS, "Read-only file system", name)
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_fs)
    out = tmp_path / "full.npy"
    result = run(capsys, "reconstruct", factors, "-o", out)
    assert_input_error(result, f"cannot write {out}: Read-only file system")
    assert "semitensor-tmp" not in result[2]


def test_huge_ranks_exit_2(capsys, tensor_file, tmp_path):
    result = run(capsys, "decompose", tensor_file, "--format", "str", "--ranks", "1000000",
                 "-o", tmp_path / "o.npz", "-q")  # fmt: skip
    assert_input_error(result, "exceeds 16, the largest useful bond")
    assert not (tmp_path / "o.npz").exists()


def test_crafted_files_exit_2(capsys, factors, tmp_path):
    with np.load(factors) as data:
        contents = {k: data[k] for k in data.files}
    meta = json.loads(str(contents["__semitensor__"]))
    meta["fit"] = {"method": "hooi", "n_iter": "many"}
    contents["__semitensor__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "c.npz", **contents)
    assert_input_error(run(capsys, "info", tmp_path / "c.npz"), "'n_iter' must be an int")
    contents["__semitensor__"] = np.array("[" * 100_000)
    np.savez(tmp_path / "r.npz", **contents)
    result = run(capsys, "reconstruct", tmp_path / "r.npz", "-o", tmp_path / "o.npy")
    assert_input_error(result, "metadata is not valid JSON")


def test_bad_option_values_exit_2(capsys, tensor_file, tmp_path):
    out = tmp_path / "o.npz"
    assert_input_error(run(capsys, *_decompose(tensor_file, out, "--tol", "-1")), "--tol must be")
    assert_input_error(run(capsys, *_decompose(tensor_file, out, "--seed", "-3")), "--seed must")
    assert_input_error(run(capsys, *_decompose(tensor_file, out, "--t", "0")), "--t must be a pos")
    result = run(capsys, *_decompose(tensor_file, out, "--n-iter-max", "0"))
    assert_input_error(result, "--n-iter-max must be a positive integer; got 0")


# --- 1: failures that are not the user's -----------------------------------------


@pytest.mark.parametrize(
    "error, match",
    [
        (np.linalg.LinAlgError("SVD did not converge"), "numerical failure (LinAlgError: SVD"),
        (TypeError("unsupported operand"), "TypeError: unsupported operand"),
        (RuntimeError("something broke"), "RuntimeError: something broke"),
    ],
)
def test_internal_failures_exit_1(error, match, capsys, tensor_file, tmp_path, monkeypatch):
    def failing(*args, **kwargs):
        raise error

    monkeypatch.setitem(demo.FIT_FUNCTIONS, "sttu", failing)
    result = run(capsys, *_decompose(tensor_file, tmp_path / "o.npz"))
    assert_error(result, match, code=1)
    assert "SEMITENSOR_DEBUG=1" in result[2]


def test_interrupt_exits_130(capsys, tensor_file, tmp_path, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "read_tensor", interrupted)
    code, _, err = run(capsys, *_decompose(tensor_file, tmp_path / "o.npz"))
    assert (code, err) == (130, "semitensor: interrupted\n")


# --- SEMITENSOR_DEBUG ----------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "no", "false", "", "off"])
def test_debug_off_values_keep_the_one_line_message(value, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SEMITENSOR_DEBUG", value)
    assert_input_error(run(capsys, "info", tmp_path / "none.npz"), "none.npz: no such file")


@pytest.mark.parametrize("value", ["1", "true", "YES", " yes "])
def test_debug_on_values_raise(value, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SEMITENSOR_DEBUG", value)
    with pytest.raises(FileNotFoundError, match="none.npz: no such file"):
        run(capsys, "info", tmp_path / "none.npz")
