"""Timing helpers of ``bench_stp.py``: interleaved rounds, the candidates, the table."""

from __future__ import annotations

import math
import time

import numpy as np

import semitensor

# ``--rotate``: start round r at candidate r (mod their number). In the fixed order
# ``st`` always runs right after ``naive``, whose large temporaries evict the caches
# and go back to the OS, so only ``st`` is ever timed cold: 3×78 ⋉ 98×4 took 92 µs
# there against 17 µs after another candidate (fill: 25 µs, and 6 µs without naive).
ROTATE = False


def interleaved(cands, seconds, min_rounds=3, max_rounds=25):
    """Least time (s) of each candidate, one call of each per round (warm-up first).

    The least of interleaved rounds: on a shared machine other processes only ever
    add time, and interleaving exposes every candidate to the same load.
    """
    for f in cands.values():
        f()
    times = {k: [] for k in cands}
    items = list(cands.items())
    start = time.perf_counter()
    while True:
        shift = len(times[items[0][0]]) % len(items) if ROTATE else 0
        for k, f in items[shift:] + items[:shift]:
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
        n = len(times[next(iter(times))])
        if n >= max_rounds or (n >= min_rounds and time.perf_counter() - start > seconds):
            break
    return {k: min(v) for k, v in times.items()}


def naive(xp, A, B, side):
    """The Kronecker definition, batched by broadcasting an identity (the oracle)."""
    n, p = A.shape[-1], B.shape[-2]
    t = math.lcm(n, p)

    def lift(X, k):
        eye = xp.eye(k, dtype=X.dtype)
        if xp is not np:
            eye = eye.to(X.device)
        r, c = X.shape[-2:]
        if side == "left":  # X ⊗ I_k
            big = X[..., :, None, :, None] * eye[:, None, :]
        else:  # I_k ⊗ X
            big = eye[:, None, :, None] * X[..., None, :, None, :]
        return xp.reshape(big, X.shape[:-2] + (r * k, c * k))

    return lift(A, t // n) @ lift(B, t // p)


class Backend:
    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype
        if name == "torch":
            import torch

            self.xp, self.dev = torch, ("cuda" if torch.cuda.is_available() else "cpu")
        else:
            self.xp, self.dev = np, "cpu"

    def rand(self, rng, shape):
        x = rng.standard_normal(shape).astype(self.dtype)
        return x if self.name == "numpy" else self.xp.as_tensor(x, device=self.dev)

    def ones(self, shape):
        if self.name == "numpy":
            return np.ones(shape, dtype=self.dtype)
        return self.xp.ones(shape, dtype=getattr(self.xp, self.dtype), device=self.dev)

    def wrap(self, f):
        if self.dev != "cuda":
            return f
        return lambda: (f(), self.xp.cuda.synchronize())


def measure(be, rng, sa, sb, side, seconds, peak=None):
    """Times (ms) of st, gemm, fill and naive for one shape, plus shape facts."""
    batch = sa[:-2] if len(sa) > len(sb) else sb[:-2]
    m, n = sa[-2:]
    p, q = sb[-2:]
    g = math.gcd(n, p)
    a, b = p // g, n // g
    A, B = be.rand(rng, sa), be.rand(rng, sb)
    K = g * (a + b - 1) if side == "left" else g * a * b
    count = math.prod(batch)
    if 8 * count * K * (m + q) > 2.5e8:  # keep the GEMM operands small: same flops, square
        s = max(1, round((count * m * q * K) ** (1 / 3)))
        G1, G2 = be.rand(rng, (s, s)), be.rand(rng, (s, s))
    else:
        G1, G2 = be.rand(rng, batch + (m, K)), be.rand(rng, batch + (K, q))
    out_shape = batch + semitensor.stp_shape((m, n), (p, q))
    cands = {
        "st": be.wrap(lambda: semitensor.stp(A, B, side=side)),
        "gemm": be.wrap(lambda: G1 @ G2),
        "fill": be.wrap(lambda: be.ones(out_shape)),
        "read": be.wrap(lambda: (A.sum(), B.sum())),
    }
    bound = False
    if peak is not None:
        t_naive_lb = 2.0 * count * m * a * q * b * g * a * b / peak
        st_once = interleaved({"st": cands["st"]}, 0, min_rounds=1)["st"]
        bound = t_naive_lb > 20 * st_once
    if not bound:
        cands["naive"] = be.wrap(lambda: naive(be.xp, A, B, side))
    res = interleaved(cands, seconds)
    if bound:
        res["naive"] = t_naive_lb
    out_mb = count * math.prod(out_shape[-2:]) * np.dtype(be.dtype).itemsize / 1e6
    return {k: v * 1e3 for k, v in res.items()}, bound, out_mb


def peak_flops(be):
    X = be.rand(np.random.default_rng(1), (1024, 1024))
    t = interleaved({"g": be.wrap(lambda: X @ X)}, 0.2)["g"]
    return 2 * 1024**3 / t


def print_table(header, rows, markdown=False):
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    if markdown:
        print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for r in rows:
            print("| " + " | ".join(str(c).rjust(w) for c, w in zip(r, widths)) + " |")
    else:
        print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
        for r in rows:
            print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
