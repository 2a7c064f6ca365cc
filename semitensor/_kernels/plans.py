"""Index plans of the two-operand STP: O(a+b) each, cached only while small.

Notation of SPEC §1 (``g = gcd(n, p)``, ``a = p/g``, ``b = n/g``). A plan depends on
the inner sizes only; it is cheap to rebuild (microseconds), so the caches exist for
the many repeated small products of a chain or a fit, and skip large plans: a plan
of ``a+b`` entries is at most ``_CACHED_MAX`` long, which bounds each cache below
``maxsize · 2 · _CACHED_MAX · 8`` bytes (8 MB). Before, ``a·b`` tables and
``a·b·q`` gather indices were cached, which grew a process to gigabytes (issue 17).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["left_blocks", "left_positions", "right_blocks", "batch_shape", "out_shape"]

_CACHED_MAX = 1024


def left_blocks(a, b):
    """Distinct blocks ``d = 0 … a+b−2`` of the general left STP.

    With ``s = k'·a + α = l'·b + β`` (``0 <= s < ab``) the output position ``(α, β)``
    holds the ``m×q`` block ``Σ_c A[:, c·b+k'] B[c·a+l', :]``. A new pair ``(k', l')``
    starts exactly where ``a`` or ``b`` divides ``s`` (never both below ``ab``), so
    block ``d`` starts at the ``d``-th such ``s`` and ``d(s) = s//a + s//b``.
    Returns ``(kidx, lidx)``: int64 arrays of ``k'`` and ``l'`` per block.
    """
    if a + b <= _CACHED_MAX:
        return _left_blocks_cached(a, b)
    return _left_blocks(a, b)


def _left_blocks(a, b):
    starts = np.sort(np.concatenate([[0], a * np.arange(1, b), b * np.arange(1, a)]))
    kidx, lidx = starts // a, starts // b
    kidx.setflags(write=False)
    lidx.setflags(write=False)
    return kidx, lidx


_left_blocks_cached = lru_cache(maxsize=256)(_left_blocks)


def left_positions(a, b):
    """Output positions ``(α, β)`` of each block, in block order (``a·b`` of them).

    Returns ``(alpha, beta, start)``: block ``d`` occupies positions
    ``start[d] <= s < start[d+1]`` with ``α = s mod a``, ``β = s mod b``. Built on
    demand (``O(a·b)``) for the array-API route only, never cached.
    """
    s = np.arange(a * b)
    starts = np.sort(np.concatenate([[0], a * np.arange(1, b), b * np.arange(1, a), [a * b]]))
    return s % a, s % b, starts


def right_blocks(n, p):
    """Non-empty blocks ``(α, β, lo, hi)`` of the right STP: overlaps of the partitions.

    Block ``(α, β)`` of ``(I_a⊗A)(I_b⊗B)`` is ``A[:, lo−αn : hi−αn] @ B[lo−βp : hi−βp, :]``
    over the overlap ``[lo, hi)`` of ``[αn, αn+n)`` and ``[βp, βp+p)``; ``a+b−1`` of
    them are non-empty and their lengths sum to ``t``.
    """
    g = math.gcd(n, p)
    if (n + p) // g <= _CACHED_MAX:
        return _right_blocks_cached(n, p)
    return _right_blocks(n, p)


def _right_blocks(n, p):
    t = math.lcm(n, p)
    bounds = sorted(set(range(0, t + 1, n)) | set(range(0, t + 1, p)))
    blocks = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        blocks.append((lo // n, lo // p, lo, hi))
    return tuple(blocks)


_right_blocks_cached = lru_cache(maxsize=256)(_right_blocks)


def batch_shape(ba, bb):
    """Broadcast of two batch shapes, the common cases without numpy's routine.

    ``np.broadcast_shapes`` costs microseconds, and a product needs it several times.
    """
    ba, bb = tuple(ba), tuple(bb)
    if ba == bb or not bb:
        return ba
    if not ba:
        return bb
    return tuple(np.broadcast_shapes(ba, bb))


def out_shape(m, n, p, q):
    """``(m·a, q·b)``: the shape of the STP of an ``m×n`` and a ``p×q`` matrix."""
    g = math.gcd(n, p)
    return m * (p // g), q * (n // g)
