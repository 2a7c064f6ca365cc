"""Which kernel computes a two-operand STP, and when the numba kernels may run.

Deciding never imports numba. The choice is a cost model over the kernels' measured
rates on this project's 2-core machine (``benchmarks/bench_stp.py --sweep``, see
docs/benchmarks.md): placing one output entry of the general left STP costs about
``_PLACE_NS``, a compiled multiply-add loop runs at ``_NUMBA_FLOPS``, BLAS at
``_BLAS_FLOPS`` once its inner size reaches ``_BLAS_FULL_K`` (less below), and every
block the array-API kernels multiply costs a Python call, ``_CALL_NS``.

The numba kernels run only where they are safe (issue 17): not in a child process
forked after the parent used them (GNU OpenMP's pool does not survive ``fork``; the
child would hang), and not while another thread runs one (numba's ``workqueue``
layer aborts the process on concurrent use): a thread that finds the kernels busy
takes the array-API route instead of waiting.
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np

_PLACE_NS = 0.35
_ROW_WRITE_NS = 0.3
_NUMBA_FLOPS = 20e9
_BLAS_FLOPS = 40e9
_BLAS_FULL_K = 32
_CALL_NS = 3000.0
# Fixed cost of one output row (or right-STP row segment) in the compiled loops.
_ROW_NS = 30.0
# A right-STP row in the compiled loop (zeros, segment bounds): 6×246×38 ⋊ 6×44×4
# took 7.7 ms for 32 472 rows of 76 entries, 1×97 ⋊ 89×1 27 µs for 89 rows of 97.
_RIGHT_ROW_NS = 100.0
# Each matrix of a batched GEMM call, beyond the call itself.
_MATRIX_NS = 50.0
# p | n (left): up to this g the fused kernel's 2·g flops per entry beat thin GEMMs.
_PN_FUSED_MAX_G = 8
# Output entries from which the kernels split the work over threads: below it waking
# the pool costs more than it saves.
PARALLEL_MIN_ENTRIES = 1 << 17
# General left STP: rows of B up to this many entries make `numba_cols` a candidate.
COLS_MAX_Q = 16

NUMBA_DTYPES = (np.float32, np.float64, np.complex64, np.complex128, np.int32, np.int64)

_lock = threading.Lock()
_state = {"pid": os.getpid(), "used": False, "forked_after_use": False}


def _after_fork_in_child():
    # A fresh lock (the parent's may have been held by another thread at fork time),
    # and no numba kernels in this process if the parent's thread pool was started.
    global _lock
    _lock = threading.Lock()
    if _state["used"]:
        _state["forked_after_use"] = True
    _state["pid"] = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def numba_allowed():
    """False when numba is disabled by the environment or unsafe in this process."""
    return not (os.environ.get("SEMITENSOR_DISABLE_NUMBA") or _state["forked_after_use"])


def run_compiled(fn, *args):
    """Run ``fn(*args)`` (a numba kernel driver) under the kernels' lock.

    Returns ``None`` without running when another thread holds the lock, so that the
    caller falls back to the array-API route.
    """
    lock = _lock
    if not lock.acquire(blocking=False):
        return None
    try:
        _state["used"] = True
        return fn(*args)
    finally:
        lock.release()


def sizes(A_shape, B_shape):
    m, n = A_shape[-2:]
    p, q = B_shape[-2:]
    g = math.gcd(n, p)
    return m, n, p, q, g, p // g, n // g


def candidates(A_shape, B_shape, count, side):
    """Kernels that can win for one product, the cost model's choice first.

    ``"cols"`` (`numba_cols`) is only ever measured, never the model's guess.

    ``("generic",)`` alone where the product is one GEMM on reshaped views (or
    empty): no compiled kernel can beat it by enough to be worth measuring.
    """
    m, n, p, q, g, a, b = sizes(A_shape, B_shape)
    if one_gemm(n, p, a, b, side) or count * m * a * q * b == 0:
        return ("generic",)
    kinds = ["generic", "fused"] + (["blas"] if side == "left" else [])
    if side == "left" and a > 1 and b > 1 and q <= COLS_MAX_Q:
        kinds.append("cols")  # block products down the columns (`numba_cols`)
    if count >= 64:
        kinds.append("stack")
    first = choose(A_shape, B_shape, count, side)
    return (first,) + tuple(k for k in kinds if k != first)


def one_gemm(n, p, a, b, side):
    """True where the product is one GEMM (or outer product) on reshaped views."""
    return n == p or (side == "left" and b == 1) or (side == "right" and a == 1)


def choose(A_shape, B_shape, count, side):
    """Kernel for one product: ``"generic"``, ``"stack"``, ``"fused"`` or ``"blas"``.

    ``count`` is the number of products in the (broadcast) stack. The model's guess;
    `planner` measures the candidates for products of moderate size.
    """
    m, n, p, q, g, a, b = sizes(A_shape, B_shape)
    if one_gemm(n, p, a, b, side):
        return "generic"  # one GEMM on reshaped views: nothing to gain
    if side == "right" and b == 1:
        return "generic"  # a GEMMs writing contiguous blocks (rows of q: few entries)
    if side == "left" and p == 1:
        return "generic"  # outer products, elementwise (159×30×40 ⋉ 1×1: 3× faster)
    entries = count * m * a * q * b
    if entries == 0:
        return "generic"
    if count >= 64 and m * a * q * b * g <= _STACK_MAX_WORK[_case(side, a, b)]:
        return "stack"
    rows = count * m * a
    if side == "left":
        if a == 1 and g > _PN_FUSED_MAX_G:
            return "generic"  # p | n, long inner sizes: thin GEMMs on views win
        flops = 2.0 * count * m * q * g * (a + b - 1)
        base = entries * _PLACE_NS + rows * (-(-q * b // 16384)) * _ROW_NS
        fused = base + 1e9 * flops / _numba_rate(q)
        blas = base + 1e9 * flops / _blas_rate(g) + _tiles(count, m, q, a, b)
        return "fused" if fused <= blas else "blas"
    flops = 2.0 * count * m * q * g * a * b
    fused = entries * _ROW_WRITE_NS + rows * _RIGHT_ROW_NS + 1e9 * flops / _numba_rate(q)
    generic = (
        (a + b - 1) * (_CALL_NS + count * _MATRIX_NS)
        + entries * _ROW_WRITE_NS
        + 1e9 * flops / _BLAS_FLOPS
    )
    return "fused" if fused <= generic else "generic"


# Stacks of tiny products: the per-entry loop of `numba_stp` (no block buffers) wins up
# to these per-product work sizes (output entries × terms; --sweep-numba table).
_STACK_MAX_WORK = {"left-general": 256, "left-p|n": 64, "divisible": 32, "right": 32}


def _case(side, a, b):
    if side == "right":
        return "right"
    if a > 1 and b > 1:
        return "left-general"
    return "left-p|n" if a == 1 else "divisible"


def _numba_rate(q):
    # The compiled loops vectorise over the q columns of B: short rows run scalar.
    return _NUMBA_FLOPS * min(1.0, max(q, 1) / 16)


def _blas_rate(k):
    return _BLAS_FLOPS * min(1.0, k / _BLAS_FULL_K)


def _tiles(count, m, q, a, b):
    """Call overhead of the BLAS route: one batched GEMM per ~1 MB tile of blocks."""
    block_bytes = 8.0 * count * m * q * (a + b - 1)
    return (1 + block_bytes / (1 << 20)) * (_CALL_NS + (a + b - 1) * 4 * _MATRIX_NS)
