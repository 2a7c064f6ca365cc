"""The fits read their input, never copy it whole: memory-mapped data stays on disk."""

import tracemalloc

import numpy as np
import pytest

from semitensor.decomposition.str import str_decompose
from semitensor.decomposition.stt import stt_decompose
from semitensor.decomposition.sttu import sttu_decompose

FITS = {
    "stt": lambda x: stt_decompose(x, 8, 2, random_state=0, n_iter_max=3),
    "str": lambda x: str_decompose(x, 4, 2, random_state=0, n_iter_max=3),
    "sttu": lambda x: sttu_decompose(x, [8, 8, 4], 2, n_iter_max=3),
}
# Below one copy of the input: the fit never holds a second tensor-sized array.
# (STTu's first projection of a mode with few trailing entries copies it once.)
LIMIT = {"stt": 0.6, "str": 0.6, "sttu": 1.2}


@pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")
@pytest.mark.parametrize("fit", FITS)
def test_memory_mapped_input_is_read_not_copied(fit, tmp_path):
    x = np.random.default_rng(0).random((96, 80, 64))  # 3.9 MB
    path = tmp_path / "x.npy"
    np.save(path, x)
    mapped = np.load(path, mmap_mode="r")
    ref = FITS[fit](x)
    tracemalloc.start()
    dec = FITS[fit](mapped)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < LIMIT[fit] * x.nbytes, f"peak {peak / x.nbytes:.2f} copies of the input"
    assert dec.info.errors == pytest.approx(ref.info.errors, rel=1e-12)
    np.testing.assert_array_equal(np.load(path), x)
