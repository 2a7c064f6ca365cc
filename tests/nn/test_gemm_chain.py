"""semitensor.nn._gemm_chain: the inputs-first GEMM chain against the autograd path."""

import itertools

import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from semitensor.nn import STRLinear, STTLinear, _contract  # noqa: E402
from semitensor.nn._contract import CHAIN_MIN_ROWS, ring_forward  # noqa: E402
from semitensor.nn._gemm_chain import chain_costs, inputs_first  # noqa: E402
from tests.nn.conftest import rel  # noqa: E402

VARIANTS = list(itertools.product((False, True), repeat=2))


def _ring(modes, ranks, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(ranks[k], modes[k], ranks[(k + 1) % 4], generator=g, dtype=dtype,
                        requires_grad=True) for k in range(4)]  # fmt: skip


def _grads(fn, x, ring):
    y = fn(x, ring)
    weights = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)
    return [y.detach(), *torch.autograd.grad((y * weights).sum(), [x, *ring])]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("modes", "ranks", "batch"),
    [((3, 4, 5, 2), (2, 3, 4, 5), 3), ((3, 4, 5, 2), (1, 3, 4, 2), 1),
     ((2, 5, 3, 4), (3, 2, 1, 2), 2), ((1, 3, 4, 1), (3, 2, 2, 3), 4)],
)  # fmt: skip
def test_every_chain_passes_gradcheck(modes, ranks, batch, variant):
    ring = _ring(modes, ranks)
    x = torch.randn(batch, modes[0] * modes[2], dtype=torch.float64, requires_grad=True)

    def fn(x, *cores):
        return inputs_first(x, list(cores), modes, variant=variant)

    assert torch.autograd.gradcheck(fn, (x, *ring))


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_chain_passes_gradcheck_in_complex(variant):
    modes, ranks = (2, 5, 3, 4), (2, 3, 2, 1)
    ring = _ring(modes, ranks, dtype=torch.complex128)
    x = torch.randn(3, 6, dtype=torch.complex128, requires_grad=True)

    def fn(x, *cores):
        return inputs_first(x, list(cores), modes, variant=variant)

    assert torch.autograd.gradcheck(fn, (x, *ring))


_SIZES = st.integers(1, 4)


