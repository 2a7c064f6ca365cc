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
