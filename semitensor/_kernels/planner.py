"""Measured kernel choice per product shape, cached for the process (as FFT libraries plan).

The cost model of `route` was calibrated on a few shapes and picked a slower kernel on
many others (issue 16: up to 5× on a 500-shape sweep). For a product of moderate size
whose shape has not been seen, every candidate kernel is run and timed (one to three
rounds, the later ones only for kernels within 3× of the best), the fastest's result
is returned and its name kept for that shape; later products of the same shape run
it at once. The first product of a shape therefore costs one run of every candidate
and a few of the best (``bench_stp.py --first-calls``); a process that multiplies a
shape once pays that, a fit or a chain that repeats it does not.

The cache holds at most ``MAX_PLANS`` keys of a dozen small integers and a short
string (under 300 bytes each with the dict entry), so it stays under 1.2 MB, and
forgets the least recently used shape first. Products outside ``[MIN_ENTRIES,
MAX_ENTRIES]`` output entries take the cost model's choice: below, timing is noise
and the kernels differ by microseconds; above, trying every kernel once costs
seconds.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict

__all__ = ["plannable", "lookup", "measure", "MAX_PLANS"]

MAX_PLANS = 4096
MIN_ENTRIES = 1 << 12
MAX_ENTRIES = 1 << 23
# Rounds of timing: three below the first size, two below the second, else one (one
# timing of a 50 µs product is easily doubled by a context switch).
_FEW_ROUNDS_FROM = 1 << 16
_ONE_ROUND_FROM = 1 << 20
# Another kernel replaces the model's choice only when this much faster: closer
# timings are noise on a shared machine.
_MARGIN = 1.1
_PRUNE = 3.0

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

    The kernels run in interleaved rounds (one call each per round, the least time
    kept), so that a context switch or a burst of load elsewhere is not charged to
    one kernel only; the model's choice ``kinds[0]`` keeps the plan unless another
    kernel is at least ``_MARGIN`` faster. Returns the chosen kernel's last product.
    The choice is stored under ``key`` unless a kernel declined to run (``None``:
    another thread held the compiled kernels), which would have timed the fallback.
    """
    rounds = 3 if entries < _FEW_ROUNDS_FROM else 2 if entries < _ONE_ROUND_FROM else 1
    best = dict.fromkeys(kinds, float("inf"))
    outs = {}
    declined = False
    for kind in kinds:
        if kind not in _warm and run(kind) is not None:
            _warm.add(kind)
    active = kinds
    for _ in range(rounds):
        for kind in active:
            loaded = _loaded()
            t0 = time.perf_counter()
            out = run(kind)
            elapsed = time.perf_counter() - t0
            if _loaded() != loaded:  # it loaded (or compiled) a kernel: time it again
                t0 = time.perf_counter()
                out = run(kind)
                elapsed = time.perf_counter() - t0
            if out is None:
                declined = True
                continue
            outs[kind] = out
            best[kind] = min(best[kind], elapsed)
        # Later rounds only for the close contenders: a kernel 3× slower than the best
        # cannot win on noise, and rerunning it made first calls cost up to 100 planned
        # ones (the array-API route of a general left STP can be 30× the best kernel).
        fastest = min(best.values())
        active = tuple(k for k in active if best[k] <= _PRUNE * fastest)
    if not outs:
        return None
    choice = min(best, key=best.get)
    if kinds[0] in outs and best[choice] > best[kinds[0]] / _MARGIN:
        choice = kinds[0]
    if not declined:
        with _lock:
            _plans[key] = choice
            while len(_plans) > MAX_PLANS:
                _plans.popitem(last=False)
    return outs[choice]


def _loaded():
    """How many compiled kernel variants the kernel modules hold (numba never imported).

    A kind's first run on a new dtype or a new branch inside it (say the fused kernel's
    band loops after its flat loops) loads its machine code from numba's cache or
    compiles it: 0.1-1 s charged to that kind, which then lost to a 2.5× slower
    kernel (3×78 ⋉ 98×4: ``blas`` planned, ``fused`` 15 µs against 39 µs).
    """
    total = 0
    for name in _KERNEL_MODULES:
        module = sys.modules.get(name)
        for value in vars(module).values() if module is not None else ():
            overloads = getattr(value, "overloads", None)
            if isinstance(overloads, dict):
                total += len(overloads)
    return total


_KERNEL_MODULES = tuple(
    f"{__package__}.{name}"
    for name in ("numba_cols", "numba_dense", "numba_place", "numba_right", "numba_stp")
)


def clear():
    """Forget every plan and prepared call (tests, benchmarks that compare first calls)."""
    from . import fastpath

    with _lock:
        _plans.clear()
    fastpath.clear()
