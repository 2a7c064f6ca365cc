import os
import subprocess
import sys

import numpy as np
import pytest

import semitensor as st
from semitensor import cli
from semitensor._registry import available_formats

METHODS = [e.name for e in available_formats()]
RANKS = {"sttu": "4,2,2", "stt": "4,4", "str": "2,4,4"}


@pytest.fixture
def tensor_file(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).standard_normal((8, 6, 4)))
    return path


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_input_error(result, match):
    code, out, err = result
    assert code == 2
    assert err.startswith("semitensor: error: ")
    assert err.count("\n") == 1 and "Traceback" not in err  # one line
    assert match in err, err


# --- parsing -------------------------------------------------------------------


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "decompose" in out and "demo" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"semitensor {st.__version__}"


def test_usage_errors(capsys, tensor_file):
    assert_input_error(run(capsys), "the following arguments are required: COMMAND")
    assert_input_error(run(capsys, "frobnicate"), "invalid choice: 'frobnicate'")
    assert_input_error(
        run(capsys, "decompose", tensor_file, "--ranks", "4", "-o", "y.npz"),
        "the following arguments are required: --method",
    )
    assert_input_error(
        run(capsys, "decompose", tensor_file, "--method", "cp", "-o", "y.npz"),
        "argument --method: invalid choice: 'cp'",
    )
    assert_input_error(run(capsys, "demo", "--levels", "9"), "argument --levels: invalid choice")


def test_ranks_and_eps_are_exclusive(capsys, tensor_file, tmp_path):
    out = tmp_path / "y.npz"
    args = ("decompose", tensor_file, "--method", "sttu", "-o", out)
    assert_input_error(run(capsys, *args), "give exactly one of --ranks and --eps")
    assert_input_error(
        run(capsys, *args, "--ranks", "4", "--eps", "0.1"), "give exactly one of --ranks"
    )
    assert_input_error(run(capsys, *args, "--ranks", "4,x"), "--ranks must be an int or comma")
    assert not out.exists()


# --- sub-commands ----------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_decompose_info_reconstruct(method, capsys, tensor_file, tmp_path):
    out = tmp_path / "f.npz"
    code, stdout, _ = run(
        capsys, "decompose", tensor_file, "--method", method, "--ranks", RANKS[method],
        "--n-iter-max", "5", "-o", out, "-q",
    )  # fmt: skip
    assert code == 0
    header, rule, row = stdout.strip().splitlines()
    assert header.split()[:3] == ["method", "ranks", "t"]
    assert row.startswith(st.load(out).__class__.__name__[:-6])  # "STTu", "STT", "STR"
    dec = st.load(out)
    assert dec.shape == (8, 6, 4)

    code, stdout, _ = run(capsys, "info", out)
    assert code == 0
    fields = dict(
        line.split(None, 1) for line in stdout.replace("compression ratio", "ratio").splitlines()
    )
    assert fields["shape"] == "8x6x4"
    assert fields["ranks"] == ",".join(map(str, dec.ranks))
    assert fields["parameters"] == f"{dec.n_params:,}"
    assert fields["ratio"] == f"{dec.compression_ratio:.2f}"
    assert "fit" in fields

    full = tmp_path / "full.npy"
    code, _, _ = run(capsys, "reconstruct", out, "-o", full)
    assert code == 0
    np.testing.assert_allclose(np.load(full), dec.to_tensor())


def test_decompose_npz_key_and_eps(capsys, tmp_path):
    x = np.random.default_rng(1).standard_normal((8, 4, 4))
    np.savez(tmp_path / "in.npz", a=x, b=np.ones(2))
    out = tmp_path / "f.npz"
    args = ("decompose", tmp_path / "in.npz", "--method", "sttu", "--eps", "0.5", "-o", out)
    assert_input_error(run(capsys, *args), "holds 2 arrays (a, b); choose one with --key")
    assert_input_error(run(capsys, *args, "--key", "c"), "has no array 'c'")
    code, _, _ = run(capsys, *args, "--key", "a")
    assert code == 0
    assert st.load(out).info.rel_error <= 0.5


def test_demo_small(capsys):
    code, out, _ = run(capsys, "demo", "--levels", "1", "--size", "16", "--quiet")
    assert code == 0
    assert "Indian Pines" in out
    for method in ("STTu", "TensorLy Tucker", "STT", "TensorLy TT"):
        assert f"\n{method} " in out
    assert "fits in" in out


