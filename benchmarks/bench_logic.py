"""Boolean networks: semitensor.logic against pyboolnet and the dense STP route.

For random N-K networks (K = 3 inputs per node, random truth tables, seeded) at
n = 10, 15, 20, 25, and for every model of pyboolnet's bundled repository with at most
20 nodes, the script times, in one run:

* ``semitensor``: ``BooleanNetwork`` from the rules (bnet text for the repository
  models), ``transition_matrix()`` (L in δ-form) and ``dynamics(L)`` (all attractors,
  basins and transient times); the peak memory of that route is measured in a second
  run with ``tracemalloc`` and reported per state;
* ``pyboolnet``: ``primes2stg(primes, "synchronous")`` then
  ``compute_attractors_tarjan(stg)`` (its synchronous state-transition graph route),
  in a subprocess with a time limit, given the prime implicants (their computation is
  not counted). pyboolnet's model-checking route ``compute_attractors`` needs its
  bundled NuSMV, which fails to start here (libreadline.so.6 missing), so it is not
  compared;
* ``dense``: the route of the old ``examples/boolean_network.py``: a full-arity
  ``structure_matrix`` per node (2^n Python calls each), the dense 2^n × 2^n ``L`` by
  per-column STPs, and cycles by following ``argmax`` of its columns; only where the
  dense L fits (n = 10; at n = 15 it would be 8 GiB).

Every route's attractors are compared as sets of state sets. ``--check-transitions
MODEL ...`` instead compares every column of L with pyboolnet's
``successor_synchronous`` (for models whose STG route is too slow). Usage::

    python benchmarks/bench_logic.py [--sizes 10 15 20 25] [--timeout 300] [--markdown]
    python benchmarks/bench_logic.py --check-transitions irons_yeast dinwoodie_life
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

import semitensor as st
from semitensor.logic import BooleanNetwork, dynamics

REPO = os.path.join(os.path.dirname(__import__("pyboolnet").__file__), "repository")


# ------------------------------------------------------------------ networks
def nk_network(n, k, seed):
    """Random N-K network: names, inputs and truth tables (Cheng's order)."""
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(n)]
    spec = {}
    for name in names:
        inputs = tuple(names[j] for j in rng.choice(n, size=k, replace=False))
        spec[name] = (inputs, rng.random(2**k) < 0.5)
    return spec


def to_bnet(spec):
    """bnet text (a DNF per node) of a spec built by `nk_network`."""
    lines = []
    for name, (inputs, table) in spec.items():
        terms = []
        for c, value in enumerate(table):
            if value:
                bits = [(c >> (len(inputs) - 1 - j)) & 1 for j in range(len(inputs))]
                terms.append("&".join(("!" if b else "") + x for x, b in zip(inputs, bits)))
        expr = "|".join(f"({t})" for t in terms) if terms else "0"
        lines.append(f"{name}, {expr if len(terms) < len(table) else '1'}")
    return "\n".join(lines) + "\n"


def index_of(values, order):
    """Cheng's index of a {name: bool} state in node order ``order``."""
    n = len(order)
    return sum((0 if values[x] else 1) << (n - 1 - j) for j, x in enumerate(order))


def canonical(cycles):
    return sorted(sorted(c) for c in cycles)


# -------------------------------------------------------------------- routes
def run_semitensor(make):
    t0 = time.perf_counter()
    net = make()
    L = net.transition_matrix()
    t1 = time.perf_counter()
    d = dynamics(L)
    t2 = time.perf_counter()
    return net, d, t1 - t0, t2 - t1


def peak_memory(make):
    tracemalloc.start()
    net = make()
    d = dynamics(net.transition_matrix())
    del d, net
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def run_pyboolnet(bnet_text, timeout):
    """Time pyboolnet's STG + Tarjan route in a subprocess; None on timeout."""
    with tempfile.NamedTemporaryFile("w", suffix=".bnet", delete=False) as fh:
        fh.write(bnet_text)
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--pyboolnet-worker", fh.name],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    finally:
        os.unlink(fh.name)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def pyboolnet_worker(path):
    import logging

    logging.disable(logging.CRITICAL)
    from pyboolnet.attractors import compute_attractors_tarjan
    from pyboolnet.file_exchange import bnet2primes
    from pyboolnet.state_transition_graphs import primes2stg

    primes = bnet2primes(open(path).read())
    t0 = time.perf_counter()
    stg = primes2stg(primes, "synchronous")
    steady, cyclic = compute_attractors_tarjan(stg)
    seconds = time.perf_counter() - t0
    names = sorted(primes)
    cycles = [[s] for s in steady] + [sorted(c) for c in cyclic]
    states = [[{x: s[i] == "1" for i, x in enumerate(names)} for s in c] for c in cycles]
    print(json.dumps({"seconds": seconds, "attractors": states}))


def check_transitions(path):
    """Compare every column of L with pyboolnet's successor_synchronous; return (n, ok)."""
    import logging

    logging.disable(logging.CRITICAL)
    from pyboolnet.file_exchange import bnet2primes
    from pyboolnet.state_transition_graphs import successor_synchronous

    text = open(path).read()
    net = BooleanNetwork.from_bnet(text)
    primes = bnet2primes(text)
    order = list(net.nodes)
    L = net.transition_matrix().indices
    n = len(order)
    for x in range(2**n):
        state = {v: int(not (x >> (n - 1 - j)) & 1) for j, v in enumerate(order)}
        succ = successor_synchronous(primes, state)
        if index_of({v: bool(succ[v]) for v in order}, order) != L[x]:
            return n, False
    return n, True


