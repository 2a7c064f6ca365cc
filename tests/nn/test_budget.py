"""compress_model: Linear and Conv2d layers replaced by a ratio or a parameter budget."""

import warnings

import pytest
import torch

from semitensor.nn import STPConv2d, STRLinear, STTLinear, STTuLinear, compress_model

FIT = {"random_state": 0, "n_iter_max": 3, "tol": 0.5}


class MyLinear(torch.nn.Linear):
    pass


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(16, 32, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(32, 32, 3, padding=1, groups=2),
        torch.nn.Flatten(),
        MyLinear(32 * 16, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 10),  # 640 entries: below min_params
    )


def _run(model, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compress_model(model, **kw, **FIT)


@pytest.mark.parametrize(("fmt", "cls"), [("stt", STTLinear), ("str", STRLinear),
                                          ("sttu", STTuLinear)])  # fmt: skip
def test_ratio_bounds_every_replaced_layer(fmt, cls):
    model = _model()
    x = torch.randn(3, 16, 4, 4)
    report = _run(model, format=fmt, ratio=4, t=1 if fmt == "sttu" else 2)
    assert isinstance(model[0], STPConv2d) and isinstance(model[2], STPConv2d)
    assert isinstance(model[4], cls) and isinstance(model[6], torch.nn.Linear)
    assert model[2].groups == 2
    done = [e for e in report.layers if not e["skipped"]]
    assert len(done) == 3
    for e in done:
        assert e["params_after"] <= e["params_before"] / 4
    assert "min_params" in report.layers[-1]["skipped"]
    assert report.params_after == sum(p.numel() for p in model.parameters())
    assert model(x).shape == (3, 10)
    assert "ranks" in str(report)


def test_budget_is_met_and_accuracy_reported():
    model = _model()
    before = sum(p.numel() for p in model.parameters())
    x, y = torch.randn(20, 16, 4, 4), torch.randint(0, 10, (20,))
    report = _run(model, format="stt", budget=before // 10, data=(x, y))
    assert report.params_after <= before // 10
    assert report.params_after > before // 40  # not far below the budget either
    assert 0 <= report.accuracy_before <= 1 and 0 <= report.accuracy_after <= 1
    assert "accuracy" in str(report)


def test_bare_layer_is_returned_in_the_report():
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(16, 16, 3)
    report = _run(conv, format="stt", ratio=3, min_params=0)
    assert isinstance(report.model, STPConv2d)
    assert report.model(torch.randn(1, 16, 5, 5)).shape == (1, 16, 3, 3)


def test_attention_out_proj_is_left_alone():
    mha = torch.nn.MultiheadAttention(128, 4)
    report = _run(torch.nn.Sequential(mha), format="stt", ratio=2)
    assert "owner reads the weight" in report.layers[0]["skipped"]
    assert type(mha.out_proj).__name__ == "NonDynamicallyQuantizableLinear"


def test_arguments_are_validated():
    model = _model()
    with pytest.raises(TypeError, match="exactly one of ratio"):
        compress_model(model, ratio=2, budget=100)
    with pytest.raises(TypeError, match="exactly one of ratio"):
        compress_model(model)
    with pytest.raises(ValueError, match="ratio must be a number above 1"):
        compress_model(model, ratio=0.5)
    with pytest.raises(ValueError, match="budget=10 cannot be met"):
        compress_model(model, budget=10)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        compress_model("model", ratio=2)
