"""Prepared calls of the compiled kernels for small repeated numpy products.

Once `dispatch` has chosen a compiled kernel for a small product (under
``route.PARALLEL_MIN_ENTRIES`` output entries: one thread), the product's index
tables, scratch buffer and sizes are kept here under the operands' shapes and dtype,
and the next product of the same shapes calls the kernel straight from `small`,
skipping the dozen Python calls of validation, dispatch and planning. Those cost
15-20 µs per call with warm caches and 40-90 µs right after a large product had
evicted the interpreter's data (``bench_stp.py --sweep``: 3×78 ⋉ 98×4 took 59 µs
against 14 µs for its kernel), which is several times the whole product at outputs
of 0.2-1 MB.

The cache is bounded in bytes (``MAX_BYTES`` of tables and buffers, the oldest
first out). A prepared call still runs under `route.run_compiled` (one thread
in the kernels at a time, which also guards the shared scratch buffer) and only
where `route.numba_allowed`; it returns ``None`` where either refuses, and the
caller takes the general path.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from . import route

__all__ = ["lookup", "known", "remember", "MAX_BYTES"]

MAX_BYTES = 8 << 20

_calls: OrderedDict = OrderedDict()
_sizes: dict = {}
_total = [0]
_lock = threading.Lock()


def lookup(A, B, side):
    """The product ``A ⋉ B`` (or ``A ⋊ B``) by a prepared call, or ``None``."""
    key = (side, A.shape, B.shape, A.dtype, B.dtype)
    call = _calls.get(key)
    if call is None or not route.numba_allowed():
        return None
    return route.run_compiled(call, A, B)


def known(key):
    """Whether a prepared call is kept for ``key`` (then `prepare` need not run again)."""
    return key in _calls


def remember(key, prepared):
    """Keep ``prepared = (call, nbytes)`` for ``key``, within ``MAX_BYTES``.

    ``call(A, B)`` returns the product of operands of the key's shapes and dtype.
    """
    if prepared is None:
        return
    call, nbytes = prepared
    if nbytes > MAX_BYTES // 16:
        return
    with _lock:
        if key in _calls:
            return
        _calls[key] = call
        _sizes[key] = nbytes
        _total[0] += nbytes
        while _total[0] > MAX_BYTES or len(_calls) > 4096:
            old, _ = _calls.popitem(last=False)
            _total[0] -= _sizes.pop(old)


def clear():
    """Forget every prepared call (tests, benchmarks)."""
    with _lock:
        _calls.clear()
        _sizes.clear()
        _total[0] = 0


def prepare(kind, side, A_shape, B_shape, dtype):
    """``(call, nbytes)`` for the serial ``fused`` kernel of one product, else ``None``."""
    import numpy as np

    from .plans import batch_shape

    m, n, p, q, g, a, b = route.sizes(A_shape, B_shape)
    na, nb = _count(A_shape), _count(B_shape)
    count = max(na, nb)
    if kind not in ("fused", "cols") or count * m * a * q * b >= route.PARALLEL_MIN_ENTRIES:
        return None
    shape = tuple(batch_shape(A_shape[:-2], B_shape[:-2])) + (m * a, q * b)
    if kind == "cols":
        return _prepare_cols(shape, dtype, na, nb, m, n, p, q, a, b)
    if side == "right":
        from .numba_right import _right_tasks

        sizes = (na, nb, m, n, p, q, a, b)

        def call(A, B):
            out = np.zeros(shape, dtype)
            _right_tasks(A.reshape(-1), B.reshape(-1), *sizes, out.reshape(-1), 0, count * a)
            return out

        return call, 0
    from . import numba_dense as nd

    # the tables and the scratch rows, checked before building anything
    D = a + b - 1
    flat = nd._use_flat(q, g, a, b)
    size = 32 * D * q + 8 * a * q * b if flat else 16 * D * q + 8 * (2 * D + a * b)
    if size > MAX_BYTES // 16:
        return None

    tables, kernel, scratch = nd.prepared_left(m, n, p, q, g, a, b)
    args = (na, nb, m, n, p, q, a, b) + tables
    C = np.empty(scratch, dtype)

    def call(A, B):
        out = np.empty(shape, dtype)
        kernel(A.reshape(-1), B.reshape(-1), *args, out.reshape(-1), 0, count * m, C)
        return out

    return call, C.nbytes + sum(t.nbytes for t in tables)


def _count(shape):
    total = 1
    for d in shape[:-2]:
        total *= d
    return total


def _prepare_cols(shape, dtype, na, nb, m, n, p, q, a, b):
    import numpy as np

    from . import numba_cols as nc
    from .numba_dense import _band_offsets
    from .plans import left_blocks

    kk, ll = left_blocks(a, b)
    T = _band_offsets(a, b, q)
    mt = min(nc.TILE, m)
    n_tasks = max(na, nb) * (-(-m // mt))
    bufs = tuple(np.empty(size, dtype) for size in nc.buffer_sizes(n, q, a + b - 1, mt))
    args = (na, nb, m, n, p, q, a, b, kk, ll, T)

    def call(A, B):
        out = np.empty(shape, dtype)
        nc._cols_tasks(A.reshape(-1), B.reshape(-1), *args, out.reshape(-1), mt, 0, n_tasks, *bufs)
        return out

    return call, sum(x.nbytes for x in bufs) + T.nbytes
