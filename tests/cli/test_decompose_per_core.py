"""``semitensor decompose --t 2,4``: a t per core for STT and STR from the command line."""

import numpy as np
import pytest

import semitensor as st
from tests.cli.test_commands import assert_input_error, run

pytestmark = pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")


@pytest.mark.parametrize(
    ("name", "ranks", "t", "extra"),
    [("stt", "4,8,4", "2,4", ()), ("str", "4,4,8,8", "2,4,4", ("--full-core", "1"))],
)
def test_a_t_per_core_fits_and_matches_the_function(name, ranks, t, extra, tmp_path, capsys):
    x = np.random.default_rng(0).standard_normal((5, 4, 6, 5))
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "f.npz"
    args = ("decompose", tmp_path / "x.npy", "--format", name, "--ranks", ranks, "--t", t)
    code, stdout, _ = run(capsys, *args, *extra, "--n-iter-max", "4", "-o", out, "-q")
    assert code == 0
    dec = st.load(out)
    assert dec.t == tuple(int(v) for v in t.split(","))
    fit = {"stt": st.stt_decompose, "str": st.str_decompose}[name]
    options = {"full_core": 1} if name == "str" else {}
    ref = fit(x, [int(v) for v in ranks.split(",")], [int(v) for v in t.split(",")],
              n_iter_max=4, random_state=0, **options)  # fmt: skip
    np.testing.assert_allclose(dec.to_tensor(), ref.to_tensor(), rtol=1e-12, atol=1e-12)


def test_a_t_per_core_with_bonds_it_cannot_split_is_an_input_error(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.ones((5, 4, 6, 5)))
    args = ("decompose", tmp_path / "x.npy", "--format", "stt", "--ranks", "4,6,4")
    result = run(capsys, *args, "--t", "2,4", "-o", tmp_path / "f.npz")
    assert_input_error(result, "ranks[1] = 6 joins cores with t = 2 and 4")
