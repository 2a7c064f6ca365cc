"""The parser, the exit statuses and the entry points (semitensor.cli.main)."""

import subprocess
import sys

import pytest

import semitensor as st
from semitensor.cli import commands

from .conftest import assert_error, assert_input_error, run


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "decompose" in out and "demo" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"semitensor {st.__version__}"


def test_decompose_help_names_format_not_method(capsys):
    code, out, _ = run(capsys, "decompose", "--help")
    assert code == 0
    assert "--format {sttu,stt,str}" in out
    assert "--method" not in out  # the deprecated spelling is not advertised


def test_usage_errors(capsys, tensor_file):
    assert_input_error(run(capsys), "the following arguments are required: COMMAND")
    assert_input_error(run(capsys, "frobnicate"), "invalid choice: 'frobnicate'")
    assert_input_error(
        run(capsys, "decompose", tensor_file, "--ranks", "4", "-o", "y.npz"),
        "the following arguments are required: --format",
    )
    assert_input_error(
        run(capsys, "decompose", tensor_file, "--format", "cp", "-o", "y.npz"),
        "argument --format: invalid choice: 'cp'",
    )
    assert_input_error(run(capsys, "demo", "--levels", "9"), "argument --levels: invalid choice")


def test_unexpected_error_exits_1(capsys, tensor_file, tmp_path, monkeypatch):
    def boom(*args):
        raise RuntimeError("something broke")

    monkeypatch.setattr(commands, "read_tensor", boom)
    result = run(capsys, "decompose", tensor_file, "--format", "sttu", "--ranks", "2",
                 "-o", tmp_path / "f.npz")  # fmt: skip
    assert_error(result, "semitensor: error: RuntimeError: something broke", code=1)


def test_python_m_semitensor(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "semitensor", "info", str(tmp_path / "missing.npz")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr == f"semitensor: error: {tmp_path / 'missing.npz'}: no such file\n"


def test_script_entry_point_resolves():
    # pyproject.toml's [project.scripts] names semitensor.cli.main:main.
    import importlib

    module = importlib.import_module("semitensor.cli.main")
    assert module.main is st.cli.main


def test_import_stays_light():
    code = (
        "import sys, semitensor, semitensor.cli, semitensor.io; "
        "print(sorted(m for m in ('torch', 'numba', 'tqdm', 'matplotlib', 'tensorly') "
        "if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_no_module_of_the_old_layout():
    for name in ("semitensor._registry", "semitensor._demo"):
        with pytest.raises(ImportError):
            __import__(name)
