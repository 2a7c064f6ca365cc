"""When the numpy path hands a product to the compiled numba kernel.

Kept apart from the kernel so that deciding never imports numba. The thresholds come
from ``benchmarks/bench_stp.py --sweep-numba`` (see docs/benchmarks.md): the kernel
wins on large stacks of tiny products, where batched GEMM pays per-matrix overhead,
and loses to BLAS as soon as the single products grow.
"""

from __future__ import annotations

import math
import os

import numpy as np

# Stacks shorter than this stay on the array-API route.
MIN_STACK = 64
# Largest per-product work (output entries × terms per entry) handed to the kernel,
# by case. Measured (docs/benchmarks.md, "numba crossover", 1 thread each): the
# compiled loop wins on stacks of products with a few dozen output entries, where
# batched GEMM pays per-matrix overhead (10000 × (3×4 ⋉ 2×5): 0.96 ms against 3.7 ms),
# and loses once the single products reach a few hundred entries (2048 × (16×12 ⋉
# 8×16): 16 ms against 9.2 ms). The kernel runs in parallel over the stack, which
# moves the crossover up on more cores: the thresholds assume two.
MAX_WORK = {"left-general": 256, "left-p|n": 64, "divisible": 32, "right": 32}

_DTYPES = (np.float32, np.float64, np.complex64, np.complex128, np.int32, np.int64)


def applies(A, B, side):
    """True where benchmarks/bench_stp.py shows the numba kernel wins."""
    if os.environ.get("SEMITENSOR_DISABLE_NUMBA"):
        return False
    if not isinstance(A, np.ndarray) or not isinstance(B, np.ndarray):
        return False
    if A.dtype != B.dtype or A.dtype.type not in _DTYPES:
        return False
    ba, bb = A.shape[:-2], B.shape[:-2]
    if ba and bb and ba != bb:
        return False
    if math.prod(ba or bb) < MIN_STACK:
        return False
    m, n = A.shape[-2:]
    p, q = B.shape[-2:]
    g = math.gcd(n, p)
    a, b = p // g, n // g
    if n == p:
        return False
    if side == "right":
        case, terms = "right", g
    elif a > 1 and b > 1:
        case, terms = "left-general", g
    elif a == 1:
        case, terms = "left-p|n", g
    else:
        case, terms = "divisible", g
    return m * a * q * b * terms <= MAX_WORK[case]
