"""semitensor.nn.conv: STPConv2d against torch.nn.Conv2d."""

import math
import warnings

import pytest

torch = pytest.importorskip("torch")

from semitensor.nn import STPConv2d, _contract  # noqa: E402
from tests.nn.conftest import rel  # noqa: E402

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

CONV_CASES = [  # modes (2, 2, 2, 2, 9, 2): t must divide 9 for STTu, so t=1 there
    ("stt", 4, 2, {"stride": 1, "padding": 1}),
    ("str", 4, 2, {"stride": 2, "padding": 0, "side": "right"}),
    ("sttu", [2, 2, 2, 1, 4, 2], 1, {"stride": 1, "padding": 2, "dilation": 2}),
]


@pytest.mark.parametrize("fmt, ranks, t, opts", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_paths_agree_with_conv2d(fmt, ranks, t, opts):
    torch.manual_seed(20)
    conv = STPConv2d(
        4, 8, 3, (2, 2, 9), (2, 2, 2), ranks, t, format=fmt, dtype=torch.float64, **opts
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
    full = STPConv2d.from_conv(conv, (4, 9), (2, 2), [4, 2, 9, 2], 1, format="sttu")
    assert rel(full(x), conv(x)) < 1e-10
    assert full.compression_ratio < 1  # full ranks store more than the kernel
    small = STPConv2d.from_conv(conv, (4, 9), (2, 2), 2, 2, format="stt", random_state=0)
    err = rel(small.weight, conv.weight)
    assert err == pytest.approx(small.linear.init_info.rel_error, rel=1e-6)
    copy = STPConv2d(4, 4, 3, (4, 9), (2, 2), 2, 2, padding=1, dtype=torch.float64)
    copy.load_state_dict(small.state_dict())
    assert torch.equal(copy(x), small(x))
    # The auto path compares the model costs, with the im2col copy of every output
    # pixel (stride 2 on 7x7: 3x3 pixels) counted as writes on the cores path.
    strided = STPConv2d(4, 4, 3, (4, 9), (2, 2), 2, 2, stride=2, dtype=torch.float64)
    rows, lin = 2 * 3 * 3, strided.linear.flops(2 * 3 * 3)
    f = strided.flops(2, 7, 7)
    writes = rows * 36 * _contract.WRITE_COST
    assert f == {"cores": lin["cores"] + writes, "dense": lin["dense"]}
    assert f["dense"] < f["cores"] and strided.path_for(2, 7, 7) == "dense"
    strided(torch.randn(2, 4, 7, 7, dtype=torch.float64))
    assert strided.last_path == "dense"


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
    with pytest.raises(ValueError, match="groups=3 must divide in_channels=4"):
        STPConv2d(4, 6, 1, (2, 2), (2, 3), 2, 1, groups=3)
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        STPConv2d(4, 4, 3, (4, 9), (2, 2), 2, 1, padding="same", stride=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        STPConv2d(4, 4, 1, (2, 2), (2, 2), 2, 1, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding must be 'same' or 'valid'; got 'full'"):
        STPConv2d(4, 4, 1, (2, 2), (2, 2), 2, 1, padding="full")
    with pytest.raises(ValueError, match="format must be one of 'stt', 'str', 'sttu'; got 'cp'"):
        STPConv2d(4, 4, 1, (2, 2), (2, 2), 2, 2, format="cp")
    with pytest.raises(TypeError, match="kernel_size must be"):
        STPConv2d(4, 4, (1, 2, 3), (2, 2), (2, 2), 2, 2)
    conv = STPConv2d(4, 4, 1, (2, 2), (2, 2), 2, 2)
    with pytest.raises(ValueError, match=r"input must have shape \(B, 4, H, W\)"):
        conv(torch.randn(1, 3, 4, 4))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"stride": 0}, ValueError, r"stride must be positive .*; got 0"),
        ({"stride": (1, 0)}, ValueError, r"stride must be positive .*; got \(1, 0\)"),
        ({"dilation": 0}, ValueError, "dilation must be positive"),
        ({"padding": -1}, ValueError, r"padding must be >= 0 .*; got -1"),
        ({"padding": 1.5}, TypeError, "padding must be an int or a pair of ints"),
        ({"stride": 1.5}, TypeError, "stride must be an int or a pair"),
        ({"kernel_size": 0}, ValueError, "kernel_size must be positive"),
        ({"bias": 1}, TypeError, "bias must be True or False"),
        ({"forward_path": "fast"}, ValueError, "forward_path must be one of"),
    ],
)
def test_conv_sizes_are_validated_at_construction(kwargs, exc, match):
    # Issue 17 item 23: stride=0, dilation=0, padding=-1 were accepted and failed later.
    args = {"kernel_size": 1, "in_shape": (2, 2), "out_shape": (2, 2), "ranks": 2, "t": 2}
    args.update(kwargs)
    k = args.pop("kernel_size")
    with pytest.raises(exc, match=match):
        STPConv2d(4, 4, k, args.pop("in_shape"), args.pop("out_shape"), args.pop("ranks"),
                  args.pop("t"), **args)  # fmt: skip


