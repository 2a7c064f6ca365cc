"""An STR whose full core sits on any mode (``full_core``): definition, ranks, files."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semitensor
from semitensor.formats.chain import cheapest_full_core, str_core_shapes, str_params
from semitensor.formats.str import STRTensor
from tests.conftest import BACKENDS, to_backend, to_np
from tests.formats.test_str import SIDES, str_cores
from tests.oracles import slow_str


def _rotated(chain, ts, m):
    """Chain-order cores (full first) placed in mode order with the full one on ``m``.

    Chain core ``j`` is the core of mode ``(m + j) % n``; ``t`` in mode order skips ``m``.
    """
    n = len(chain)
    cores = [chain[(k - m) % n] for k in range(n)]
    t_of = {(m + j) % n: ts[j - 1] for j in range(1, n)}
    return cores, [t_of[k] for k in range(n) if k != m]


def _want(chain, ts, side, m):
    """The oracle tensor in mode order (``slow_str`` gives the chain's mode order)."""
    n = len(chain)
    return np.transpose(slow_str(chain, ts, side), [(k - m) % n for k in range(n)])


@settings(max_examples=40, deadline=None)
@given(
    data=str_cores(),
    m=st.integers(0, 3),
    side=st.sampled_from(SIDES),
    backend=st.sampled_from(BACKENDS),
)
def test_any_full_core_matches_the_rotated_definition(data, m, side, backend):
    chain, ts = data
    n = len(chain)
    m %= n
    cores, t_mode = _rotated(chain, ts, m)
    x = STRTensor([to_backend(c, backend) for c in cores], t_mode, side, full_core=m)
    want = _want(chain, ts, side, m)
    assert x.full_core == m and x.shape == want.shape
    np.testing.assert_allclose(to_np(x.to_tensor()), want, atol=1e-10)
    idx = np.array(list(np.ndindex(*x.shape)))
    np.testing.assert_allclose(to_np(x.entries(to_backend(idx, backend))), want.ravel(), atol=1e-10)
    assert float(to_np(x.norm())) == pytest.approx(np.linalg.norm(want), rel=1e-9, abs=1e-12)
    # ranks[k] is the bond entering cores[k]: the full core's rows, or t times the others'.
    t_of = dict(zip([k for k in range(n) if k != m], t_mode))
    assert x.ranks == tuple(c.shape[0] * t_of.get(k, 1) for k, c in enumerate(cores))
    assert x.n_params == sum(c.size for c in cores)


@settings(max_examples=30, deadline=None)
@given(data=str_cores(uniform=True), m=st.integers(0, 3), side=st.sampled_from(SIDES))
def test_compact_and_to_tr_keep_the_tensor_for_any_full_core(data, m, side):
    chain, ts = data
    m %= len(chain)
    cores, t_mode = _rotated(chain, ts, m)
    x = STRTensor(cores, t_mode, side, full_core=m)
    want = _want(chain, ts, side, m)
    np.testing.assert_allclose(x.compact().to_tensor(), want, atol=1e-10)
    np.testing.assert_allclose(x.to_tr().to_tensor(), want, atol=1e-10)
    lazy = x.to_tensor(chunks=tuple(max(1, s // 2) for s in x.shape))
    np.testing.assert_allclose(lazy.compute(), want, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_full_core_survives_save_load_and_shows_in_repr(tmp_path, backend):
    rng = np.random.default_rng(0)
    cores = [rng.standard_normal(s) for s in [(2, 3, 2), (2, 5, 3), (6, 2, 4)]]
    x = STRTensor([to_backend(c, backend) for c in cores], 2, full_core=2)
    assert "full_core=2" in repr(x)
    assert "full_core" not in repr(STRTensor(_ring0(rng), 2))
    path = semitensor.save(x, tmp_path / "x.npz")
    back = semitensor.load(path)
    assert back.full_core == 2 and back.ranks == x.ranks
    np.testing.assert_allclose(to_np(back.to_tensor()), to_np(x.to_tensor()))
    assert semitensor.io.read_metadata(path)["options"] == {"full_core": 2}


def _ring0(rng):
    return [rng.standard_normal(s) for s in [(4, 3, 4), (2, 5, 2)]]


def test_a_file_without_options_reads_as_full_core_zero(tmp_path):
    # Files written before full_core existed have no "options" field.
    x = STRTensor(_ring0(np.random.default_rng(1)), 2)
    path = semitensor.save(x, tmp_path / "x.npz")
    assert semitensor.io.read_metadata(path)["options"] == {}
    assert semitensor.load(path).full_core == 0


def test_bad_full_core_is_refused_naming_the_range():
    cores = _ring0(np.random.default_rng(2))
    with pytest.raises(ValueError, match=r"full_core must be in \[-2, 1\].*got 2"):
        STRTensor(cores, 2, full_core=2)
    with pytest.raises(TypeError, match="full_core must be an integer"):
        STRTensor(cores, 2, full_core="first")
    # cores[0] as the full core of a ring read from mode 1: the shapes no longer close.
    with pytest.raises(ValueError, match=r"cores\[0\] has shape \(4, 3, 4\)"):
        STRTensor(cores, 2, full_core=1)
    assert STRTensor(cores, 2, full_core=-2).full_core == 0


def test_cheapest_full_core_minimises_the_parameters():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(2, 6))
        t = int(rng.integers(1, 4))
        shape = [int(v) for v in rng.integers(1, 9, n)]
        bonds = [t * int(v) for v in rng.integers(1, 4, n)]
        counts = [str_params(shape, bonds, t, m) for m in range(n)]
        best = cheapest_full_core(shape, bonds)
        assert counts[best] == min(counts)
        shapes = str_core_shapes(shape, bonds, t, best)
        cores = [rng.standard_normal(s) for s in shapes]
        x = STRTensor(cores, t, full_core=best)
        assert x.n_params == counts[best] and list(x.ranks) == bonds
