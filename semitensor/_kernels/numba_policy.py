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
# by case. Measured (docs/benchmarks.md, "numba crossover"): in the general left case
# the array-API route pays for two gathers and wins back only on large products; where
# one inner size divides the other it is a single GEMM on views, and the compiled
# loop wins only on very small products.
MAX_WORK = {"left-general": 16384, "left-p|n": 512, "divisible": 128, "right": 64}

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
