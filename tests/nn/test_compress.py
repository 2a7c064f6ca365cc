"""semitensor.nn.compress: compress_linear_layers and its report."""

import pytest

torch = pytest.importorskip("torch")

from semitensor.nn import (  # noqa: E402
    CompressionReport,
    STTLinear,
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


def test_a_bare_linear_is_refused():
    # Issue 17 item 8: the new layer was attached to the Linear as a child named ''.
    lin = torch.nn.Linear(64, 64)
    with pytest.raises(TypeError, match=r"model is itself a Linear.*wrap it"):
        compress_linear_layers(lin, "stt", ranks=4, min_params=1)
    assert dict(lin.named_children()) == {}
    with pytest.raises(TypeError, match="model must be a torch.nn.Module; got list"):
        compress_linear_layers([lin])
    wrapped = torch.nn.Sequential(lin)
    report = compress_linear_layers(wrapped, "stt", ranks=4, min_params=1, random_state=0, tol=1e-2)
    assert isinstance(wrapped[0], STTLinear) and report.params_after < report.params_before


class _ScaledLinear(torch.nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)


def test_linear_subclasses_are_reported_as_skipped():
    # Issue 17 item 46: subclasses were left out of the report without a word.
    torch.manual_seed(15)
    model = torch.nn.Sequential(_ScaledLinear(64, 64), torch.nn.Linear(64, 64))
    attention = torch.nn.MultiheadAttention(64, 4)
    model.add_module("attention", attention)
    report = compress_linear_layers(model, "stt", ranks=4, min_params=1, random_state=0, tol=1e-2)
    by_name = {e["name"]: e for e in report.layers}
    assert set(by_name) == {"0", "1", "attention.out_proj"}
    assert by_name["0"]["skipped"] == (
        "a subclass of torch.nn.Linear (_ScaledLinear), not replaced"
    )
    assert "NonDynamicallyQuantizableLinear" in by_name["attention.out_proj"]["skipped"]
    assert by_name["1"]["skipped"] is None and isinstance(model[1], STTLinear)
    assert type(model[0]) is _ScaledLinear and type(attention.out_proj) is not STTLinear
    x = torch.randn(3, 1, 64)
    assert attention(x, x, x)[0].shape == (3, 1, 64)


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
