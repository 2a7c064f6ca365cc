"""The progress bar of verbose fits: on a terminal only, one tick per sweep."""

import io

import numpy as np
import pytest

from semitensor.decomposition.stt import stt_decompose
from semitensor.decomposition.sttu import sttu_decompose
from tests.oracles import random_stt_tensor


class Terminal(io.StringIO):
    def isatty(self):
        return True


FITS = {
    "stt": lambda x, **kw: stt_decompose(x, 4, 2, n_iter_max=6, tol=0.0, warmup=0, **kw),
    "sttu": lambda x, **kw: sttu_decompose(x, [2, 2, 2], 2, n_iter_max=6, tol=0.0, **kw),
}


@pytest.mark.filterwarnings("ignore::semitensor.ConvergenceWarning")
@pytest.mark.parametrize("fit", FITS)
def test_verbose_shows_a_bar_on_a_terminal_only(fit, monkeypatch):
    x = random_stt_tensor((4, 6, 4), 4, 2, 0) + 0.1 * np.random.default_rng(0).random((4, 6, 4))
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    FITS[fit](x, verbose=True)
    shown = term.getvalue()
    assert "/6" in shown and "sweep/s" in shown  # tqdm draws its bar (total: n_iter_max)
    pipe = io.StringIO()
    monkeypatch.setattr("sys.stderr", pipe)
    FITS[fit](x, verbose=True)
    assert pipe.getvalue() == ""
    monkeypatch.setattr("sys.stderr", term)
    term.seek(0)
    term.truncate()
    FITS[fit](x, verbose=False)
    assert term.getvalue() == ""
