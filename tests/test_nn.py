"""STP-factorised layers (semitensor.nn): shapes, paths, gradients, from_linear, state."""

import itertools
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from semitensor import stp  # noqa: E402
from semitensor.nn import (  # noqa: E402
    CompressionReport,
    STPConv2d,
    STRLinear,
    STTLinear,
    STTuLinear,
    compress_linear_layers,
    factorize,
    matrix_to_tensor,
    tensor_to_matrix,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# (class, in_shape, out_shape, ranks, t): small layers valid for every side.
CONFIGS = [
    (STTLinear, (2, 3), (2, 2), [2, 4, 2], 2),
    (STTLinear, (2, 2, 3), (3, 2, 2), 4, 2),
    (STTLinear, (6,), (4,), 3, 2),
    (STTLinear, (2, 3), (2, 2), 3, 1),
    (STRLinear, (2, 3), (2, 2), [2, 4, 4, 2], 2),
    (STRLinear, (2, 2, 3), (3, 2, 2), 4, 2),
    (STRLinear, (2, 3), (2, 2), 2, 1),
    (STTuLinear, (2, 4), (4, 2), 2, 2),
    (STTuLinear, (4, 6), (2, 4), [4, 2, 2, 2], 2),
    (STTuLinear, (2, 3), (2, 2), [2, 2, 1, 2], 1),
]
IDS = [f"{c.__name__}-{i}x{o}-r{r}-t{t}" for c, i, o, r, t in CONFIGS]


def make(cfg, side="left", dtype=torch.float64, device="cpu", **kw):
    cls, in_shape, out_shape, ranks, t = cfg
    n_in, n_out = int(np.prod(in_shape)), int(np.prod(out_shape))
    return cls(n_in, n_out, in_shape, out_shape, ranks, t, side, dtype=dtype, device=device, **kw)


def rel(a, b):
    return float(torch.linalg.norm(a.detach() - b.detach()) / torch.linalg.norm(b.detach()))


# --- layout ------------------------------------------------------------------------


def test_layout_round_trip_and_index_map():
    w = torch.randn(12, 30, dtype=torch.float64)
    in_shape, out_shape = (2, 3, 5), (3, 2, 2)
    wt = matrix_to_tensor(w, in_shape, out_shape)
    assert wt.shape == (2, 3, 3, 2, 5, 2)
    for i1, o1, i2, o2, i3, o3 in [(1, 2, 0, 1, 4, 1), (0, 0, 2, 1, 3, 0)]:
        i = (i1 * 3 + i2) * 5 + i3
        o = (o1 * 2 + o2) * 2 + o3
        assert wt[i1, o1, i2, o2, i3, o3] == w[o, i]
    assert torch.equal(tensor_to_matrix(wt, in_shape, out_shape), w)


def test_factorize():
    assert factorize(784, 4) == (4, 4, 7, 7)
    assert factorize(256, 2) == (16, 16)
    assert factorize(13, 2) == (1, 13)
    for n, d in itertools.product([1, 12, 60, 97, 1024], [1, 2, 3]):
        f = factorize(n, d)
        assert len(f) == d and int(np.prod(f)) == n


# --- shapes, paths, the SPEC definitions -------------------------------------------


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
@pytest.mark.parametrize("side", ["left", "right"])
def test_shapes_and_two_paths_agree(cfg, side):
    torch.manual_seed(0)
    layer = make(cfg, side)
    x = torch.randn(2, 3, layer.in_features, dtype=torch.float64)
    layer.forward_path = "cores"
    y_cores = layer(x)
    assert layer.last_path == "cores"
    layer.forward_path = "dense"
    y_dense = layer(x)
    assert layer.last_path == "dense"
    assert y_cores.shape == (2, 3, layer.out_features)
    assert rel(y_cores, y_dense) < 1e-12
    ref = x @ layer.weight.T + layer.bias
    assert rel(y_dense, ref) < 1e-12


def _slices(core):
    return [core[:, i, :] for i in range(core.shape[1])]


def _chain_oracle(cores, side, ring):
    """Entries from the SPEC §4 definition with the library's n-ary STP on slices."""
    sizes = [c.shape[1] for c in cores]
    out = np.empty(sizes)
    for idx in itertools.product(*(range(s) for s in sizes)):
        mats = [c[:, i, :] for c, i in zip(cores, idx)]
        p = stp(*mats, side=side)
        out[idx] = np.trace(p) if ring else p[0, 0]
    return out


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c[0] is not STTuLinear], ids=str)
@pytest.mark.parametrize("side", ["left", "right"])
def test_weight_matches_spec_definition(cfg, side):
    torch.manual_seed(1)
    layer = make(cfg, side)
    cores = [c.detach().numpy() for c in layer.cores]
    oracle = _chain_oracle(cores, side, ring=cfg[0] is STRLinear)
    assert np.allclose(layer._weight_tensor().detach().numpy(), oracle, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("side", ["left", "right"])
def test_weight_matches_library_formats(side):
    torch.manual_seed(2)
    for cfg in CONFIGS:
        layer = make(cfg, side)
        if cfg[0] is STRLinear:
            pytest.importorskip("semitensor.formats.str")
        fmt = layer.to_format()
        assert fmt.shape == layer.modes
        assert rel(layer._weight_tensor(), fmt.to_tensor()) < 1e-12
        n_bias = layer.out_features
        assert layer.n_params == fmt.n_params + n_bias
        dense = layer.in_features * layer.out_features + n_bias
        assert layer.compression_ratio == pytest.approx(dense / layer.n_params)


def test_auto_path_follows_flop_model():
    # Moderate ranks: the cores win for one row, the rebuilt weight for a big batch.
    torch.manual_seed(3)
    for cls, ranks in [(STTLinear, [16, 64, 16]), (STRLinear, 16), (STTuLinear, 16)]:
        layer = cls(256, 256, (16, 16), (16, 16), ranks, 2, dtype=torch.float64)
        small, big = layer.flops(1), layer.flops(100000)
        assert small["cores"] < small["dense"] and big["cores"] > big["dense"]
        assert layer.path_for(1) == "cores" and layer.path_for(100000) == "dense"
        layer(torch.randn(1, 256, dtype=torch.float64))
        assert layer.last_path == "cores"
        layer(torch.randn(4096, 256, dtype=torch.float64))
        assert layer.last_path == ("dense" if layer.path_for(4096) == "dense" else "cores")
    # Tiny ranks: contracting through the cores stays cheaper at any batch size.
    layer = STTuLinear(256, 256, (16, 16), (16, 16), 4, 2)
    assert layer.path_for(10**7) == "cores"
    forced = STTLinear(256, 256, (16, 16), (16, 16), 8, 2, forward_path="dense")
    assert forced.path_for(1) == "dense"


def test_initial_weight_scale_matches_linear():
    torch.manual_seed(4)
    for cls, ranks in [(STTLinear, 8), (STRLinear, 8), (STTuLinear, 8)]:
        layer = cls(256, 256, (16, 16), (16, 16), ranks, 2)
        std = float(layer.weight.detach().std())
        assert std == pytest.approx(1 / np.sqrt(3 * 256), rel=1e-3)


# --- gradients ---------------------------------------------------------------------


@pytest.mark.parametrize("cfg", CONFIGS[::2], ids=IDS[::2])
@pytest.mark.parametrize("path", ["cores", "dense"])
def test_gradcheck_both_paths(cfg, path):
    torch.manual_seed(5)
    layer = make(cfg, "right" if cfg[4] > 1 else "left", forward_path=path)
    x = torch.randn(3, layer.in_features, dtype=torch.float64, requires_grad=True)
    params = tuple(layer.parameters())
    names = [n for n, _ in layer.named_parameters()]

    def fn(x, *ps):
        state = dict(zip(names, ps))
        return torch.func.functional_call(layer, state, (x,))

    assert torch.autograd.gradcheck(fn, (x, *params))


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_gradients_equal_on_both_paths(cfg):
    torch.manual_seed(6)
    layer = make(cfg)
    x = torch.randn(4, layer.in_features, dtype=torch.float64)
    grads = {}
    for path in ["cores", "dense"]:
        layer.zero_grad()
        layer.forward_path = path
        (layer(x) ** 2).sum().backward()
        grads[path] = [p.grad.clone() for p in layer.parameters()]
    for a, b in zip(grads["cores"], grads["dense"]):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


# --- from_linear -------------------------------------------------------------------


def _dense(n_in, n_out, dtype=torch.float64, seed=7):
    torch.manual_seed(seed)
    return torch.nn.Linear(n_in, n_out, dtype=dtype)


@pytest.mark.parametrize("side", ["left", "right"])
def test_from_linear_recovers_an_exact_weight(side):
    # A weight that is exactly of the format is recovered (decomposition, layout, copy).
    torch.manual_seed(8)
    for cls, ranks, t in [(STTLinear, [2, 4, 2], 2), (STTuLinear, [2, 2, 2, 2], 2)]:
        src = cls(16, 16, (4, 4), (4, 4), ranks, t, side, dtype=torch.float64)
        lin = torch.nn.Linear(16, 16, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(src.weight)
        layer = cls.from_linear(lin, (4, 4), (4, 4), ranks, t, side=side, random_state=0)
        assert rel(layer.weight, lin.weight) < 1e-8
        assert torch.equal(layer.bias, lin.bias)
        x = torch.randn(5, 16, dtype=torch.float64)
        assert rel(layer(x), lin(x)) < 1e-8


@pytest.mark.filterwarnings("ignore::semitensor.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("cls", [STTLinear, STRLinear, STTuLinear])
def test_from_linear_error_is_reported_and_shrinks_with_rank(cls):
    lin = _dense(36, 16)
    errs = []
    ranks_list = {
        STTLinear: [2, 4, 8],
        STRLinear: [2, 4, 6],
        STTuLinear: [[2, 2, 2, 2], [4, 2, 4, 2], [6, 4, 6, 4]],
    }[cls]
    for ranks in ranks_list:
        layer = cls.from_linear(lin, (6, 6), (4, 4), ranks, 2, random_state=0, n_iter_max=30)
        err = rel(layer.weight, lin.weight)
        assert err == pytest.approx(layer.init_info.rel_error, rel=1e-6, abs=1e-9)
        errs.append(err)
    # A random weight is far from low rank: only the trend is asserted.
    assert errs[0] > errs[1] > errs[2]


def test_from_linear_full_rank_is_exact():
    lin = _dense(16, 16)
    for layer in [
        STTLinear.from_linear(lin, (4, 4), (4, 4), [4, 16, 4], 1),
        STTuLinear.from_linear(lin, (4, 4), (4, 4), 4, 2),
        STTuLinear.from_linear(lin, (4, 4), (4, 4), 4, 1),
    ]:
        assert rel(layer.weight, lin.weight) < 1e-10


def test_from_linear_keeps_dtype_and_rejects_non_linear():
    lin = _dense(16, 8, dtype=torch.float32)
    for cls in [STTLinear, STRLinear, STTuLinear]:
        layer = cls.from_linear(lin, (4, 4), (2, 4), 2, 2, random_state=0)
        assert all(p.dtype == torch.float32 for p in layer.parameters())
        y = layer(torch.randn(3, 16))
        assert y.dtype == torch.float32 and y.shape == (3, 8)
    with pytest.raises(TypeError, match="torch.nn.Linear"):
        STTLinear.from_linear(torch.nn.Conv2d(1, 1, 1), (1,), (1,), 1, 1)


def test_from_linear_without_bias():
    torch.manual_seed(9)
    lin = torch.nn.Linear(16, 16, bias=False, dtype=torch.float64)
    layer = STTLinear.from_linear(lin, (4, 4), (4, 4), [4, 16, 4], 1)
    assert layer.bias is None
    x = torch.randn(2, 16, dtype=torch.float64)
    assert rel(layer(x), lin(x)) < 1e-10


# --- state, dtype, device ----------------------------------------------------------


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_state_dict_round_trip(cfg):
    torch.manual_seed(10)
    a = make(cfg, "right")
    torch.manual_seed(11)
    b = make(cfg, "right")
    x = torch.randn(3, a.in_features, dtype=torch.float64)
    assert not torch.allclose(a(x), b(x))
    b.load_state_dict(a.state_dict())
    assert torch.equal(a(x), b(x))


@pytest.mark.parametrize("cfg", CONFIGS[::3], ids=IDS[::3])
def test_float32_training_step(cfg):
    torch.manual_seed(12)
    layer = make(cfg, dtype=torch.float32)
    x = torch.randn(8, layer.in_features)
    target = torch.randn(8, layer.out_features)
    opt = torch.optim.SGD(layer.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(layer(x), target)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert all(p.dtype == torch.float32 for p in layer.parameters())
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cls", [STTLinear, STRLinear, STTuLinear])
def test_device_and_move(device, cls):
    torch.manual_seed(13)
    layer = cls(16, 16, (4, 4), (4, 4), 2, 2, dtype=torch.float64)
    x = torch.randn(3, 16, dtype=torch.float64)
    ref = layer(x)
    moved = layer.to(device)
    for path in ["cores", "dense"]:
        moved.forward_path = path
        y = moved(x.to(device))
        assert y.device.type == device
        assert rel(y.cpu(), ref) < 1e-12
    lin = torch.nn.Linear(16, 16, dtype=torch.float64, device=device)
    made = cls.from_linear(lin, (4, 4), (4, 4), 2, 2, random_state=0)
    assert all(p.device.type == device for p in made.parameters())


# --- convolutions -----------------------------------------------------------------

CONV_CASES = [  # modes (2, 2, 2, 2, 9, 2): t must divide 9 for STTu, so t=1 there
    ("stt", 4, 2, {"stride": 1, "padding": 1}),
    ("str", 4, 2, {"stride": 2, "padding": 0, "side": "right"}),
    ("sttu", [2, 2, 2, 1, 4, 2], 1, {"stride": 1, "padding": 2, "dilation": 2}),
]


@pytest.mark.parametrize("method, ranks, t, opts", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_paths_agree_with_conv2d(method, ranks, t, opts):
    torch.manual_seed(20)
    conv = STPConv2d(
        4, 8, 3, (2, 2, 9), (2, 2, 2), ranks, t, method=method, dtype=torch.float64, **opts
    )
    x = torch.randn(2, 4, 7, 6, dtype=torch.float64)
    ref = torch.nn.functional.conv2d(
        x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation
    )
    outs = {}
    for path in ["cores", "dense"]:
        conv.forward_path = path
        outs[path] = conv(x)
        assert conv.last_path == path
        assert outs[path].shape == ref.shape
    assert rel(outs["cores"], ref) < 1e-12 and rel(outs["dense"], ref) < 1e-12
    grads = {}
    for path in ["cores", "dense"]:
        conv.zero_grad()
        conv.forward_path = path
        conv(x).square().sum().backward()
        grads[path] = [p.grad.clone() for p in conv.parameters()]
    for a, b in zip(grads["cores"], grads["dense"]):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_conv_from_conv_and_state_dict():
    torch.manual_seed(21)
    conv = torch.nn.Conv2d(4, 4, 3, padding=1, dtype=torch.float64)
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    full = STPConv2d.from_conv(conv, (4, 9), (2, 2), [4, 2, 9, 2], 1, method="sttu")
    assert rel(full(x), conv(x)) < 1e-10
    assert full.compression_ratio < 1  # full ranks store more than the kernel
    small = STPConv2d.from_conv(conv, (4, 9), (2, 2), 2, 2, method="stt", random_state=0)
    err = rel(small.weight, conv.weight)
    assert err == pytest.approx(small.linear.init_info.rel_error, rel=1e-6)
    copy = STPConv2d(4, 4, 3, (4, 9), (2, 2), 2, 2, padding=1, dtype=torch.float64)
    copy.load_state_dict(small.state_dict())
    assert torch.equal(copy(x), small(x))
    assert small.path_for(1, 6, 6) in ("cores", "dense")


@pytest.mark.parametrize("device", DEVICES)
def test_conv_on_device(device):
    torch.manual_seed(22)
    conv = STPConv2d(4, 8, 3, (2, 2, 9), (2, 2, 2), 4, 2, padding=1, dtype=torch.float64)
    x = torch.randn(2, 4, 5, 5, dtype=torch.float64)
    ref = conv(x)
    conv = conv.to(device)
    for path in ["cores", "dense"]:
        conv.forward_path = path
        y = conv(x.to(device))
        assert y.device.type == device and rel(y.cpu(), ref) < 1e-12


def test_conv_validation():
    with pytest.raises(TypeError, match="torch.nn.Conv2d"):
        STPConv2d.from_conv(torch.nn.Linear(2, 2), (2,), (2,), 1, 1)
    with pytest.raises(ValueError, match="groups=1"):
        STPConv2d.from_conv(torch.nn.Conv2d(4, 4, 1, groups=2), (2, 1), (2, 2), 2, 1)
    with pytest.raises(ValueError, match="method must be one of"):
        STPConv2d(4, 4, 1, (2, 2), (2, 2), 2, 2, method="cp")
    with pytest.raises(TypeError, match="kernel_size must be"):
        STPConv2d(4, 4, (1, 2, 3), (2, 2), (2, 2), 2, 2)
    conv = STPConv2d(4, 4, 1, (2, 2), (2, 2), 2, 2)
    with pytest.raises(ValueError, match=r"input must have shape \(B, 4, H, W\)"):
        conv(torch.randn(1, 3, 4, 4))


# --- compress_linear_layers --------------------------------------------------------


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
    with pytest.raises(ValueError, match="method must be one of"):
        compress_linear_layers(model, "cp")


# --- validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((STTLinear, 12, 4, (3, 5), (2, 2), 2, 2), ValueError, r"in_shape \(3, 5\) must multiply"),
        ((STTLinear, 12, 4, (12,), (2, 2), 2, 1), ValueError, "same length"),
        ((STTLinear, 12, 4, (3, 4), (2, 2), [2, 3, 2], 2), ValueError, r"ranks\[1\] must be a"),
        ((STTLinear, 12, 4, (3, 4), (2, 2), [2, 2], 2), ValueError, "list of 3"),
        ((STTLinear, 12, 4, (3, 4), (2, 2), 2.0, 2), TypeError, "ranks must be"),
        ((STTLinear, 12, 4, (3, 4), (2, 2), 2, 0), ValueError, "t must be a positive"),
        ((STTLinear, 12, 4, 12, (2, 2), 2, 2), TypeError, "in_shape must be"),
        ((STRLinear, 12, 4, (3, 4), (2, 2), 3, 2), ValueError, r"ranks must be a positive mult"),
        ((STTuLinear, 12, 4, (3, 4), (2, 2), 2, 2), ValueError, r"t=2 must divide"),
        ((STTuLinear, 16, 4, (4, 4), (2, 2), [4, 4, 2, 2], [2, 2]), TypeError, "one per mode"),
        ((STTuLinear, 16, 4, (4, 4), (2, 2), [4, 2, 6, 2], 2), ValueError, r"ranks\[2\] must"),
    ],
)
def test_validation_messages(args, exc, match):
    cls, *rest = args
    with pytest.raises(exc, match=match):
        cls(*rest)


def test_validation_of_forward_and_options():
    with pytest.raises(ValueError, match="forward_path must be"):
        STTLinear(4, 4, (2, 2), (2, 2), 2, 2, forward_path="fast")
    with pytest.raises(ValueError, match="side must be"):
        STTLinear(4, 4, (2, 2), (2, 2), 2, 2, side="up")
    with pytest.raises(TypeError, match="bias must be"):
        STTLinear(4, 4, (2, 2), (2, 2), 2, 2, bias=1)
    layer = STTLinear(4, 4, (2, 2), (2, 2), 2, 2)
    with pytest.raises(ValueError, match="expects in_features=4"):
        layer(torch.randn(2, 5))


def test_import_semitensor_does_not_import_torch():
    code = (
        "import sys, semitensor; assert 'torch' not in sys.modules; "
        "m = semitensor.nn; assert 'torch' in sys.modules and m.STTLinear"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
