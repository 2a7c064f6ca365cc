"""Shapes of ``bench_stp.py``: the named table and the seeded random sweep."""

from __future__ import annotations

import math

import numpy as np

# (A shape, B shape, batch shape), as listed in the foundation issue and issue 16.
SHAPES = [
    ((256, 512), (128, 256), ()),
    ((1024, 64), (16, 1024), ()),
    ((512, 32), (512, 256), ()),
    ((300, 6), (4, 500), ()),
    ((512, 96), (64, 512), ()),
    ((200, 20), (15, 300), ()),
    ((384, 768), (192, 384), ()),
    ((41, 13), (3, 44), ()),
    ((4, 4), (2, 2), (10000,)),
    ((16, 12), (8, 16), (2048,)),
]
CLASSES = ["n=p", "p|n", "n|p", "general"]

TINY = [((2, 4), (4, 1)), ((2, 4096), (2, 1)), ((4, 16), (2, 1)), ((2, 4), (2, 1), (2, 1))]


def class_index(n, p):
    return 0 if n == p else 1 if n % p == 0 else 2 if p % n == 0 else 3


def sweep_shapes(count, seed=0):
    """``count`` seeded shapes ``(class, side, A shape, B shape)``; see the module doc."""
    rng = np.random.default_rng(seed)
    shapes = []
    while len(shapes) < count:
        cls = CLASSES[len(shapes) % 4]
        side = "left" if (len(shapes) // 4) % 2 == 0 else "right"
        if cls == "general":
            g = int(np.exp(rng.uniform(0, math.log(48))))
            a, b = 1, 1
            while math.gcd(a, b) != 1 or a == 1 or b == 1:
                a, b = (int(x) for x in rng.integers(2, 64, 2))
            n, p = g * b, g * a
        else:
            x = int(np.exp(rng.uniform(0, math.log(2000))))
            k = int(rng.integers(2, 65))
            n, p = {"n=p": (x, x), "p|n": (x * k, x), "n|p": (x, x * k)}[cls]
            if max(n, p) > 4000:
                continue
        g = math.gcd(n, p)
        a, b = p // g, n // g
        batch = ()
        if rng.random() < 0.25:
            batch = (int(np.exp(rng.uniform(math.log(2), math.log(4096)))),)
        per = math.exp(rng.uniform(math.log(2e5), math.log(4e7))) / 8 / math.prod(batch) / (a * b)
        if per < 1:
            continue
        m = max(1, min(int(np.exp(rng.uniform(0, math.log(per)))), 20000))
        q = max(1, min(int(per / m), 20000))
        size = math.prod(batch)
        if 8 * size * g * a * b * (m * a + q * b) > 3e9 or 8 * size * (m * n + p * q) > 4e8:
            continue  # the naive route's lifted operands, or the inputs, would not fit
        bb = batch if rng.random() < 0.7 else ()
        shapes.append((cls, side, batch + (m, n), bb + (p, q)))
    return shapes
