"""Run one two-operand STP: a numba kernel on host memory where it wins.

numpy arrays, and torch CPU tensors that need no gradient (shared memory through
``Tensor.numpy()``, so torch in gives torch out at no copy), go to the compiled
kernels when they win: measured once per shape for products of moderate size
(`planner`), by the cost model of `route` otherwise; everything else (autograd, accelerators,
dtypes numba lacks, stacks that broadcast both ways) takes the array-API kernels of
`generic`, which compute the same product.
"""

from __future__ import annotations

import math

import numpy as np

from . import fastpath, generic, planner, route
from .plans import batch_shape

__all__ = ["stp_pair", "outer", "numpy_namespace"]


def stp_pair(xp, A, B, side):
    """``A ⋉ B`` (``side="left"``) or ``A ⋊ B`` of two arrays sharing one dtype."""
    host = _host_views(A, B)
    if host is None or not route.numba_allowed():
        return _generic(xp, A, B, side)
    An, Bn, back = host
    count = math.prod(batch_shape(An.shape[:-2], Bn.shape[:-2]))
    m, n, p, q, g, a, b = route.sizes(An.shape, Bn.shape)
    entries = count * m * a * q * b
    if route.one_gemm(n, p, a, b, side) or entries == 0:
        return _generic(xp, A, B, side)

    def run(kind):
        if kind == "generic":
            return _generic(xp, A, B, side)
        if kind == "host":  # torch CPU tensors through numpy's array-API kernels
            return back(_generic(numpy_namespace(), An, Bn, side))
        out = _compiled(kind, An, Bn, side, count)
        return None if out is None else back(out)

    if planner.plannable(entries):
        key = (side, An.shape, Bn.shape, An.dtype.str, back is _identity)
        kind = planner.lookup(key)
        if kind is None:
            kinds = route.candidates(An.shape, Bn.shape, count, side)
            if back is not _identity:
                # torch's array-API route ran 4.5× slower than numpy's on the same
                # memory at 1115×1210 ⋉ 121×7 (and 60× at 152×19 ⋉ 50×3)
                kinds += ("host",)
            out = planner.measure(key, kinds, run, entries)
            if out is not None:
                _prepare(planner.lookup(key), side, An, Bn, back, entries)
                return out
            kind = "generic"
    else:
        kind = route.choose(An.shape, Bn.shape, count, side)
    _prepare(kind, side, An, Bn, back, entries)
    out = run(kind)
    return _generic(xp, A, B, side) if out is None else out


def _prepare(kind, side, A, B, back, entries):
    # numpy operands of a small product planned on the serial fused kernel: the next
    # product of these shapes calls it from `small` through `fastpath`
    if kind in ("fused", "cols") and back is _identity and entries < route.PARALLEL_MIN_ENTRIES:
        key = (side, A.shape, B.shape, A.dtype, B.dtype)
        if not fastpath.known(key):  # a product that did not come through `small`
            fastpath.remember(key, fastpath.prepare(kind, side, A.shape, B.shape, A.dtype))


def outer(x, y):
    """Outer product of two 1-d numpy arrays of one dtype by the compiled kernel.

    ``None`` where numba may not run (disabled, unsafe after fork, busy in another
    thread, or a dtype it lacks): the caller multiplies with numpy instead.
    """
    if not route.numba_allowed() or x.dtype.type not in route.NUMBA_DTYPES:
        return None
    from . import numba_right

    return route.run_compiled(numba_right.outer, x, y)


def numpy_namespace():
    """Numpy's array-API namespace (array-api-compat), imported once."""
    global _NP
    if _NP is None:
        import array_api_compat

        _NP = array_api_compat.array_namespace(np.empty(0))
    return _NP


_NP = None


def _generic(xp, A, B, side):
    kernel = generic.stp_left if side == "left" else generic.stp_right
    return kernel(xp, A, B)


def _host_views(A, B):
    """``(A, B, back)`` as numpy arrays on host memory, or ``None`` if not possible."""
    if isinstance(A, np.ndarray) and isinstance(B, np.ndarray):
        if A.dtype != B.dtype or A.dtype.type not in route.NUMBA_DTYPES:
            return None
        if not _stacks_compatible(A.shape[:-2], B.shape[:-2]):
            return None
        return A, B, _identity
    if type(A).__module__.split(".")[0] != "torch" or type(B) is not type(A):
        return None
    import torch

    if A.device.type != "cpu" or B.device.type != "cpu" or A.dtype != B.dtype:
        return None
    if torch.is_grad_enabled() and (A.requires_grad or B.requires_grad):
        return None
    if A.is_conj() or B.is_conj() or A.is_neg() or B.is_neg():
        return None
    if not _stacks_compatible(tuple(A.shape[:-2]), tuple(B.shape[:-2])):
        return None
    try:
        An, Bn = A.numpy(), B.numpy()
    except (TypeError, RuntimeError):  # dtypes numpy lacks (bfloat16), exotic layouts
        return None
    if An.dtype.type not in route.NUMBA_DTYPES:
        return None
    return An, Bn, torch.from_numpy


def _identity(x):
    return x


def _stacks_compatible(ba, bb):
    # The kernels index a stack entry r as r (or 0 for an unbatched operand).
    return not ba or not bb or ba == bb or math.prod(ba) == 1 or math.prod(bb) == 1


def _compiled(kind, A, B, side, count):
    m, n = A.shape[-2:]
    p, q = B.shape[-2:]
    g = math.gcd(n, p)
    a, b = p // g, n // g
    batch = batch_shape(A.shape[:-2], B.shape[:-2])
    A3 = np.ascontiguousarray(A.reshape((-1, m, n)))
    B3 = np.ascontiguousarray(B.reshape((-1, p, q)))
    if kind == "stack":
        from . import numba_stp

        out = route.run_compiled(numba_stp.stp_stack, A3, B3, side)
        # The kernel sees two 3-d stacks; the broadcast batch shape is the callers'.
        return None if out is None else out.reshape(tuple(batch) + out.shape[-2:])
    if kind == "cols":
        from . import numba_cols

        fn = numba_cols.left_cols
    elif side == "left":
        from . import numba_dense

        fn = numba_dense.left_fused if kind == "fused" else numba_dense.left_blas
    else:
        from . import numba_right

        fn = numba_right.right_fused
    out = np.empty(tuple(batch) + (m * a, q * b), dtype=A.dtype)
    parallel = out.size >= route.PARALLEL_MIN_ENTRIES
    done = route.run_compiled(fn, A3, B3, out.reshape((-1, m * a, q * b)), parallel)
    return None if done is None else out
