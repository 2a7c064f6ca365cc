"""The STP algebra in a few lines: what `semitensor` computes, printed.

Run: python examples/stp_basics.py
"""

import numpy as np

import semitensor as st

# Cheng's worked example: X is 3x4, Y is 2x2; the inner sizes 4 and 2 do not match.
X = np.array([[1, 2, 1, 1], [2, 3, 1, 2], [3, 2, 1, 0]])
Y = np.array([[1, -2], [2, -1]])
print("X ⋉ Y =\n", st.stp(X, Y))

# A row times a shorter column: [1 2 3 -1] ⋉ [2 1]^T = [5 3].
print("[1 2 3 -1] ⋉ [2 1]^T =", st.stp([[1, 2, 3, -1]], [2, 1]).ravel())

# For columns, the left STP is the Kronecker product and the right STP swaps it.
x, y = np.array([1.0, 2.0]), np.array([1.0, 0.0, -1.0])
print("x ⋉ y =", st.stp(x, y).ravel(), " x ⋊ y =", st.rstp(x, y).ravel())

# Neither inner size divides the other (6 and 4): no X ⊗ I is ever formed.
rng = np.random.default_rng(0)
A, B = rng.standard_normal((2, 6)), rng.standard_normal((4, 3))
print("shape of (2x6) ⋉ (4x3):", st.stp(A, B).shape)

# Swap matrix: W[m,n] (x ⊗ y) = y ⊗ x.
W = st.swap_matrix(2, 3)
print("W[2,3] (x ⊗ y) == y ⊗ x:", bool(np.allclose(W @ np.kron(x, y), np.kron(y, x))))

# Logic in vector form: True is [1, 0], False is [0, 1]; M_and ⋉ p ⋉ q = p AND q.
M_and = st.structure_matrix(lambda p, q: p and q, arity=2)
T, F = np.array([1, 0]), np.array([0, 1])
print("structure matrix of AND:\n", M_and.astype(int))
print("True AND False ->", st.stp(M_and, T, F).ravel())

# Stacks broadcast like matmul: 1000 products in one call.
As, Bs = rng.standard_normal((1000, 4, 6)), rng.standard_normal((4, 3))
print("stacked:", st.stp(As, Bs).shape)
