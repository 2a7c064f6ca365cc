"""What every format shares: norms of complex formats, the generic fall-backs, the registry."""

import numpy as np
import pytest

from semitensor.formats import reconstruct
from semitensor.formats.str import STRTensor
from semitensor.formats.stt import STTTensor
from semitensor.formats.sttu import STTuTensor
from tests.conftest import BACKENDS, to_backend, to_np

try:
    import torch
except ImportError:
    torch = None

SIDES = ["left", "right"]


def cplx(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("side", SIDES)
def test_norm_of_complex_formats(backend, side):
    rng = np.random.default_rng(0)

    def arrays(shapes):
        return [to_backend(cplx(rng, s), backend) for s in shapes]

    formats = [
        STTTensor(arrays([(1, 3, 4), (2, 2, 2), (4, 3, 1)]), 2, side),
        STRTensor(arrays([(4, 3, 4), (2, 2, 2), (2, 3, 2)]), 2, side),
        STRTensor(arrays([(2, 2, 4), (2, 2, 2), (4, 2, 2)]), [2, 1], side),
        STTuTensor(*(lambda c: (c[0], c[1:]))(arrays([(2, 4), (3, 1), (2, 2)])), 2, side),
    ]
    for dec in formats:
        norm = to_np(dec.norm())
        assert not np.iscomplexobj(norm)
        assert float(norm) == pytest.approx(np.linalg.norm(to_np(dec.to_tensor())), rel=1e-12)


def test_base_norm_falls_back_to_the_full_tensor():
    from semitensor.formats._base import STPFormat

    class _Dense(STPFormat):  # private name: not registered as a library format
        def __init__(self, x):
            super().__init__(x.shape, (1,), (1,), "left")
            self._x = x

        @property
        def n_params(self):
            return self._x.size

        def to_tensor(self):
            return self._x

    x = np.arange(6.0).reshape(2, 3)
    dense = _Dense(x)
    assert float(dense.norm()) == pytest.approx(np.linalg.norm(x))
    assert dense.compression_ratio == 1.0
    assert np.array_equal(reconstruct(dense), x)
    assert "_Dense" not in str(pytest.raises(TypeError, reconstruct, 3).value)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_norms_of_extreme_magnitudes_are_finite_and_right(scale, backend):
    rng = np.random.default_rng(7)

    def arrays(shapes, scaled):
        return [
            to_backend(rng.standard_normal(s) * (scale if k == scaled else 1.0), backend)
            for k, s in enumerate(shapes)
        ]

    formats = [
        STTTensor(arrays([(1, 3, 4), (2, 2, 2), (4, 3, 1)], 1), 2),
        STRTensor(arrays([(4, 3, 4), (2, 2, 2), (2, 3, 2)], 0), 2),
        STTuTensor(*(lambda c: (c[0], c[1:]))(arrays([(4, 2), (3, 2), (2, 1)], 0)), 2),
    ]
    for dec in formats:
        full = to_np(dec.to_tensor()) / scale
        assert np.all(np.isfinite(full))
        assert float(dec.norm()) / scale == pytest.approx(np.linalg.norm(full), rel=1e-10)


def test_unsigned_indices_beyond_int64_are_out_of_range():
    rng = np.random.default_rng(8)
    x = STTTensor([rng.standard_normal(s) for s in [(1, 3, 4), (2, 2, 2), (4, 3, 1)]], 2)
    idx = np.array([[0, 1, 2], [2**63 + 1, 0, 0]], dtype=np.uint64)
    with pytest.raises(ValueError, match=r"indices\[1\] = \(9223372036854775809, 0, 0\)"):
        x.entries(idx)
    assert float(x.entries(idx[:1])[0]) == pytest.approx(x.to_tensor()[0, 1, 2])


def _stt():
    rng = np.random.default_rng(9)
    return STTTensor([rng.standard_normal(s) for s in [(1, 3, 4), (2, 2, 2), (4, 3, 1)]], 2)


def test_out_of_range_subscripts_are_index_errors():
    with pytest.raises(IndexError, match=r"indices\[0\] = \(4, 0, 0\) is out of range"):
        _stt()[4, 0, 0]


def test_iteration_walks_the_cores_that_len_counts():
    x = _stt()
    assert len(list(x)) == len(x) == 3
    assert all(a is b for a, b in zip(x, x.cores))


def test_cores_cannot_be_replaced_behind_the_validation():
    x = _stt()
    with pytest.raises(AttributeError):
        x.cores = ()


@pytest.mark.parametrize("bad", ["abc", np.array([["a", "b"]]), np.ones((2, 2), dtype=object)])
def test_formats_refuse_non_numeric_arrays(bad):
    with pytest.raises(TypeError, match=r"core must hold numbers; got an array of dtype"):
        STTuTensor(bad, [np.ones((2, 1))] * np.ndim(bad), 1)


ZERO_SIZED = {
    "stt mode 0": lambda z: STTTensor([z((1, 0, 2)), z((2, 3, 1))], 1),
    "stt rank 0": lambda z: STTTensor([z((1, 3, 0)), z((0, 3, 1))], 1),
    "str rank 0": lambda z: STRTensor([z((0, 3, 2)), z((2, 3, 0))], 1),
    "sttu rank 0": lambda z: STTuTensor(z((2, 2, 0)), [z((3, 2)), z((3, 2)), z((4, 0))], 1),
    "sttu mode 0": lambda z: STTuTensor(z((2, 2, 1)), [z((0, 2)), z((3, 2)), z((4, 1))], 1),
}


@pytest.mark.parametrize("case", list(ZERO_SIZED))
def test_zero_sized_formats_are_refused_at_construction(backend, case):
    # Before: built, then repr/compression_ratio/to_tensor/norm raised ZeroDivisionError
    # or a mode-product error, and a saved one could not be loaded.
    def zeros(shape):
        return to_backend(np.zeros(shape), backend)

    with pytest.raises(ValueError, match=r"has shape \(.*0.*\); every rank and mode size"):
        ZERO_SIZED[case](zeros)
