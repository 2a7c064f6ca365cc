"""``semitensor decompose --missing nan`` and ``--mask M.npy`` (issue 12)."""

import numpy as np
import pytest

import semitensor as st
from tests.cli.test_commands import assert_input_error, run

pytestmark = pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")


@pytest.fixture
def holes(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((8, 6, 4))
    x[rng.random(x.shape) < 0.2] = np.nan
    np.save(tmp_path / "holes.npy", x)
    return x, tmp_path


@pytest.mark.parametrize("name, ranks", [("sttu", "4,2,2"), ("stt", "4"), ("str", "2")])
def test_missing_nan_fits_the_finite_entries(name, ranks, holes, capsys):
    x, tmp = holes
    out = tmp / "f.npz"
    args = ("decompose", tmp / "holes.npy", "--format", name, "--ranks", ranks)
    code, stdout, _ = run(capsys, *args, "--missing", "nan", "--n-iter-max", "5", "-o", out, "-q")
    assert code == 0
    dec = st.load(out)
    fit = {"sttu": st.sttu_decompose, "stt": st.stt_decompose, "str": st.str_decompose}[name]
    r = [int(v) for v in ranks.split(",")]
    ref = fit(x, r if len(r) > 1 else r[0], 2, mask=np.isfinite(x), n_iter_max=5,
              random_state=0)  # fmt: skip
    np.testing.assert_allclose(dec.to_tensor(), ref.to_tensor(), rtol=1e-12, atol=1e-12)
    assert f"{ref.info.rel_error:.3g}"[:4] in stdout


def test_mask_file_and_its_errors(holes, capsys):
    x, tmp = holes
    mask = np.isfinite(x) & (np.random.default_rng(1).random(x.shape) < 0.9)
    np.save(tmp / "m.npy", mask)
    out = tmp / "f.npz"
    args = ("decompose", tmp / "holes.npy", "--format", "stt", "--ranks", "4", "-o", out, "-q")
    code, _, _ = run(capsys, *args, "--mask", tmp / "m.npy", "--n-iter-max", "5")
    assert code == 0
    ref = st.stt_decompose(x, 4, 2, mask=mask, n_iter_max=5, random_state=0)
    np.testing.assert_allclose(st.load(out).to_tensor(), ref.to_tensor(), rtol=1e-12)
    np.save(tmp / "bad.npy", mask.astype(int))
    assert_input_error(run(capsys, *args, "--mask", tmp / "bad.npy", "--force"),
                       "must be a boolean .npy of the tensor's shape (8, 6, 4)")  # fmt: skip
    np.save(tmp / "all.npy", np.ones(x.shape, dtype=bool))
    assert_input_error(run(capsys, *args, "--mask", tmp / "all.npy", "--force"),
                       "contains NaN or Inf")  # fmt: skip
    assert_input_error(run(capsys, *args, "--force"), "add --missing nan, or --mask M.npy")
