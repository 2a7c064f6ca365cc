"""Left and right STP: semitensor against the Kronecker definition and two floors.

For every shape the script times, in one run and on the same inputs:

* ``semitensor``: ``semitensor.stp(A, B, side=...)``;
* ``naive``: the definition, forming ``A ⊗ I_a`` and ``B ⊗ I_b`` (or ``I ⊗ X``) and
  multiplying (TensorLy has no STP; its ``tenalg.kronecker`` route is this one);
* ``gemm``: one plain GEMM ``(m × K) @ (K × q)`` (stacked like the inputs) whose flop
  count is the minimum of SPEC §1: ``K = g·(a+b−1)`` for the left STP, ``K = t``
  for the right STP;
* ``fill``: allocating and filling an array the size of the output.

It prints median times and the ratios ``naive/st`` (speed-up over the definition),
``st/floor`` (slowdown against the larger floor) and ``gemm/st`` (fraction of GEMM
speed). ``--sweep-numba`` prints instead the table behind the numba policy: the compiled
kernel against the array-API kernels on stacks of small products. Usage::

    python benchmarks/bench_stp.py [--backend numpy|torch] [--dtype float64|float32]
        [--repeat-seconds 0.3] [--markdown] [--sweep-numba]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

import semitensor

# (A shape, B shape, batch shape), as listed in the foundation issue.
SHAPES = [
    ((256, 512), (128, 256), ()),
    ((1024, 64), (16, 1024), ()),
    ((512, 32), (512, 256), ()),
    ((300, 6), (4, 500), ()),
    ((512, 96), (64, 512), ()),
    ((4, 4), (2, 2), (10000,)),
    ((16, 12), (8, 16), (2048,)),
]


def median_time(fn, seconds):
    fn()  # warm-up (numba compilation, caches)
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < seconds and len(times) < 200):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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


# Stacks of small products for the numba crossover table (batch, A shape, B shape).
SWEEP = [
    (10000, (3, 4), (2, 5)),
    (10000, (2, 3), (2, 2)),
    (10000, (4, 4), (2, 2)),
    (4096, (4, 6), (4, 4)),
    (2048, (8, 6), (4, 8)),
    (2048, (16, 12), (8, 16)),
    (1000, (8, 8), (4, 4)),
    (500, (16, 16), (8, 8)),
    (1000, (2, 2), (4, 4)),
]


def sweep_numba(repeat_seconds, markdown):
    """numba kernel against the array-API kernels on stacks of small products."""
    import array_api_compat

    from semitensor._kernels import generic, numba_policy, numba_stp

    xp = array_api_compat.array_namespace(np.empty(0))
    rng = np.random.default_rng(0)
    rows = []
    for count, sa, sb in SWEEP:
        A = rng.standard_normal((count,) + sa)
        B = rng.standard_normal((count,) + sb)
        m, n = sa
        p, q = sb
        g = math.gcd(n, p)
        a, b = p // g, n // g
        for side in ("left", "right"):
            kernel = generic.stp_left if side == "left" else generic.stp_right
            t_gen = median_time(lambda: kernel(xp, A, B), repeat_seconds) * 1e3
            t_nb = median_time(lambda: numba_stp.stp_stack(A, B, side), repeat_seconds) * 1e3
            rows.append(
                [
                    str(count),
                    "x".join(map(str, sa)),
                    "x".join(map(str, sb)),
                    side,
                    str(m * a * q * b * g),
                    f"{t_gen:.3f}",
                    f"{t_nb:.3f}",
                    f"{t_gen / t_nb:.2f}",
                    "numba" if numba_policy.applies(A, B, side) else "array-API",
                ]
            )
    header = [
        "batch",
        "A",
        "B",
        "side",
        "work",
        "array-API ms",
        "numba ms",
        "speed-up",
        "policy picks",
    ]
    print_table(header, rows, markdown)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="numpy", choices=["numpy", "torch"])
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--repeat-seconds", type=float, default=0.3)
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument(
        "--sweep-numba", action="store_true", help="print the numba crossover table instead"
    )
    args = ap.parse_args(argv)
    if args.sweep_numba:
        sweep_numba(args.repeat_seconds, args.markdown)
        return

    if args.backend == "torch":
        import torch

        xp = torch
        dev = "cuda" if torch.cuda.is_available() else "cpu"

        def conv(x):
            return torch.as_tensor(x, device=dev)

        def sync():
            if dev == "cuda":
                torch.cuda.synchronize()
    else:
        xp = np

        def conv(x):
            return x

        def sync():
            pass

    rng = np.random.default_rng(0)
    header = [
        "A",
        "B",
        "batch",
        "side",
        "case",
        "st ms",
        "naive ms",
        "gemm ms",
        "fill ms",
        "naive/st",
        "st/floor",
        "gemm/st",
        "out MB",
    ]
    rows = []
    for sa, sb, batch in SHAPES:
        A = conv(rng.standard_normal(batch + sa).astype(args.dtype))
        B = conv(rng.standard_normal(batch + sb).astype(args.dtype))
        m, n = sa
        p, q = sb
        g = math.gcd(n, p)
        a, b = p // g, n // g
        om, oq = semitensor.stp_shape(sa, sb)
        itemsize = np.dtype(args.dtype).itemsize
        out_mb = math.prod(batch) * om * oq * itemsize / 1e6
        case = "n=p" if n == p else "p|n" if a == 1 else "n|p" if b == 1 else "general"
        for side in ("left", "right"):
            K = g * (a + b - 1) if side == "left" else g * a * b
            G1 = conv(rng.standard_normal(batch + (m, K)).astype(args.dtype))
            G2 = conv(rng.standard_normal(batch + (K, q)).astype(args.dtype))

            def run(f):
                def timed():
                    f()
                    sync()

                return median_time(timed, args.repeat_seconds) * 1e3

            t_st = run(lambda: semitensor.stp(A, B, side=side))
            t_naive = run(lambda: naive(xp, A, B, side))
            t_gemm = run(lambda: G1 @ G2)
            if args.backend == "torch":
                t_fill = run(lambda: torch.ones(batch + (om, oq), dtype=A.dtype, device=dev))
            else:
                t_fill = run(lambda: np.ones(batch + (om, oq), dtype=args.dtype))
            floor = max(t_gemm, t_fill)
            rows.append(
                [
                    "x".join(map(str, sa)),
                    "x".join(map(str, sb)),
                    "x".join(map(str, batch)) or "-",
                    side,
                    case,
                    f"{t_st:.3f}",
                    f"{t_naive:.3f}",
                    f"{t_gemm:.3f}",
                    f"{t_fill:.3f}",
                    f"{t_naive / t_st:.1f}",
                    f"{t_st / floor:.2f}",
                    f"{t_gemm / t_st:.2f}",
                    f"{out_mb:.1f}",
                ]
            )
    print_table(header, rows, args.markdown)
    print(
        f"\nbackend={args.backend} dtype={args.dtype}; times are medians; floor = max(gemm, fill)"
    )


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


if __name__ == "__main__":
    main()
