"""torch.jit.trace and torch.compile (fullgraph: no graph break) on every layer."""

import warnings

import pytest
import torch

from semitensor.nn import STPConv2d, STRLinear, STTLinear, STTuLinear


def _layers():
    torch.manual_seed(0)
    out = []
    for path in ("cores", "dense", "auto"):
        kw = {"forward_path": path}
        x = torch.randn(3, 64)
        out += [
            (f"stt-{path}", STTLinear(64, 64, (8, 8), (8, 8), 4, 2, **kw), x),
            (f"str-{path}", STRLinear(64, 64, (8, 8), (8, 8), 4, 2, **kw), x),
            (f"sttu-{path}", STTuLinear(64, 64, (8, 8), (8, 8), 4, 2, **kw), x),
        ]
        img = torch.randn(2, 8, 5, 5)
        for fmt, ranks, t in (("stt", 4, 2), ("str", 4, 2), ("sttu", [4, 2, 3, 2], [2, 2, 1, 2])):
            conv = STPConv2d(8, 8, 3, (8, 9), (2, 4), ranks, t, format=fmt, padding=1, **kw)
            out.append((f"conv-{fmt}-{path}", conv, img))
        grouped = STPConv2d(8, 8, 3, (2, 9), (2, 4), 4, 2, groups=4, padding="same",
                            padding_mode="reflect", **kw)  # fmt: skip
        out.append((f"conv-grouped-{path}", grouped, img))
    return out


LAYERS = _layers()
IDS = [name for name, _, _ in LAYERS]


@pytest.mark.parametrize(("name", "layer", "x"), LAYERS, ids=IDS)
def test_jit_trace_matches_eager(name, layer, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about fixed sizes are expected
        traced = torch.jit.trace(layer, x)
    assert torch.allclose(traced(x), layer(x), atol=1e-6)


@pytest.mark.parametrize(("name", "layer", "x"), LAYERS, ids=IDS)
def test_compile_fullgraph_has_no_graph_break(name, layer, x):
    # backend="eager": dynamo traces the whole forward (fullgraph raises on any graph
    # break) without the cost of generating code.
    torch._dynamo.reset()
    compiled = torch.compile(layer, fullgraph=True, backend="eager")
    y = compiled(x)
    assert torch.allclose(y, layer(x), atol=1e-6)
    y.sum().backward()
    assert all(p.grad is not None for p in layer.parameters())
