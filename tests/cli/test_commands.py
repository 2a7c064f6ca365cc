"""``decompose``, ``reconstruct`` and ``info`` (semitensor.cli.commands)."""

import os

import numpy as np
import pytest

import semitensor as st
from semitensor.cli import commands
from semitensor.cli._progress import Progress
from semitensor.cli._table import format_table

from .conftest import FORMATS, RANKS, assert_input_error, run


@pytest.mark.parametrize("name", FORMATS)
def test_decompose_info_reconstruct(name, capsys, tensor_file, tmp_path):
    out = tmp_path / "f.npz"
    code, stdout, err = run(
        capsys, "decompose", tensor_file, "--format", name, "--ranks", RANKS[name],
        "--n-iter-max", "5", "-o", out, "-q",
    )  # fmt: skip
    assert code == 0 and err == ""
    header, rule, row = stdout.strip().splitlines()
    assert header.split()[:3] == ["method", "ranks", "t"]
    dec = st.load(out)
    assert type(dec) is st.formats.format_class(name)
    assert row.split()[0] == type(dec).title
    assert dec.shape == (8, 6, 4)

    code, stdout, _ = run(capsys, "info", out)
    assert code == 0
    fields = dict(
        line.split(None, 1) for line in stdout.replace("compression ratio", "ratio").splitlines()
    )
    assert fields["format"].startswith(f"{type(dec).title} (written by semitensor")
    assert fields["shape"] == "8x6x4"
    assert fields["ranks"] == ",".join(map(str, dec.ranks))
    assert fields["parameters"] == f"{dec.n_params:,}"
    assert fields["ratio"] == f"{dec.compression_ratio:.2f}"
    assert fields["dtype"] == "float64"
    assert fields["fit"].startswith(dec.info.method)

    full = tmp_path / "full.npy"
    code, _, _ = run(capsys, "reconstruct", out, "-o", full)
    assert code == 0
    np.testing.assert_allclose(np.load(full), dec.to_tensor())


def test_method_is_a_deprecated_alias_of_format(capsys, tensor_file, tmp_path):
    out = tmp_path / "f.npz"
    code, _, err = run(capsys, "decompose", tensor_file, "--method", "stt", "--ranks", "4",
                       "--n-iter-max", "2", "-o", out, "-q")  # fmt: skip
    assert code == 0
    assert err == "semitensor: warning: --method is deprecated; use --format\n"
    assert isinstance(st.load(out), st.STTTensor)
    result = run(capsys, "decompose", tensor_file, "--method", "stt", "--format", "str",
                 "--ranks", "4", "-o", tmp_path / "g.npz")  # fmt: skip
    assert_input_error(result, "--format str and --method stt disagree")


def test_ranks_and_eps_are_exclusive(capsys, tensor_file, tmp_path):
    out = tmp_path / "y.npz"
    args = ("decompose", tensor_file, "--format", "sttu", "-o", out)
    assert_input_error(run(capsys, *args), "give exactly one of --ranks and --eps")
    assert_input_error(
        run(capsys, *args, "--ranks", "4", "--eps", "0.1"), "give exactly one of --ranks"
    )
    assert_input_error(run(capsys, *args, "--ranks", "4,x"), "--ranks must be an int or comma")
    assert not out.exists()


def test_decompose_npz_key_and_eps(capsys, tmp_path):
    x = np.random.default_rng(1).standard_normal((8, 4, 4))
    np.savez(tmp_path / "in.npz", a=x, b=np.ones(2))
    out = tmp_path / "f.npz"
    args = ("decompose", tmp_path / "in.npz", "--format", "sttu", "--eps", "0.5", "-o", out)
    assert_input_error(run(capsys, *args), "holds 2 arrays (a, b); choose one with --key")
    assert_input_error(run(capsys, *args, "--key", "c"), "has no array 'c'")
    code, _, _ = run(capsys, *args, "--key", "a")
    assert code == 0
    assert st.load(out).info.rel_error <= 0.5


def test_missing_input(capsys, tmp_path):
    result = run(capsys, "decompose", tmp_path / "no.npy", "--format", "sttu", "--ranks", "2",
                 "-o", tmp_path / "f.npz")  # fmt: skip
    assert_input_error(result, "no.npy: no such file")


def test_wrong_input_format(capsys, tmp_path):
    bad = tmp_path / "x.txt"
    bad.write_text("1 2 3")
    result = run(capsys, "decompose", bad, "--format", "sttu", "--ranks", "2", "-o",
                 tmp_path / "f.npz")  # fmt: skip
    assert_input_error(result, "INPUT must be a .npy or .npz file")
    fake = tmp_path / "fake.npy"
    fake.write_bytes(b"not numpy")
    result = run(capsys, "decompose", fake, "--format", "sttu", "--ranks", "2", "-o",
                 tmp_path / "f.npz")  # fmt: skip
    assert_input_error(result, "cannot read it as .npy")


def test_nan_input(capsys, tmp_path):
    x = np.ones((4, 4, 4))
    x[1, 2, 3] = np.nan
    np.save(tmp_path / "nan.npy", x)
    result = run(capsys, "decompose", tmp_path / "nan.npy", "--format", "sttu", "--ranks", "2",
                 "-o", tmp_path / "f.npz")  # fmt: skip
    assert_input_error(result, "the tensor holds NaN or Inf values")
    assert not (tmp_path / "f.npz").exists()


