"""semitensor.nn._contract: both contraction orders and the weight builder against the format."""

import pytest

torch = pytest.importorskip("torch")

from semitensor.formats.str import STRTensor  # noqa: E402
from semitensor.nn import STRLinear, STTLinear, tensor_to_matrix  # noqa: E402
from semitensor.nn._contract import (  # noqa: E402
    ring_forward,
    ring_forward_costs,
    ring_to_matrix,
)
from tests.nn.conftest import rel  # noqa: E402

# (modes, ranks): interleaved (I_1, O_1, …); ranks[k] enters core k. Rings, trains
# (ρ_0 = 1), size-1 modes, and mode sizes either side of the ranks.
CASES = [
    ((3, 4, 5, 2), (2, 3, 4, 5)),
    ((3, 4, 5, 2), (1, 3, 4, 2)),
    ((1, 3, 4, 1), (3, 2, 2, 3)),
    ((4, 3), (2, 3)),
    ((4, 3), (1, 5)),
    ((2, 3, 4, 5, 2, 3), (2, 3, 1, 2, 3, 4)),
    ((2, 1, 3, 2, 1, 4, 2, 2), (1, 2, 3, 2, 2, 1, 3, 2)),
]
IDS = [f"{m}-{r}" for m, r in CASES]


def _ring(modes, ranks, requires_grad=False):
    n = len(modes)
    return [torch.randn(ranks[k], modes[k], ranks[(k + 1) % n], dtype=torch.float64,
                        requires_grad=requires_grad) for k in range(n)]  # fmt: skip


def _oracle(ring, modes):
    """W (out × in) from the STR format at t = 1 (a plain ring), then the layout."""
    return tensor_to_matrix(STRTensor(ring, 1).to_tensor(), modes[0::2], modes[1::2])


def _orders(modes):
    return ["ring", "inputs"] if len(modes) == 4 else ["ring"]


@pytest.mark.parametrize(("modes", "ranks"), CASES, ids=IDS)
def test_ring_to_matrix_is_the_formats_weight(modes, ranks):
    torch.manual_seed(0)
    ring = _ring(modes, ranks)
    assert rel(ring_to_matrix(ring, modes), _oracle(ring, modes)) < 1e-13


@pytest.mark.parametrize(("modes", "ranks"), CASES, ids=IDS)
def test_every_order_equals_the_dense_product(modes, ranks):
    torch.manual_seed(1)
    ring = _ring(modes, ranks)
    w = _oracle(ring, modes)
    x = torch.randn(5, w.shape[1], dtype=torch.float64)
    assert set(ring_forward_costs(5, ranks, modes)) == set(_orders(modes))
    for order in _orders(modes):
        assert rel(ring_forward(x, ring, modes, order), x @ w.T) < 1e-13
        assert ring_forward(x[:0], ring, modes, order).shape == (0, w.shape[0])


@pytest.mark.parametrize(("modes", "ranks"), CASES[:5], ids=IDS[:5])
def test_every_order_and_the_weight_pass_gradcheck(modes, ranks):
    torch.manual_seed(2)
    ring = _ring(modes, ranks, requires_grad=True)
    n_in = 1
    for m in modes[0::2]:
        n_in *= m
    x = torch.randn(3, n_in, dtype=torch.float64, requires_grad=True)
    for order in _orders(modes):
        fn = lambda x, *cores, o=order: ring_forward(x, list(cores), modes, o)  # noqa: E731
        assert torch.autograd.gradcheck(fn, (x, *ring))
    assert torch.autograd.gradcheck(lambda *cores: ring_to_matrix(list(cores), modes), ring)


def test_the_cheaper_order_is_taken_and_both_paths_agree():
    # Small ranks against modes of 16: inputs first; large ranks: the ring order.
    torch.manual_seed(3)
    for ranks, order in [(4, "inputs"), (64, "ring")]:
        layer = STTLinear(256, 256, (16, 16), (16, 16), ranks, 1, dtype=torch.float64)
        costs = ring_forward_costs(7, layer._ring_ranks(), layer.modes)
        assert min(costs, key=costs.get) == order
        x = torch.randn(7, 256, dtype=torch.float64)
        assert rel(layer(x, path="cores"), layer(x, path="dense")) < 1e-12
        assert rel(ring_forward(x, layer._ring(), layer.modes), x @ layer.weight.T) < 1e-12


@pytest.mark.parametrize("cls", [STTLinear, STRLinear])
def test_gradients_of_the_orders_and_the_dense_path_agree(cls):
    torch.manual_seed(4)
    layer = cls(64, 36, (8, 8), (6, 6), 4, 2, dtype=torch.float64)
    x = torch.randn(6, 64, dtype=torch.float64, requires_grad=True)
    grads = []
    for run in ("ring", "inputs", "dense"):
        layer.zero_grad()
        x.grad = None
        if run == "dense":
            y = layer(x, path="dense")
        else:
            y = ring_forward(x, layer._ring(), layer.modes, run) + layer.bias
        (y**2).sum().backward()
        grads.append([x.grad.clone()] + [p.grad.clone() for p in layer.parameters()])
    for other in grads[1:]:
        for a, b in zip(grads[0], other):
            assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("chunk", [1, 3, 10**6])
@pytest.mark.parametrize(("modes", "ranks"), CASES, ids=IDS)
def test_ring_moments_in_chunks_of_pairs_match_the_format(modes, ranks, chunk, monkeypatch):
    # chunk 1 and 3: the pairs (a, a') a few at a time (3 leaves a partial last chunk);
    # a huge chunk: the transfer matrices of a small ring.
    from semitensor.nn import _contract

    monkeypatch.setattr(_contract, "_PAIR_CHUNK", chunk)
    torch.manual_seed(5)
    ring = _ring(modes, ranks)
    full = STRTensor(ring, 1).to_tensor()
    total, squares = _contract.ring_moments(ring)
    assert total == pytest.approx(float(full.sum()), rel=1e-10, abs=1e-10)
    assert squares == pytest.approx(float((full**2).sum()), rel=1e-10)
