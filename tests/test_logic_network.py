"""BooleanNetwork and its dynamics against a truth-table simulation written here."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semitensor
from semitensor.logic import BooleanNetwork, LogicalMatrix, attractors, cycle_counts, dynamics


def _index(values):
    """Cheng's state index, written out: Σ_j (1 − x_j)·2^(n−j), x_1 slowest."""
    n = len(values)
    return sum((0 if v else 1) << (n - 1 - j) for j, v in enumerate(values))


def _values(index, n):
    return tuple(not (index >> (n - 1 - j)) & 1 for j in range(n))


@st.composite
def nk_networks(draw, max_nodes=7, max_controls=2):
    """Random N-K networks: (rules as callables over dict tables, nodes, controls)."""
    n = draw(st.integers(1, max_nodes))
    m = draw(st.integers(0, max_controls))
    nodes = [f"x{i}" for i in range(n)]
    controls = [f"u{i}" for i in range(m)]
    names = controls + nodes
    rules = {}
    for node in nodes:
        k = draw(st.integers(0, min(3, len(names))))
        inputs = tuple(draw(st.permutations(names))[:k])
        outs = draw(st.lists(st.booleans(), min_size=2**k, max_size=2**k))
        table = dict(zip(itertools.product([True, False], repeat=k), outs))
        rules[node] = (inputs, lambda *args, table=table: table[args])
    return rules, nodes, controls


def _simulate(rules, nodes, controls):
    """Successor index of every column u·2^n + x by calling each rule on named values."""
    n, m = len(nodes), len(controls)
    out = []
    for u in range(2**m):
        for x in range(2**n):
            env = dict(zip(controls, _values(u, m)), **dict(zip(nodes, _values(x, n))))
            nxt = [fn(*(env[a] for a in inputs)) for inputs, fn in (rules[v] for v in nodes)]
            out.append(_index(nxt))
    return out


def _brute_cycles(succ):
    cycles = set()
    for s in range(len(succ)):
        seen, x = [], s
        while x not in seen:
            seen.append(x)
            x = succ[x]
        cyc = seen[seen.index(x) :]
        i = cyc.index(min(cyc))
        cycles.add(tuple(cyc[i:] + cyc[:i]))
    return sorted(cycles)


@settings(max_examples=80, deadline=None)
@given(net=nk_networks())
def test_transition_matrix_matches_simulation(net):
    rules, nodes, controls = net
    bn = BooleanNetwork.from_rules(rules, controls=controls)
    L = bn.transition_matrix()
    assert bn.nodes == tuple(nodes) and bn.controls == tuple(controls)
    assert L.shape == (2 ** len(nodes), 2 ** (len(nodes) + len(controls)))
    assert L.indices.tolist() == _simulate(rules, nodes, controls)


@settings(max_examples=60, deadline=None)
@given(net=nk_networks(max_nodes=8, max_controls=0))
def test_attractors_basins_transients_brute_force(net):
    rules, nodes, _ = net
    bn = BooleanNetwork.from_rules(rules)
    succ = _simulate(rules, nodes, [])
    expected = _brute_cycles(succ)
    assert bn.attractors() == expected
    assert bn.fixed_points() == [c[0] for c in expected if len(c) == 1]
    d = bn.dynamics()
    for x in range(len(succ)):
        steps, y = 0, x
        while not any(y in c for c in expected):
            y, steps = succ[y], steps + 1
        assert d.transient[x] == steps
        assert y in expected[d.basin[x]]
    assert d.basin_sizes.sum() == len(succ)
    counts = cycle_counts(bn.transition_matrix(), 2 ** len(nodes))
    lengths = np.bincount([len(c) for c in expected], minlength=2 ** len(nodes) + 1)[1:]
    np.testing.assert_array_equal(counts, lengths)


@pytest.mark.parametrize("k", [2, 3, 4])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_dynamics_of_random_k_valued_maps(k, data):
    n = data.draw(st.integers(1, 3))
    size = k**n
    succ = data.draw(st.lists(st.integers(0, size - 1), min_size=size, max_size=size))
    L = LogicalMatrix(succ, size)
    assert attractors(L) == _brute_cycles(succ)
    expected = np.bincount([len(c) for c in _brute_cycles(succ)], minlength=size + 1)[1:]
    np.testing.assert_array_equal(cycle_counts(L, size), expected)


def test_step_by_dense_stp():
    # x(t+1) = L ⋉ x(t) with the dense STP of δ-vectors.
    bn = BooleanNetwork.from_bnet("a, b & !c\nb, a | c\nc, !a")
    L = bn.transition_matrix()
    for x in range(8):
        vec = np.eye(8)[:, x]
        nxt = semitensor.stp(L.to_dense(), vec)
        assert int(np.argmax(nxt)) == L.indices[x]
        assert int(np.argmax(semitensor.stp(L, vec))) == L.indices[x]