@settings(max_examples=40, deadline=None)
@given(
    modes=st.tuples(_SIZES, _SIZES, _SIZES, _SIZES),
    ranks=st.tuples(_SIZES, _SIZES, _SIZES, _SIZES),
    batch=st.integers(0, 5),
    variant=st.sampled_from(VARIANTS),
    seed=st.integers(0, 2**16),
)
def test_chain_equals_the_autograd_path_forward_and_backward(modes, ranks, batch, variant, seed):
    ring = _ring(modes, ranks, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(batch, modes[0] * modes[2], generator=g, dtype=torch.float64,
                    requires_grad=True)  # fmt: skip
    chain = _grads(lambda x, r: inputs_first(x, r, modes, variant=variant), x, ring)
    autograd = _grads(lambda x, r: ring_forward(x, r, modes, "autograd"), x, ring)
    for a, b in zip(chain, autograd):
        assert a.shape == b.shape
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_inputs_are_not_modified_and_float32_agrees():
    modes, ranks = (4, 3, 5, 2), (2, 3, 2, 3)
    ring = [h.detach().float().requires_grad_() for h in _ring(modes, ranks)]
    x = torch.randn(6, 20, requires_grad=True)
    before = [t.detach().clone() for t in (x, *ring)]
    chain = _grads(lambda x, r: ring_forward(x, r, modes, "chain"), x, ring)
    autograd = _grads(lambda x, r: ring_forward(x, r, modes, "autograd"), x, ring)
    for a, b in zip(chain, autograd):
        assert a.dtype == torch.float32 and rel(a, b) < 1e-5
    for t, t0 in zip((x, *ring), before):
        assert torch.equal(t.detach(), t0)


def _layers():
    torch.manual_seed(0)
    shape = (6, 8, (2, 3), (2, 4))
    return {
        "TT": STTLinear(*shape, [3, 4, 2], 1, dtype=torch.float64),
        "STT": STTLinear(*shape, [2, 4, 2], 2, dtype=torch.float64),
        "TR": STRLinear(*shape, [2, 3, 2, 3], 1, dtype=torch.float64),
        "STR": STRLinear(*shape, [2, 4, 2, 4], 2, dtype=torch.float64),
    }


@pytest.mark.parametrize("name", ["TT", "STT", "TR", "STR"])
def test_layers_from_chain_min_rows_take_the_chain_and_pass_gradcheck(name, monkeypatch):
    layer = _layers()[name]
    calls = []
    original = _contract.inputs_first

    def spy(*args, **kwargs):
        calls.append(args[0].shape[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(_contract, "inputs_first", spy)
    # Force the inputs-first order (the ring order may be cheaper at these tiny sizes).
    monkeypatch.setattr(_contract, "ring_forward_costs", lambda *a: {"inputs": 0.0})
    x = torch.randn(CHAIN_MIN_ROWS, 6, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_() for _, p in layer.named_parameters()]

    def fn(x, *ps):
        state = dict(zip(names, ps))
        return torch.func.functional_call(layer, state, (x,), {"path": "cores"})

    # fast_mode: the Jacobian along random directions (64 rows make a large one).
    assert torch.autograd.gradcheck(fn, (x, *params), fast_mode=True)
    assert calls and all(rows == CHAIN_MIN_ROWS for rows in calls)
    small = layer(x[: CHAIN_MIN_ROWS - 1], path="cores")  # below: the autograd path
    assert len(set(calls)) == 1
    assert rel(small, layer(x[: CHAIN_MIN_ROWS - 1], path="dense")) < 1e-12


def test_the_cost_model_takes_the_cheap_side_of_a_train_first():
    # A train (ρ_0 = 1) with ρ_1 small: I_1 first (reversed), closing bond ρ_3ρ_0 last.
    costs = chain_costs(256, [1, 15, 15, 15], (32, 32, 32, 32), 64.0, 16.0)
    assert set(costs) == set(VARIANTS)
    assert min(costs, key=costs.get) == (False, True)
    # A uniform ring: every chain costs the same flops, the plain one copies least.
    costs = chain_costs(256, [8, 8, 8, 8], (32, 32, 32, 32), 64.0, 16.0)
    assert min(costs, key=costs.get) == (False, False)


@pytest.mark.parametrize("variant", VARIANTS)
def test_expanded_output_gradient_and_transposed_input(variant):
    # .sum() hands the backward a stride-0 gradient; x.t() is not contiguous.
    modes, ranks = (3, 4, 5, 2), (2, 3, 2, 4)
    ring = _ring(modes, ranks, seed=7)
    x = torch.randn(15, 6, dtype=torch.float64).t().requires_grad_()
    for loss in (torch.sum, lambda y: torch.exp(y).sum()):
        chain = torch.autograd.grad(loss(inputs_first(x, ring, modes, variant=variant)), [x, *ring])
        ref = torch.autograd.grad(loss(ring_forward(x, ring, modes, "autograd")), [x, *ring])
        for a, b in zip(chain, ref):
            assert rel(a, b) < 1e-12


@pytest.mark.parametrize("name", ["TT", "STR"])
def test_the_chain_traces_and_compiles_without_graph_break(name, monkeypatch):
    import warnings

    layer = _layers()[name]
    monkeypatch.setattr(_contract, "ring_forward_costs", lambda *a: {"inputs": 0.0})
    layer.forward_path = "cores"
    x = torch.randn(CHAIN_MIN_ROWS, 6, dtype=torch.float64)
    ref = layer(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about fixed sizes are expected
        traced = torch.jit.trace(layer, x)
    assert rel(traced(x), ref) < 1e-12
    torch._dynamo.reset()
    compiled = torch.compile(layer, fullgraph=True, backend="eager")
    y = compiled(x)
    assert rel(y, ref) < 1e-12
    y.sum().backward()
    assert all(p.grad is not None for p in layer.parameters())
