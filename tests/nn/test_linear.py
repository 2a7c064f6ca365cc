"""semitensor.nn.linear and .tucker: STTLinear, STRLinear, STTuLinear."""

import itertools
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from semitensor import stp  # noqa: E402
from semitensor.nn import STRLinear, STTLinear, STTuLinear, matrix_to_tensor  # noqa: E402
from tests.nn.conftest import rel  # noqa: E402

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
    wt = matrix_to_tensor(layer.weight, layer.in_shape, layer.out_shape)
    assert np.allclose(wt.detach().numpy(), oracle, rtol=1e-12, atol=1e-12)


def _tucker_oracle(core, factors, t, side):
    """SPEC §4 STTu with explicit Kronecker factors ``U ⊗ I_t`` (left) or ``I_t ⊗ U``."""
    out = core
    for n, (u, tn) in enumerate(zip(factors, t)):
        eye = np.eye(tn)
        big = np.kron(u, eye) if side == "left" else np.kron(eye, u)
        out = np.moveaxis(np.tensordot(big, out, axes=([1], [n])), 0, n)
    return out


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c[0] is STTuLinear], ids=str)
@pytest.mark.parametrize("side", ["left", "right"])
def test_sttu_weight_matches_spec_definition(cfg, side):
    # The weight is derived from to_format(); the oracle is independent of both.
    torch.manual_seed(2)
    layer = make(cfg, side)
    oracle = _tucker_oracle(
        layer.core.detach().numpy(), [u.detach().numpy() for u in layer.factors], layer.t, side
    )
    wt = matrix_to_tensor(layer.weight, layer.in_shape, layer.out_shape)
    assert np.allclose(wt.detach().numpy(), oracle, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("side", ["left", "right"])
def test_layer_shares_its_parameters_with_its_format(side):
    torch.manual_seed(2)
    for cfg in CONFIGS:
        layer = make(cfg, side)
        fmt = layer.to_format()
        assert fmt.shape == layer.modes and fmt.side == side
        weight_params = [p for n, p in layer.named_parameters() if n != "bias"]
        assert all(a is b for a, b in zip(fmt.named_arrays().values(), weight_params))
        n_bias = layer.out_features
        assert layer.n_params == fmt.n_params + n_bias
        dense = layer.in_features * layer.out_features + n_bias
        assert layer.compression_ratio == pytest.approx(dense / layer.n_params)


def _crossover(layer):
    """Smallest batch for which the flop model prefers the dense path (bisection)."""
    lo, hi = 1, 100000
    assert layer.flops(lo)["cores"] < layer.flops(lo)["dense"]
    assert layer.flops(hi)["cores"] > layer.flops(hi)["dense"]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        f = layer.flops(mid)
        lo, hi = (lo, mid) if f["dense"] <= f["cores"] else (mid, hi)
    return hi


def test_auto_path_follows_flop_model():
    # Moderate ranks: the cores win for few rows, the rebuilt weight for many; forward
    # must switch exactly where the model does, counting rows over all leading dims.
    torch.manual_seed(3)
    for cls, ranks in [(STTLinear, [16, 64, 16]), (STRLinear, 16), (STTuLinear, 16)]:
        layer = cls(256, 256, (16, 16), (16, 16), ranks, 2, dtype=torch.float64)
        b = _crossover(layer)
        assert 1 < b < 4096
        assert layer.path_for(b - 1) == "cores" and layer.path_for(b) == "dense"
        layer(torch.randn(1, b - 1, 256, dtype=torch.float64))
        assert layer.last_path == "cores"
        layer(torch.randn(1, b, 256, dtype=torch.float64))
        assert layer.last_path == "dense"
        layer(torch.randn(b, 256, dtype=torch.float64), path="cores")
        assert layer.last_path == "cores"
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
        (
            (STTuLinear, 16, 4, (4, 4), (2, 2), [4, 4, 2, 2], [2, 2]),
            ValueError,
            "one entry per interleaved mode",
        ),
        ((STTuLinear, 16, 4, (4, 4), (2, 2), [4, 4, 2, 2], "2"), TypeError, "t must be"),
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
    with pytest.raises(ValueError, match=r"in_features=4\); got shape \(2, 5\)"):
        layer(torch.randn(2, 5))


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
@pytest.mark.parametrize("path", ["auto", "cores", "dense"])
def test_empty_batch_gives_empty_output(cfg, path):
    # Issue 17 item 16: torch.nn.Linear maps (0, in) to (0, out); the ring path crashed.
    layer = make(cfg, forward_path=path)
    for lead in [(0,), (3, 0), (0, 2)]:
        x = torch.randn(*lead, layer.in_features, dtype=torch.float64, requires_grad=True)
        y = layer(x)
        assert y.shape == (*lead, layer.out_features)
        y.sum().backward()
        assert x.grad.shape == x.shape


@pytest.mark.parametrize("cls", [STTLinear, STRLinear, STTuLinear])
def test_layers_build_on_the_meta_device(cls):
    # Issue 17 item 17: the init rescale called Tensor.item() on meta tensors.
    layer = cls(256, 256, (16, 16), (16, 16), 8, 2, device="meta")
    assert all(p.is_meta for p in layer.parameters())
    assert layer(torch.empty(3, 256, device="meta")).shape == (3, 256)
    layer = layer.to_empty(device="cpu")
    layer.reset_parameters()
    std = float(layer.weight.detach().std())
    assert std == pytest.approx(1 / np.sqrt(3 * 256), rel=1e-3)


@pytest.mark.parametrize("cls", [STTLinear, STRLinear, STTuLinear])
def test_non_float_and_0d_inputs_are_refused(cls):
    # Issue 17 items 35 and 46: torch-internal errors before, and STTu computed on ints.
    layer = cls(16, 16, (4, 4), (4, 4), 2, 2)
    for dtype in [torch.int64, torch.int32, torch.bool]:
        with pytest.raises(TypeError, match=f"floating-point tensor.*got dtype {dtype}"):
            layer(torch.ones(2, 16, dtype=dtype))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., in_features=16\); got a 0-d"):
        layer(torch.tensor(1.0))
    with pytest.raises(TypeError, match="input must be a torch.Tensor; got ndarray"):
        layer(np.ones((2, 16)))
    with pytest.raises(ValueError, match="path must be"):
        layer(torch.ones(2, 16), path="fast")


def test_import_semitensor_does_not_import_torch():
    code = (
        "import sys, semitensor; assert 'torch' not in sys.modules; "
        "m = semitensor.nn; assert 'torch' in sys.modules and m.STTLinear"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("cfg", CONFIGS[::3], ids=IDS[::3])
@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, "float32"])
def test_a_dtype_that_cannot_carry_gradients_is_refused_naming_it(cfg, dtype):
    # Before: torch's "Only Tensors of floating point and complex dtype can require
    # gradients", naming neither the argument nor the layer (issue 17 item 35).
    with pytest.raises(TypeError, match=r"dtype must be a (floating-point )?torch dtype"):
        make(cfg, dtype=dtype)
