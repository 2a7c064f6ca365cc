"""semitensor.nn.compress: compress_linear_layers and its report."""

import pytest

torch = pytest.importorskip("torch")

from semitensor.nn import (  # noqa: E402
    CompressionReport,
    STTuLinear,
    compress_linear_layers,
)


def test_compress_linear_layers_replaces_and_reports():
    torch.manual_seed(14)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )  # fmt: skip
    before = sum(p.numel() for p in model.parameters())
    x = torch.randn(4, 64)
    report = compress_linear_layers(
        model, "sttu", ranks=4, t=2, min_params=5000, random_state=0, tol=1e-4
    )
    assert isinstance(report, CompressionReport)
    assert isinstance(model[2], STTuLinear) and isinstance(model[0], STTuLinear)
    assert type(model[4]) is torch.nn.Linear
    assert report.params_before == before
    assert report.params_after == sum(p.numel() for p in model.parameters())
    assert report.compression_ratio > 1
    assert report.layers[2]["skipped"].startswith("weight has fewer")
    assert model(x).shape == (4, 10)
    assert "total:" in str(report)


def test_compress_linear_layers_skips_what_cannot_be_factorised():
    model = torch.nn.Sequential(torch.nn.Linear(49, 98))  # 7x7 -> 7x14: t=2 cannot divide 7
    report = compress_linear_layers(model, "sttu", ranks=2, t=2, min_params=1)
    assert report.layers[0]["skipped"].startswith("cannot factorise")
    assert type(model[0]) is torch.nn.Linear
    report = compress_linear_layers(model, "stt", ranks=[8, 64, 8], t=1, min_params=1)
    assert "would not be smaller" in report.layers[0]["skipped"]
    with pytest.raises(ValueError, match="format must be one of"):
        compress_linear_layers(model, "cp")


def test_method_is_a_deprecated_alias_of_format():
    model = torch.nn.Sequential(torch.nn.Linear(16, 16))
    with pytest.warns(DeprecationWarning, match="use format= instead") as record:
        report = compress_linear_layers(model, method="sttu", ranks=2, t=2, min_params=1)
    assert all(w.filename == __file__ for w in record)
    assert isinstance(model[0], STTuLinear) and report.layers[0]["skipped"] is None
    with pytest.raises(TypeError, match="both given"):
        compress_linear_layers(model, "stt", method="sttu")


def test_argument_checks():
    model = torch.nn.Sequential(torch.nn.Linear(16, 16))
    with pytest.raises(ValueError, match="d must be a positive integer; got 0"):
        compress_linear_layers(model, d=0)
    with pytest.raises(TypeError, match="min_params must be a non-negative integer"):
        compress_linear_layers(model, min_params=1.5)
    with pytest.raises(TypeError, match="shapes must be callable or None"):
        compress_linear_layers(model, shapes=((4, 4), (4, 4)))