def run_dense(spec, order):
    """The old example's route: full-arity structure matrices, dense L, argmax walks."""
    n = len(order)
    pos = {x: i for i, x in enumerate(order)}
    t0 = time.perf_counter()
    M = []
    for name in order:
        inputs, table = spec[name]
        idx = [pos[x] for x in inputs]

        def rule(*values, idx=idx, table=table):
            return bool(
                table[sum((0 if values[i] else 1) << (len(idx) - 1 - j) for j, i in enumerate(idx))]
            )

        M.append(st.structure_matrix(rule, arity=n))
    L = np.stack([st.stp(*(m[:, [j]] for m in M)).ravel() for j in range(2**n)], axis=1)
    seen, cycles = set(), []
    for start in range(2**n):
        path, j = [], start
        while j not in path:
            path.append(j)
            j = int(np.argmax(L[:, j]))
        cycle = tuple(path[path.index(j) :])
        if frozenset(cycle) not in seen:
            seen.add(frozenset(cycle))
            cycles.append(cycle)
    return cycles, time.perf_counter() - t0


# --------------------------------------------------------------------- table
def fmt(seconds):
    if seconds is None:
        return "—"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def ratio(other, ours):
    return (
        "—"
        if other is None
        else f"{other / ours:.0f}×"
        if other / ours >= 10
        else f"{other / ours:.1f}×"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 15, 20, 25])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per pyboolnet run")
    parser.add_argument("--pyboolnet-max-n", type=int, default=20)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--pyboolnet-worker", help=argparse.SUPPRESS)
    parser.add_argument(
        "--check-transitions",
        nargs="+",
        metavar="MODEL",
        help="instead of timing: check every column of L against pyboolnet's "
        "successor_synchronous for these repository models",
    )
    args = parser.parse_args()
    if args.pyboolnet_worker:
        return pyboolnet_worker(args.pyboolnet_worker)
    if args.check_transitions:
        for name in args.check_transitions:
            n, ok = check_transitions(os.path.join(REPO, name, name + ".bnet"))
            print(f"{name}: all {2**n} columns of L equal pyboolnet's successor: {ok}")
        return 0

    # Compile (or load from numba's cache) the attractor kernel once, outside the timings.
    dynamics(BooleanNetwork.from_bnet("a, !a").transition_matrix())
    rows = []
    for n in args.sizes:
        spec = nk_network(n, 3, seed=n)

        def make(spec=spec):
            return BooleanNetwork.from_rules(spec)

        net, d, t_build, t_attr = run_semitensor(make)
        ours = t_build + t_attr
        peak = peak_memory(make)
        order = list(net.nodes)
        mine = canonical(d.attractors)
        pb = run_pyboolnet(to_bnet(spec), args.timeout) if n <= args.pyboolnet_max_n else None
        same = []
        if pb is not None:
            same.append(
                canonical([[index_of(s, order) for s in c] for c in pb["attractors"]]) == mine
            )
        dense_t = None
        if 2**n * 2**n * 8 <= 2**30:
            cycles, dense_t = run_dense(spec, order)
            same.append(canonical(cycles) == mine)
        pb_t = pb["seconds"] if pb else None
        if n > args.pyboolnet_max_n:
            pb_cell = f"not run (n > {args.pyboolnet_max_n})"
        else:
            pb_cell = fmt(pb_t) if pb else f"> {args.timeout:.0f} s (stopped)"
        rows.append(
            [
                f"N-K n={n}",
                f"2^{n}",
                fmt(t_build),
                fmt(t_attr),
                fmt(ours),
                f"{peak / 2**n:.0f} B",
                pb_cell,
                ratio(pb_t, ours),
                fmt(dense_t),
                ratio(dense_t, ours),
                str(len(mine)),
                "yes" if same and all(same) else ("—" if not same else "NO"),
            ]
        )
        print(" | ".join(rows[-1]), file=sys.stderr)
    for path in sorted(glob.glob(os.path.join(REPO, "*", "*.bnet"))):
        text = open(path).read()
        name = os.path.basename(path)[:-5]

        def make(text=text):
            return BooleanNetwork.from_bnet(text)

        probe = make()
        n = len(probe.nodes)
        if n > 20:
            continue
        net, d, t_build, t_attr = run_semitensor(make)
        ours = t_build + t_attr
        peak = peak_memory(make)
        mine = canonical(d.attractors)
        pb = run_pyboolnet(text, args.timeout)
        same = "—"
        if pb is not None:
            theirs = canonical(
                [[index_of(s, list(net.nodes)) for s in c] for c in pb["attractors"]]
            )
            same = "yes" if theirs == mine else "NO"
        pb_t = pb["seconds"] if pb else None
        rows.append(
            [
                name,
                f"2^{n}",
                fmt(t_build),
                fmt(t_attr),
                fmt(ours),
                f"{peak / 2**n:.0f} B",
                fmt(pb_t) if pb else f"> {args.timeout:.0f} s (stopped)",
                ratio(pb_t, ours),
                "—",
                "—",
                str(len(mine)),
                same,
            ]
        )
        print(" | ".join(rows[-1]), file=sys.stderr)
    header = [
        "network",
        "states",
        "st: L",
        "st: attractors",
        "st: total",
        "st: peak mem/state",
        "pyboolnet STG+Tarjan",
        "pyboolnet/st",
        "dense example",
        "dense/st",
        "attractors",
        "same",
    ]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        for r in [header] + rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    sys.exit(main())