def test_demo_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "plot.png"
    code, out, _ = run(capsys, "demo", "--levels", "1", "--size", "8", "-q", "--plot", png)
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_plot_without_matplotlib(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    result = run(capsys, "demo", "--plot", tmp_path / "p.png")
    assert_input_error(result, "--plot needs matplotlib: pip install 'semitensor[plot]'")


def test_demo_bad_size(capsys):
    assert_input_error(run(capsys, "demo", "--size", "10"), "--size must be a multiple of 4")


# --- refusals ------------------------------------------------------------------


def test_missing_input(capsys, tmp_path):
    result = run(capsys, "decompose", tmp_path / "no.npy", "--method", "sttu", "--ranks", "2",
                 "-o", tmp_path / "f.npz")  # fmt: skip
    assert_input_error(result, "no.npy: no such file")


def test_wrong_input_format(capsys, tmp_path):
    bad = tmp_path / "x.txt"
    bad.write_text("1 2 3")
    result = run(capsys, "decompose", bad, "--method", "sttu", "--ranks", "2", "-o",
                 tmp_path / "f.npz")  # fmt: skip
    assert_input_error(result, "INPUT must be a .npy or .npz file")
    fake = tmp_path / "fake.npy"
    fake.write_bytes(b"not numpy")
    result = run(capsys, "decompose", fake, "--method", "sttu", "--ranks", "2", "-o",
                 tmp_path / "f.npz")  # fmt: skip
    assert_input_error(result, "cannot read it as .npy")


def test_nan_input(capsys, tmp_path):
    x = np.ones((4, 4, 4))
    x[1, 2, 3] = np.nan
    np.save(tmp_path / "nan.npy", x)
    result = run(capsys, "decompose", tmp_path / "nan.npy", "--method", "sttu", "--ranks", "2",
                 "-o", tmp_path / "f.npz")  # fmt: skip
    assert_input_error(result, "the tensor holds NaN or Inf values")
    assert not (tmp_path / "f.npz").exists()


def test_library_value_error_is_an_input_error(capsys, tensor_file, tmp_path):
    result = run(capsys, "decompose", tensor_file, "--method", "sttu", "--ranks", "3", "-o",
                 tmp_path / "f.npz")  # fmt: skip
    assert_input_error(result, "ranks[0] must be a positive multiple of t[0]=2")


def test_existing_output_needs_force(capsys, tensor_file, tmp_path):
    out = tmp_path / "f.npz"
    out.write_bytes(b"precious")
    args = ("decompose", tensor_file, "--method", "sttu", "--ranks", "2", "-o", out, "-q")
    assert_input_error(run(capsys, *args), "f.npz exists; pass --force to overwrite it")
    assert out.read_bytes() == b"precious"
    assert run(capsys, *args, "--force")[0] == 0
    assert st.load(out).ranks == (2, 2, 2)

    full = tmp_path / "full.npy"
    full.write_bytes(b"precious")
    assert_input_error(run(capsys, "reconstruct", out, "-o", full), "full.npy exists")
    assert full.read_bytes() == b"precious"
    assert run(capsys, "reconstruct", out, "-o", full, "--force", "-q")[0] == 0
    assert sorted(os.listdir(tmp_path)) == ["f.npz", "full.npy", "x.npy"]  # no temporary files


def test_info_refuses_bad_files(capsys, tmp_path, tensor_file):
    assert_input_error(run(capsys, "info", tmp_path / "none.npz"), "none.npz: no such file")
    assert_input_error(run(capsys, "info", tensor_file), "not an .npz archive")
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    assert_input_error(run(capsys, "info", tmp_path / "plain.npz"), "no __semitensor__ metadata")
    assert_input_error(
        run(capsys, "reconstruct", tmp_path / "plain.npz", "-o", tmp_path / "o.npy"),
        "not a semitensor file",
    )


def test_unexpected_error_exits_1(capsys, tensor_file, tmp_path, monkeypatch):
    def boom(*args):
        raise RuntimeError("something broke")

    monkeypatch.setattr(cli, "_read_tensor", boom)
    code, _, err = run(capsys, "decompose", tensor_file, "--method", "sttu", "--ranks", "2",
                       "-o", tmp_path / "f.npz")  # fmt: skip
    assert code == 1
    assert err.startswith("semitensor: error: RuntimeError: something broke")
    assert err.count("\n") == 1


def test_progress_bar_reports_error():
    pytest.importorskip("tqdm")
    progress = cli._Progress(True, 10, "fit", "sweep")
    assert progress.fit_callback(3, None, 0.125) is False
    assert progress.bar.n == 3 and "0.1250" in progress.bar.postfix
    progress.close()


def test_python_m_semitensor(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "semitensor", "info", str(tmp_path / "missing.npz")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr == f"semitensor: error: {tmp_path / 'missing.npz'}: no such file\n"


def test_import_stays_light():
    code = (
        "import sys, semitensor, semitensor.cli, semitensor.io; "
        "print(sorted(m for m in ('torch', 'numba', 'tqdm', 'matplotlib', 'tensorly') "
        "if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