BNET_EXPR = st.deferred(
    lambda: st.one_of(
        st.sampled_from(["a", "b", "c", "u", "0", "1"]),
        st.tuples(st.just("!"), BNET_EXPR),
        st.tuples(BNET_EXPR, st.sampled_from(["&", "|"]), BNET_EXPR),
    )
)


def _render(e):
    if isinstance(e, str):
        return e, {"0": "False", "1": "True"}.get(e, e)
    if len(e) == 2:
        text, py = _render(e[1])
        return f"!{text}", f"(not {py})"
    (lt, lp), (rt, rp) = _render(e[0]), _render(e[2])
    return f"({lt} {e[1]} {rt})", f"({lp} {'and' if e[1] == '&' else 'or'} {rp})"


@settings(max_examples=80, deadline=None)
@given(exprs=st.lists(BNET_EXPR, min_size=3, max_size=3))
def test_bnet_matches_python_rules(exprs):
    texts, pys = zip(*(_render(e) for e in exprs))
    bnet = "\n".join(f"{name}, {t}" for name, t in zip("abc", texts))
    bn = BooleanNetwork.from_bnet("# comment\ntargets, factors\n" + bnet, controls=["u"])
    env_names = ("u", "a", "b", "c")
    rules = {
        name: (env_names, eval(f"lambda u, a, b, c: {py}"))  # noqa: S307 - test oracle
        for name, py in zip("abc", pys)
    }
    assert bn.transition_matrix().indices.tolist() == _simulate(rules, list("abc"), ["u"])


def test_rule_forms_agree():
    by_callable = BooleanNetwork.from_rules(
        {"p": (("q",), lambda q: not q), "q": (("p", "q"), lambda p, q: p and q)}
    )
    by_signature = BooleanNetwork.from_rules({"p": lambda q: not q, "q": lambda p, q: p and q})
    by_table = BooleanNetwork.from_rules(
        {"p": (("q",), [False, True]), "q": (("p", "q"), [1, 0, 0, 0])}
    )
    by_text = BooleanNetwork.from_rules({"p": "!q", "q": "p & q"})
    L = by_callable.transition_matrix()
    assert L == by_signature.transition_matrix() == by_table.transition_matrix()
    assert L == by_text.transition_matrix()
    assert by_table.rules["q"][0] == ("p", "q")
    assert by_table.rules["q"][1].tolist() == [True, False, False, False]


def test_rules_called_locally_only():
    calls = []

    def rule(a):
        calls.append(a)
        return not a

    rules = {f"x{i}": ((f"x{(i + 1) % 12}",), rule) for i in range(12)}
    BooleanNetwork.from_rules(rules).transition_matrix()
    assert len(calls) == 2 * 12  # 2^r per node, never 2^n
    assert all(type(a) is bool for a in calls)


def test_inputs_not_modified():
    table = np.array([True, False])
    rules = {"a": (["a"], table)}
    bn = BooleanNetwork.from_rules(rules)
    table[0] = False
    assert bn.rules["a"][1].tolist() == [True, False]
    assert rules == {"a": (["a"], table)}


def test_size_refused_before_allocation():
    rules = {f"x{i}": f"x{(i + 1) % 40}" for i in range(40)}
    bn = BooleanNetwork.from_rules(rules)
    with pytest.raises(
        ValueError, match=r"2\^40 = 1099511627776 columns and needs 8796093022208 bytes"
    ):
        bn.transition_matrix()
    small = BooleanNetwork.from_rules({f"x{i}": f"x{(i + 1) % 10}" for i in range(10)})
    with pytest.raises(ValueError, match=r"needs 4096 bytes .*more than max_bytes=1000"):
        small.transition_matrix(max_bytes=1000)
    with pytest.raises(ValueError, match=r"at most 2\^62"):
        BooleanNetwork.from_rules({f"x{i}": "1" for i in range(63)}).transition_matrix()


@pytest.mark.parametrize(
    "make, exc, match",
    [
        (lambda: {"a": (("b",), lambda b: b)}, ValueError, r"node 'a' refers to unknown node 'b'"),
        (lambda: {"a": "a & zz"}, ValueError, r"unknown node 'zz'; known nodes and controls: a"),
        (lambda: {"a": (("a",), lambda p, q: p)}, TypeError, r"node 'a' must accept its 1 inputs"),
        (
            lambda: {"a": (("a",), lambda p: 2)},
            ValueError,
            r"node 'a' must return a bool \(or 0/1\); with a=True it returned 2",
        ),
        (lambda: {"a": (("a",), lambda p: None)}, ValueError, r"returned None of type NoneType"),
        (lambda: {"a": (("a",), [True])}, ValueError, r"node 'a' must have 2\^1 = 2 entries"),
        (lambda: {"a": (("a",), [2, 0])}, ValueError, r"bools or 0/1; got \[2, 0\]"),
        (lambda: {"a": (("a", "a"), [1, 0, 0, 0])}, ValueError, r"lists an input twice"),
        (lambda: {"a": 3}, TypeError, r"rule of node 'a' must be .*got int"),
        (lambda: {"a": ("a", lambda a: a)}, TypeError, r"inputs of node 'a' must be a sequence"),
        (lambda: {"a": "a &"}, ValueError, r"node 'a': expression ends early"),
        (lambda: {"a": "a + b"}, ValueError, r"unexpected character '\+'"),
        (lambda: {"a": "(a"}, ValueError, r"missing '\)'"),
        (lambda: {}, TypeError, r"rules must be a non-empty mapping"),
    ],
)
def test_rule_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        BooleanNetwork.from_rules(make())


