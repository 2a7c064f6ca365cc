"""Boolean networks in the STP's δ-form: rules → L → attractors → a feedback law.

A truth value is a unit vector (True = δ_2^1 = [1, 0], False = δ_2^2); a network
x(t+1) = f(x(t)) on n nodes is one logical matrix L on the 2^n states
x = x1 ⋉ x2 ⋉ ... ⋉ xn, stored by semitensor.logic as its 2^n column indices. This
script builds L for a three-node network from its local rules, reads its attractors,
checks them against a direct simulation, does the same for a random network of 20
nodes (a million states), and stabilises a Boolean control network by state feedback.

Run: python examples/boolean_network.py   (SEMITENSOR_EXAMPLE_SMALL=1: 12 nodes)
"""

import os
import time

import numpy as np

import semitensor as st
from semitensor import logic as lg

# Connectives are logical matrices δ_2[...]; stp works on them and on dense vectors.
T, F = st.logical_vector(True), st.logical_vector(False)
print("conjunction M_c =", lg.conjunction().delta(), "  3-valued:", lg.conjunction(3).delta())
print("T ∧ F =", st.stp(lg.conjunction(), T, F).ravel(), "  ¬T =", st.stp(lg.negation(), T).ravel())

# x1' = x2 ∧ x3,  x2' = ¬x1,  x3' = x1 ∨ x2: each rule reads only its own inputs.
net = lg.BooleanNetwork.from_rules(
    {
        "x1": (("x2", "x3"), lambda x2, x3: x2 and x3),
        "x2": (("x1",), lambda x1: not x1),
        "x3": (("x1", "x2"), lambda x1, x2: x1 or x2),
    }
)
L = net.transition_matrix()
print("L =", L.delta())

# Check L against a direct simulation of the rules, state by state.
for index in range(8):
    x1, x2, x3 = lg.state_values(index, 3)
    expected = lg.state_index((x2 and x3, not x1, x1 or x2))
    assert L.indices[index] == expected
    assert lg.vector_index(st.stp(L.to_dense(), lg.state_vector((x1, x2, x3)))) == expected
print("L ⋉ x reproduces the rules on all 8 states")
for cycle in net.attractors():
    states = ["".join("1" if v else "0" for v in lg.state_values(s, 3)) for s in cycle]
    print("attractor (x1x2x3, 1 = True):", " -> ".join(states))
print("cycles of length 1..5 by Cheng's trace formula:", lg.cycle_counts(L, 5).tolist())

# A random N-K network (K = 3): L and all attractors without any dense matrix.
n = 12 if os.environ.get("SEMITENSOR_EXAMPLE_SMALL") else 20
rng = np.random.default_rng(0)
names = [f"v{i}" for i in range(n)]
rules = {v: (tuple(rng.choice(names, 3, replace=False)), rng.random(8) < 0.5) for v in names}
t0 = time.perf_counter()
big = lg.BooleanNetwork.from_rules(rules)
d = lg.dynamics(big.transition_matrix())
print(
    f"random network, n={n} ({2**n} states): {len(d.attractors)} attractors of lengths "
    f"{d.cycle_lengths.tolist()}, basin sizes {d.basin_sizes.tolist()}, longest transient "
    f"{int(d.transient.max())}, in {time.perf_counter() - t0:.2f} s"
)

# A Boolean control network x(t+1) = L ⋉ u(t) ⋉ x(t): steer every state to all-true.
bcn = lg.BooleanNetwork.from_bnet("x1, x2 | u\nx2, !x1 | x3\nx3, x2 & u", controls=["u"])
Lc = bcn.transition_matrix()
K = lg.stabilizing_feedback(Lc, target=0)
closed = lg.closed_loop(Lc, K)
print("feedback u = K ⋉ x with K =", K.delta(), "; closed loop:", closed.delta())
print(
    "closed-loop attractors:",
    lg.attractors(closed),
    " steps to reach all-true:",
    lg.dynamics(closed).transient.tolist(),
)
