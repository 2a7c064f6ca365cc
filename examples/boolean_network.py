"""Logic in vector form: structure matrices and a Boolean network's transition by the STP.

A truth value is a unit vector (True = [1, 0], False = [0, 1]); an r-ary operator is a
2 × 2^r structure matrix M with op(p1, ..., pr) = M ⋉ p1 ⋉ ... ⋉ pr. A Boolean network
x(t+1) = f(x(t)) on n nodes becomes one linear map on the 2^n-dimensional state
x1 ⋉ x2 ⋉ ... ⋉ xn: its transition matrix L, built here from the structure matrices
of the update rules, and read for fixed points and cycles.

Run: python examples/boolean_network.py
"""

import itertools

import numpy as np

import semitensor as st

# Operators from their truth tables (any arity): AND, OR, NOT, and a 3-ary majority.
M_and = st.structure_matrix(lambda p, q: p and q, arity=2)
M_or = st.structure_matrix(lambda p, q: p or q, arity=2)
M_not = st.structure_matrix(lambda p: not p, arity=1)
T, F = st.logical_vector(True), st.logical_vector(False)
print("M_and =\n", M_and.astype(int))
print("T ∧ F =", st.stp(M_and, T, F).ravel(), "  ¬T =", st.stp(M_not, T).ravel())

# A three-node network: x1' = x2 ∧ x3,  x2' = ¬x1,  x3' = x1 ∨ x2.
rules = [
    lambda x1, x2, x3: x2 and x3,
    lambda x1, x2, x3: not x1,
    lambda x1, x2, x3: x1 or x2,
]
n = len(rules)
M = [st.structure_matrix(rule, arity=n) for rule in rules]  # each 2 × 8

# x_i' = M_i ⋉ x, with x = x1 ⋉ x2 ⋉ x3; so x' = x1' ⋉ x2' ⋉ x3' has column j equal to
# M_1[:, j] ⊗ M_2[:, j] ⊗ M_3[:, j] (the Khatri-Rao product): one 8 × 8 matrix L.
L = np.stack([st.stp(*(m[:, [j]] for m in M)).ravel() for j in range(2**n)], axis=1)
print("transition matrix L (8×8), columns are next states:\n", L.astype(int))


def state_vector(values):
    return st.stp(*(st.logical_vector(v) for v in values))


def decode(vector):
    index = int(np.argmax(vector))  # True is index 0, so state (T,T,T) is index 0
    return tuple(not bool((index >> (n - 1 - i)) & 1) for i in range(n))


# Check L against direct simulation of the rules, for every state.
for values in itertools.product([True, False], repeat=n):
    nxt = st.stp(L, state_vector(values))
    assert decode(nxt) == tuple(bool(rule(*values)) for rule in rules)
print("L ⋉ x reproduces the rules on all", 2**n, "states")


def label(j):
    """State number j (the position of the 1 in x1 ⋉ x2 ⋉ x3) as 0/1 node values."""
    return "".join(str(int(v)) for v in decode(np.eye(2**n)[:, j]))


# Fixed points: L[j, j] = 1. Cycles: follow each state until it repeats.
fixed = [label(j) for j in range(2**n) if L[j, j] == 1]
print("fixed points:", fixed or "none")
seen = set()
for start in range(2**n):
    path, j = [], start
    while j not in path:
        path.append(j)
        j = int(np.argmax(L[:, j]))
    cycle = tuple(path[path.index(j) :])
    if len(cycle) > 1 and frozenset(cycle) not in seen:
        seen.add(frozenset(cycle))
        print("attractor cycle (x1x2x3, 1 = True):", " -> ".join(label(c) for c in cycle))