@pytest.mark.parametrize(
    "text, controls, exc, match",
    [
        (
            "a, b\na, !b\nb, a",
            (),
            ValueError,
            r"bnet line 2: node 'a' already has a rule \(line 1\)",
        ),
        ("a b", (), ValueError, r"bnet line 1: expected 'name, expression'"),
        ("# nothing", (), ValueError, r"no rule"),
        (
            "a, a",
            ("a",),
            ValueError,
            r"controls must be distinct names that are not nodes; got \['a'\]",
        ),
        (b"a, a", (), TypeError, r"text must be a str"),
        ("a$, a", (), ValueError, r"invalid node name 'a\$'"),
    ],
)
def test_bnet_errors(text, controls, exc, match):
    with pytest.raises(exc, match=match):
        BooleanNetwork.from_bnet(text, controls=controls)


def test_analysis_needs_closed_network():
    bn = BooleanNetwork.from_bnet("x, u & x", controls=["u"])
    with pytest.raises(ValueError, match=r"attractors needs a network without controls; .*\['u'\]"):
        bn.attractors()
    with pytest.raises(ValueError, match=r"must be square .*got shape \(2, 4\)"):
        dynamics(bn.transition_matrix())
    with pytest.raises(TypeError, match=r"L must be a LogicalMatrix; got ndarray"):
        attractors(np.eye(2))
    with pytest.raises(ValueError, match=r"max_length must be a positive integer; got 0"):
        cycle_counts(LogicalMatrix([0], 1), 0)


def test_more_rule_errors():
    import operator

    with pytest.raises(TypeError, match=r"input names of the rule of node 'a' cannot be read"):
        BooleanNetwork.from_rules({"a": max})
    # Builtins without a signature are still accepted with explicit inputs.
    bn = BooleanNetwork.from_rules({"a": (("a", "b"), max), "b": (("a",), operator.not_)})
    assert bn.transition_matrix().delta() == "δ_4[2 2 1 3]"  # a | b, !a
    with pytest.raises(TypeError, match=r"controls must be a sequence of names"):
        BooleanNetwork.from_rules({"a": "a"}, controls=[1])
    with pytest.raises(TypeError, match=r"controls must be a sequence of names"):
        BooleanNetwork.from_rules({"a": "a"}, controls="u")
    gen = BooleanNetwork.from_rules({"a": "u & a"}, controls=(c for c in ["u"]))
    assert gen.controls == ("u",)
    assert repr(gen) == "BooleanNetwork(nodes=['a'], controls=['u'])"


@settings(max_examples=40, deadline=None)
@given(net=nk_networks(max_nodes=6, max_controls=2), bits=st.integers(1, 3))
def test_transition_matrix_in_small_blocks(net, bits):
    # Real networks above 2^16 states are built in blocks that share their high bits;
    # small blocks exercise that path (inputs split between block offset and low bits).
    from unittest import mock

    from semitensor.logic import _build

    rules, nodes, controls = net
    with mock.patch.object(_build, "_BLOCK_BITS", bits):
        L = BooleanNetwork.from_rules(rules, controls=controls).transition_matrix()
    assert L.indices.tolist() == _simulate(rules, nodes, controls)


def test_transition_matrix_above_one_block():
    # 18 variables: 4 blocks of 2^16 states; oracle by bit arithmetic over all states.
    rng = np.random.default_rng(7)
    names = [f"v{i}" for i in range(17)]
    spec = {
        v: (tuple(rng.choice(names + ["u"], 3, replace=False)), rng.random(8) < 0.5) for v in names
    }
    L = BooleanNetwork.from_rules(spec, controls=["u"]).transition_matrix()
    order = ["u"] + names
    s = np.arange(2**18)
    value = {x: ((s >> (17 - p)) & 1) == 0 for p, x in enumerate(order)}
    nxt = np.zeros(2**18, dtype=np.int64)
    for i, v in enumerate(names):
        inputs, table = spec[v]
        local = sum((~value[x]).astype(np.int64) << (2 - j) for j, x in enumerate(inputs))
        nxt += (~table[local]).astype(np.int64) << (16 - i)
    np.testing.assert_array_equal(L.indices, nxt)