def test_library_value_error_is_an_input_error(capsys, tensor_file, tmp_path):
    result = run(capsys, "decompose", tensor_file, "--format", "sttu", "--ranks", "3", "-o",
                 tmp_path / "f.npz")  # fmt: skip
    assert_input_error(result, "ranks[0] must be a positive multiple of t[0]=2")


def test_existing_output_needs_force(capsys, tensor_file, tmp_path):
    out = tmp_path / "f.npz"
    out.write_bytes(b"precious")
    args = ("decompose", tensor_file, "--format", "sttu", "--ranks", "2", "-o", out, "-q")
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


def test_table_aligns_columns():
    row = {"method": "STT", "ranks": (8, 8), "t": (2,), "params": 3136, "ratio": 261.2,
           "rel_error": 0.0468, "time": 0.37}  # fmt: skip
    header, rule, line = format_table([row]).splitlines()
    assert header.split() == ["method", "ranks", "t", "params", "ratio", "rel.", "error",
                              "time", "(s)"]  # fmt: skip
    assert line.split() == ["STT", "8,8", "2", "3,136", "261.2", "0.0468", "0.37"]
    assert len(rule) == len(line)


def test_progress_bar_reports_error():
    pytest.importorskip("tqdm")
    progress = Progress(True, 10, "fit", "sweep")
    assert progress.fit_callback(3, None, 0.125) is False
    assert progress.bar.n == 3 and "0.1250" in progress.bar.postfix
    progress.close()


def test_reconstruct_builds_the_full_tensor_once(capsys, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    dec = st.STTTensor([rng.standard_normal((1, 3, 2)), rng.standard_normal((2, 4, 1))], t=1)
    st.save(dec, tmp_path / "f.npz")
    calls = []
    to_tensor = st.STTTensor.to_tensor

    def counting(self):
        calls.append(1)
        return to_tensor(self)

    monkeypatch.setattr(st.STTTensor, "to_tensor", counting)
    code, out, _ = run(capsys, "reconstruct", tmp_path / "f.npz", "-o", tmp_path / "x.npy")
    assert code == 0 and len(calls) == 1
    assert out == f"wrote {tmp_path / 'x.npy'}: shape (3, 4), dtype float64\n"


def test_reconstruct_refuses_a_tensor_too_large(capsys, tmp_path, monkeypatch):
    # 2,000 parameters describing a 10^15-entry tensor (8 PB of float64).
    rng = np.random.default_rng(0)
    big = st.STTuTensor(rng.standard_normal((2, 2, 2)),
                        [rng.standard_normal((50_000, 1)) for _ in range(3)], t=2)  # fmt: skip
    st.save(big, tmp_path / "big.npz")
    result = run(capsys, "reconstruct", tmp_path / "big.npz", "-o", tmp_path / "x.npy")
    assert_input_error(result, "the full tensor (100000x100000x100000, float64) takes 7.1 PiB")
    assert "more than half of this machine's memory" in result[2]

    small = st.STTTensor([rng.standard_normal((1, 3, 2)), rng.standard_normal((2, 4, 1))], t=1)
    st.save(small, tmp_path / "small.npz")
    monkeypatch.setattr(commands, "memory_bytes", lambda: None)
    monkeypatch.setattr(
        commands.shutil, "disk_usage", lambda p: type("U", (), {"free": 10})()
    )  # 10 bytes free
    result = run(capsys, "reconstruct", tmp_path / "small.npz", "-o", tmp_path / "x.npy")
    assert_input_error(result, "takes 96 bytes, more than the 10 bytes free on its disk")
    assert not (tmp_path / "x.npy").exists()


def test_info_on_a_torch_decomposition(capsys, tmp_path):
    torch = pytest.importorskip("torch")
    dec = st.STTTensor([torch.ones(1, 3, 2), torch.ones(2, 4, 1)], t=1)
    st.save(dec, tmp_path / "t.npz")
    code, out, _ = run(capsys, "info", tmp_path / "t.npz")
    assert code == 0 and "dtype              float32" in out


def test_full_core_option_of_str(capsys, tensor_file, tmp_path):
    out = tmp_path / "f.npz"
    base = ["decompose", tensor_file, "--ranks", "4", "--n-iter-max", "3", "-q"]
    code, _, err = run(capsys, *base, "--format", "str", "--full-core", "1", "-o", out)
    assert code == 0 and err == ""
    assert st.load(out).full_core == 1
    code, stdout, _ = run(capsys, "info", out)
    assert code == 0 and "full core" in stdout and stdout.split("full core")[1].split()[0] == "1"
    code, _, _ = run(capsys, *base, "--format", "str", "--full-core", "auto", "-o", out, "--force")
    assert code == 0 and st.load(out).full_core == 2  # 8x6x4: the last mode is the smallest
    assert_input_error(
        run(capsys, *base, "--format", "stt", "--full-core", "1", "-o", tmp_path / "g.npz"),
        "--full-core applies to --format str only",
    )
    assert_input_error(
        run(capsys, *base, "--format", "str", "--full-core", "last", "-o", tmp_path / "g.npz"),
        "--full-core must be 'auto' or a mode",
    )
    assert_input_error(
        run(capsys, *base, "--format", "str", "--full-core", "3", "-o", tmp_path / "g.npz"),
        "full_core must be in [-3, 2]",
    )