def test_conv_refuses_non_float_input():
    conv = STPConv2d(4, 4, 1, (2, 2), (2, 2), 2, 2)
    with pytest.raises(TypeError, match="floating-point tensor"):
        conv(torch.ones(1, 4, 3, 3, dtype=torch.int64))


def test_method_is_a_deprecated_alias_of_format():
    torch.manual_seed(23)
    with pytest.warns(DeprecationWarning, match="use format= instead"):
        old = STPConv2d(4, 4, 1, (2, 2), (2, 2), 2, 2, method="sttu")
    assert old.format == "sttu" and type(old.linear).__name__ == "STTuLinear"
    with pytest.warns(DeprecationWarning, match="use STPConv2d.format"):
        assert old.method == "sttu"
    with pytest.raises(TypeError, match="both given"):
        STPConv2d(4, 4, 1, (2, 2), (2, 2), 2, 2, format="stt", method="stt")
    conv = torch.nn.Conv2d(4, 4, 1, dtype=torch.float64)
    with pytest.warns(DeprecationWarning, match="use format= instead") as record:
        made = STPConv2d.from_conv(conv, (2, 2), (2, 2), 2, 2, method="str", random_state=0)
    assert type(made.linear).__name__ == "STRLinear"
    assert all(w.filename == __file__ for w in record)  # attributed to the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        STPConv2d(4, 4, 1, (2, 2), (2, 2), 2, 2, format="str")  # the new name is silent


PARITY_CASES = [  # (Conv2d options, in_shape, out_shape) for 8 -> 8 channels, 3x3 kernel
    ({"groups": 2, "padding": 1}, (4, 9), (2, 4)),
    ({"groups": 8, "padding": 1}, (1, 9), (2, 4)),  # depthwise
    ({"padding": "same", "dilation": 2}, (8, 9), (2, 4)),
    ({"padding": "valid", "stride": 2}, (8, 9), (2, 4)),
    ({"padding": 1, "padding_mode": "reflect"}, (8, 9), (2, 4)),
    ({"padding": (1, 2), "padding_mode": "circular", "groups": 4}, (2, 9), (2, 4)),
    ({"padding": 2, "padding_mode": "replicate", "bias": False}, (8, 9), (2, 4)),
]


@pytest.mark.parametrize("fmt", ["stt", "str", "sttu"])
@pytest.mark.parametrize("opts, in_shape, out_shape", PARITY_CASES)
def test_from_conv_matches_conv2d_options(fmt, opts, in_shape, out_shape):
    # Issue 14: groups, padding modes and string padding were refused.
    torch.manual_seed(21)
    conv = torch.nn.Conv2d(8, 8, 3, dtype=torch.float64, **opts)
    # Full ranks (t = 1): the compressed layer is exactly the convolution.
    modes = [in_shape[0], out_shape[0], in_shape[1], out_shape[1]]
    full = [min(math.prod(modes[:k]), math.prod(modes[k:])) for k in range(1, 4)]
    ranks = {"stt": full, "str": [1, *full], "sttu": modes}[fmt]
    kw = {"random_state": 0, "n_iter_max": 200, "tol": 1e-12} if fmt == "str" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = STPConv2d.from_conv(conv, in_shape, out_shape, ranks, 1, format=fmt, **kw)
    assert layer.groups == conv.groups and layer.padding_mode == conv.padding_mode
    x = torch.randn(2, 8, 7, 6, dtype=torch.float64)
    ref = conv(x)
    for path in ["cores", "dense"]:
        layer.forward_path = path
        out = layer(x)
        assert out.shape == ref.shape
        assert rel(out, ref) < 1e-6
