"""from_linear / from_conv in the layer's dtype: balanced factors, finite or refused.

Issue 14: fits of trained convs returned cores of 1e25 next to 1e-21; cast to float32
one became inf and its neighbour 0, the logits NaN, while ``init_info`` still
reported the float64 error. The fits are made to return such factors here.
"""

import math
import types

import pytest
import torch

from semitensor.nn import STPConv2d, STRLinear, STTLinear, STTuLinear

from .conftest import rel

CASES = [
    (STTLinear, dict(ranks=[4, 8, 4], t=2)),
    (STRLinear, dict(ranks=4, t=2, random_state=0)),
    (STTuLinear, dict(ranks=4, t=2)),
]
IDS = ["stt", "str", "sttu"]


def _skewing(cls, monkeypatch, scales):
    """Make ``cls._fit`` return its fit with factor k multiplied by ``scales[k]``."""
    fit = cls._fit

    def skewed(self, wt, **kw):
        dec = fit(self, wt, **kw)
        arrays = dict(dec.named_arrays())
        for (name, a), s in zip(list(arrays.items()), scales):
            arrays[name] = a * s
        return types.SimpleNamespace(named_arrays=lambda: arrays, info=dec.info)

    monkeypatch.setattr(cls, "_fit", skewed)


@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
def test_skewed_fit_is_balanced_and_finite_in_float32(cls, kw, monkeypatch):
    torch.manual_seed(0)
    dense = torch.nn.Linear(16, 16)
    x = torch.randn(5, 16)
    reference = cls.from_linear(dense.double(), (4, 4), (4, 4), **kw)
    dense = dense.float()
    _skewing(cls, monkeypatch, [1e25, 1e-25, 1e20, 1e-20, 1.0])
    layer = cls.from_linear(dense, (4, 4), (4, 4), **kw)
    params = layer._weight_parameters()
    assert all(bool(torch.isfinite(p).all()) for p in params)
    norms = [float(torch.linalg.vector_norm(p.detach())) for p in params]
    assert max(norms) / min(norms) < 1 + 1e-4  # one norm for every factor
    y, y_ref = layer(x), reference(x.double())
    assert bool(torch.isfinite(y).all())
    assert rel(y.double(), y_ref) < 1e-5
    # The record is that of the float32 layer, not of the float64 fit.
    err = rel(layer.weight.double(), dense.weight.double())
    assert layer.init_info.rel_error == pytest.approx(err, rel=1e-6, abs=1e-9)


def test_skewed_conv_fit_gives_finite_logits(monkeypatch):
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(4, 8, 3, padding=1)
    _skewing(STTLinear, monkeypatch, [1e28, 3e-25, 1e-3, 1.0])
    layer = STPConv2d.from_conv(conv, (4, 9), (2, 4), ranks=[4, 8, 4], t=2)
    y = layer(torch.randn(2, 4, 6, 6))
    assert bool(torch.isfinite(y).all())
    assert math.isfinite(layer.linear.init_info.rel_error)


@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
def test_weight_out_of_range_of_the_dtype_is_refused(cls, kw, monkeypatch):
    torch.manual_seed(2)
    dense = torch.nn.Linear(16, 16)
    # Every factor times 1e10: the weight is ~1e40 or more, beyond float32.
    _skewing(cls, monkeypatch, [1e10] * 5)
    with pytest.raises(ValueError, match="not finite in torch.float32"):
        cls.from_linear(dense, (4, 4), (4, 4), **kw)


def test_issue_case_has_balanced_cores():
    # The issue's STTLinear(576 -> 64) case (ranks within the useful bounds now enforced).
    torch.manual_seed(0)
    dense = torch.nn.Linear(576, 64)
    with pytest.warns(Warning):
        layer = STTLinear.from_linear(
            dense, (8, 8, 9), (4, 4, 4), ranks=[16, 32, 32, 32, 8], t=2,
            random_state=0, n_iter_max=5, tol=1e-6,
        )  # fmt: skip
    norms = [float(torch.linalg.vector_norm(c.detach())) for c in layer.cores]
    assert max(norms) / min(norms) < 1 + 1e-4
    err = rel(layer.weight.double(), dense.weight.double())
    assert layer.init_info.rel_error == pytest.approx(err, rel=1e-6)


# --- ring layers without the ρ0 × N × ρ0 intermediate ----------------------------------


@pytest.mark.parametrize("modes", [(3, 4), (2, 3, 4, 5), (4, 1, 3, 2, 2, 3)])
def test_ring_to_tensor_and_moments_match_the_format(modes):
    from semitensor.formats.str import STRTensor
    from semitensor.nn._contract import ring_moments, ring_to_tensor

    torch.manual_seed(3)
    n = len(modes)
    ranks = [2 + k % 3 for k in range(n)]
    ring = [torch.randn(ranks[k], modes[k], ranks[(k + 1) % n], dtype=torch.float64)
            for k in range(n)]  # fmt: skip
    full = STRTensor(ring, 1).to_tensor()  # t = 1: a plain tensor ring
    assert rel(ring_to_tensor(ring, modes), full) < 1e-12
    total, squares = ring_moments(ring)
    assert total == pytest.approx(float(full.sum()), rel=1e-9, abs=1e-9)
    assert squares == pytest.approx(float((full**2).sum()), rel=1e-9)


@pytest.mark.parametrize("cls", [STTLinear, STRLinear])
def test_ring_layers_build_without_rebuilding_the_weight(cls, monkeypatch):
    def refuse(self):
        raise AssertionError("the weight was rebuilt in __init__")

    monkeypatch.setattr(cls, "_weight_tensor", refuse)
    # 4096 x 4096 STR of ranks 16, t = 2 asked for 4.29 GB in __init__ before.
    layer = cls(4096, 4096, (64, 64), (64, 64), 16, 2)
    assert layer.n_params < 10**5
