"""Measured kernel choice per product shape, cached for the process (as FFT libraries plan).

The cost model of `route` was calibrated on a few shapes and picked a slower kernel on
many others (issue 16: up to 5× on a 500-shape sweep). For a product of moderate size
whose shape has not been seen, every candidate kernel is run and timed once (twice
for small products), the fastest's result is returned and its name kept for that
shape; later products of the same shape run it at once. The first product of a shape
therefore costs the sum of its candidates; a process that multiplies a shape once
pays that, a fit or a chain that repeats it does not.

The cache holds at most ``MAX_PLANS`` keys of a dozen small integers and a short
string (under 300 bytes each with the dict entry), so it stays under 1.2 MB, and
forgets the least recently used shape first. Products outside ``[MIN_ENTRIES,
MAX_ENTRIES]`` output entries take the cost model's choice: below, timing is noise
and the kernels differ by microseconds; above, trying every kernel once costs
seconds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

__all__ = ["plannable", "lookup", "measure", "MAX_PLANS"]

MAX_PLANS = 4096
MIN_ENTRIES = 1 << 12
MAX_ENTRIES = 1 << 23
# Below this many output entries a candidate is timed twice (the least kept): one
# timing of a 50 µs product is easily doubled by a context switch.
_TWICE_BELOW = 1 << 18

_plans: OrderedDict = OrderedDict()
_lock = threading.Lock()
# Kernels already run in this process: the first run of a numba kernel loads (or
# compiles) it, which must not count against it.
_warm: set = set()


def plannable(entries):
    return MIN_ENTRIES <= entries <= MAX_ENTRIES


def lookup(key):
    """The kernel measured fastest for ``key``, or ``None``."""
    with _lock:
        kind = _plans.get(key)
        if kind is not None:
            _plans.move_to_end(key)
        return kind


def measure(key, kinds, run, entries):
    """Run every kernel in ``kinds`` (``run(kind)`` returns the product or ``None``).

    Returns the fastest kernel's product. The choice is stored under ``key`` unless a
    kernel declined to run (``None``: another thread held the compiled kernels), which
    would have timed the fallback instead.
    """
    best = None
    declined = False
    repeats = 2 if entries < _TWICE_BELOW else 1
    for kind in kinds:
        if kind not in _warm:
            if run(kind) is None:
                declined = True
                continue
            _warm.add(kind)
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = run(kind)
            elapsed = time.perf_counter() - t0
            if out is None:
                declined = True
                break
            if best is None or elapsed < best[0]:
                best = (elapsed, kind, out)
    if best is None:
        return None
    if not declined:
        with _lock:
            _plans[key] = best[1]
            while len(_plans) > MAX_PLANS:
                _plans.popitem(last=False)
    return best[2]


def clear():
    """Forget every plan (tests, and benchmarks that compare first calls)."""
    with _lock:
        _plans.clear()
