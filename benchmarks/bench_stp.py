"""Left and right STP: semitensor against the Kronecker definition and two floors.

For every shape the script times, in one run, on the same inputs and interleaved
(one call of each candidate per round, the least time over the rounds):

* ``st``: ``semitensor.stp(A, B, side=...)``;
* ``naive``: the definition, forming ``A ⊗ I_a`` and ``B ⊗ I_b`` (or ``I ⊗ X``) and
  multiplying (TensorLy has no STP; its ``tenalg.kronecker`` route is this one);
* ``gemm``: one plain GEMM ``(m × K) @ (K × q)`` (stacked like the inputs) whose flop
  count is the minimum of SPEC §1: ``K = g·(a+b−1)`` for the left STP, ``K = t``
  for the right STP;
* ``fill``: allocating and filling an array the size of the output;
* ``read``: summing both inputs (a read of every input entry; not in the issue's
  floor, see below).

It prints ``naive/st`` (speed-up over the definition), ``st/floor`` (slowdown against
the larger floor) and ``gemm/st`` (fraction of GEMM speed). The issue's floor is
``max(gemm, fill)``; where the inputs are much larger than the output and the GEMM
operands are replaced by square ones of the same flops (``49×9361×101 @ 49×101×3``
reads 370 MB for an 11 MB output), it is not a lower bound on any algorithm, so the
sweep also reports ``st/floor`` against ``max(gemm, fill, read)`` next to it. Modes::

    python benchmarks/bench_stp.py [--backend numpy|torch] [--threads N] [--markdown]
    python benchmarks/bench_stp.py --sweep 500 [--seed 0] [--backend ...] [--threads N]
    python benchmarks/bench_stp.py --tiny      # per-call cost of tiny products
    python benchmarks/bench_stp.py --sweep-numba   # the tiny-stack kernel's crossover
    python benchmarks/bench_stp.py --first-calls [--sweep N]   # the cost of planning

``--sweep N`` draws N shapes (seeded): the four divisibility classes in turn, both
sides, inner sizes 1-4000 (general case: g ≤ 48 and coprime a, b in 2..63), outputs
0.2-40 MB, a quarter of them stacks of 2-4096 products, and prints per class the
worst and median of ``naive/st`` and ``st/floor``. Where the naive route's flops at
the machine's peak GEMM rate already exceed 20× semitensor's time, it is not run and
its ratio is that lower bound (marked ``≥``). Shapes that come out slower than
naive or over 2× the floor are measured again for 5× as long (same inputs) and keep
the least times: on a shared machine a short run only ever errs upwards.
``--threads`` limits BLAS, numba and torch threads (threadpoolctl,
numba.set_num_threads, torch.set_num_threads).

``st`` is timed after one warm-up call, which for a product of 4096 to 2²³ output
entries is the shape's first and plans it (`semitensor._kernels.planner` times the
candidate kernels and keeps the fastest); the rounds time the planned kernel, as a fit
or a chain that repeats the shape sees it. ``--first-calls`` prints, per class, what
the planning call costs against a planned call.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import numpy as np

import semitensor

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


def interleaved(cands, seconds, min_rounds=3, max_rounds=25):
    """Least time (s) of each candidate, one call of each per round (warm-up first).

    The least of interleaved rounds: on a shared machine other processes only ever
    add time, and interleaving exposes every candidate to the same load.
    """
    for f in cands.values():
        f()
    times = {k: [] for k in cands}
    start = time.perf_counter()
    while True:
        for k, f in cands.items():
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


def named_table(be, seconds, markdown):
    rng = np.random.default_rng(0)
    rows = []
    for sa, sb, batch in SHAPES:
        case = CLASSES[_class_index(sa[1], sb[0])]
        for side in ("left", "right"):
            t, _, out_mb = measure(be, rng, batch + sa, batch + sb, side, seconds)
            floor = max(t["gemm"], t["fill"])
            rows.append(
                ["x".join(map(str, sa)), "x".join(map(str, sb)), "x".join(map(str, batch)) or "-"]
                + [side, case]
                + [f"{t[k]:.3f}" for k in ("st", "naive", "gemm", "fill")]
                + [f"{t['naive'] / t['st']:.1f}", f"{t['st'] / floor:.2f}"]
                + [f"{t['gemm'] / t['st']:.2f}", f"{out_mb:.1f}"]
            )
    header = ["A", "B", "batch", "side", "case", "st ms", "naive ms", "gemm ms", "fill ms"]
    header += ["naive/st", "st/floor", "gemm/st", "out MB"]
    print_table(header, rows, markdown)


def _class_index(n, p):
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


def peak_flops(be):
    X = be.rand(np.random.default_rng(1), (1024, 1024))
    t = interleaved({"g": be.wrap(lambda: X @ X)}, 0.2)["g"]
    return 2 * 1024**3 / t


def sweep(be, count, seed, seconds, markdown, records=None):
    peak = peak_flops(be)
    rng = np.random.default_rng(seed + 1)
    recs = []
    for cls, side, sa, sb in sweep_shapes(count, seed):
        state = rng.bit_generator.state
        t, bound, out_mb = measure(be, rng, sa, sb, side, seconds, peak)
        floor = max(t["gemm"], t["fill"])
        if t["naive"] < 1.1 * t["st"] or t["st"] > 2 * floor:
            # a near miss: measure again, longer (same inputs), and keep the least
            rng.bit_generator.state = state
            t2, bound, _ = measure(be, rng, sa, sb, side, 5 * seconds, peak)
            t = {k: min(t[k], t2[k]) for k in t}
            floor = max(t["gemm"], t["fill"])
        recs.append((cls, side, t["naive"] / t["st"], t["st"] / floor, t["gemm"] / t["st"], bound))
        recs[-1] += (out_mb, (sa, sb), t["st"] / max(floor, t["read"]), t)
    rows = []
    for cls in CLASSES:
        for side in ("left", "right"):
            sel = [r for r in recs if r[0] == cls and r[1] == side]
            if not sel:
                continue
            ns, fl = [r[2] for r in sel], [r[3] for r in sel]
            worst = min(sel, key=lambda r: r[2])
            rows.append(
                [cls, side, str(len(sel))]
                + [("≥" if worst[5] else "") + f"{worst[2]:.2f}", f"{statistics.median(ns):.1f}"]
                + [f"{statistics.median(fl):.2f}", f"{max(fl):.2f}"]
                + [str(sum(f > 2 for f in fl)), str(sum(f > 3 for f in fl))]
            )
    header = ["class", "side", "shapes", "worst naive/st", "median naive/st"]
    header += ["median st/floor", "worst st/floor", "> 2x", "> 3x"]
    print_table(header, rows, markdown)
    if records:
        with open(records, "w") as fh:
            json.dump(recs, fh)  # tuples become lists: the same records, field for field
    fl = [r[3] for r in recs]
    fr = [r[8] for r in recs]
    div = [r[4] for r in recs if r[0] != "general" and r[6] <= 8 and be.dtype == "float64"]
    print(
        f"\n{len(recs)} shapes: {sum(r[2] < 1 for r in recs)} slower than naive; "
        f"{100 * sum(f <= 2 for f in fl) / len(fl):.1f}% within 2x of the floor, "
        f"{100 * sum(f <= 3 for f in fl) / len(fl):.1f}% within 3x; divisible float64 "
        f"outputs <= 8 MB: {sum(d >= 0.6 for d in div)}/{len(div)} at >= 60% of GEMM "
        f"(worst {min(div, default=float('nan')):.2f})"
    )
    print(
        f"against max(gemm, fill, read): {100 * sum(f <= 2 for f in fr) / len(fr):.1f}% "
        f"within 2x, {100 * sum(f <= 3 for f in fr) / len(fr):.1f}% within 3x, "
        f"worst {max(fr):.2f}"
    )
    print("worst shapes (st/floor):")
    for r in sorted(recs, key=lambda r: -r[3])[:8]:
        print(
            f"  {r[0]:8} {r[1]:5} {r[7][0]} x {r[7][1]}: st/floor {r[3]:.2f}, "
            f"naive/st {r[2]:.2f}, {r[6]:.1f} MB"
        )
    for r in sorted(recs, key=lambda r: r[2])[:4]:
        print(f"  slowest vs naive: {r[0]} {r[1]} {r[7][0]} x {r[7][1]}: naive/st {r[2]:.2f}")


def first_calls(be, count, seed, markdown):
    """Per class: the planning (first) call of a shape against its planned calls.

    Each shape runs once before, so that numba's one-off loading of a kernel (0.1-1 s
    per kernel and dtype, from its on-disk cache) is not counted as planning.
    """
    from semitensor._kernels import planner

    rng = np.random.default_rng(seed + 1)
    recs = []
    for cls, side, sa, sb in sweep_shapes(count, seed):
        A, B = be.rand(rng, sa), be.rand(rng, sb)
        f = be.wrap(lambda: semitensor.stp(A, B, side=side))
        f()  # loads (or compiles) the kernels it tries: once per process, not per shape
        planner.clear()
        t0 = time.perf_counter()
        f()
        first = time.perf_counter() - t0
        planned = interleaved({"st": f}, 0.02)["st"]
        recs.append((cls, side, first / planned, first * 1e3))
    rows = []
    for cls in CLASSES:
        for side in ("left", "right"):
            sel = [r for r in recs if r[0] == cls and r[1] == side]
            if sel:
                ratios = [r[2] for r in sel]
                rows.append([cls, side, str(len(sel)), f"{statistics.median(ratios):.1f}"])
                rows[-1] += [f"{max(ratios):.1f}", f"{max(r[3] for r in sel):.1f}"]
    header = ["class", "side", "shapes", "median first/planned", "worst", "slowest first ms"]
    print_table(header, rows, markdown)


TINY = [((2, 4), (4, 1)), ((2, 4096), (2, 1)), ((4, 16), (2, 1)), ((2, 4), (2, 1), (2, 1))]


def tiny(markdown):
    """Per-call time of tiny products against numpy's own GEMM of the same sizes."""
    import timeit

    rng = np.random.default_rng(0)
    rows = []
    for shapes in TINY:
        ops = [rng.standard_normal(s) for s in shapes]
        A = ops[0]
        ref = rng.standard_normal((A.shape[1], 1))  # A @ (n×1): numpy's own GEMM on A

        def per_call(f):
            return min(timeit.repeat(f, number=2000, repeat=7)) / 2000 * 1e6

        t_np = per_call(lambda: A @ ref)
        for side in ("left", "right"):
            t = per_call(lambda: semitensor.stp(*ops, side=side))
            rows.append([" ⋉ ".join("x".join(map(str, s)) for s in shapes), side])
            rows[-1] += [f"{t:.2f}", f"{t_np:.2f}", f"{t / t_np:.1f}"]
    print_table(["product", "side", "st us", "A @ B us", "st / (A @ B)"], rows, markdown)


def sweep_numba(seconds, markdown):
    """Tiny-stack kernel against the row kernels and the array-API route."""
    import array_api_compat

    from semitensor._kernels import generic, numba_stp, route

    xp = array_api_compat.array_namespace(np.empty(0))
    rng = np.random.default_rng(0)
    rows = []
    for count, sa, sb in [(10000, (3, 4), (2, 5)), (10000, (4, 4), (2, 2)), (4096, (4, 6), (4, 4))]:
        A, B = rng.standard_normal((count,) + sa), rng.standard_normal((count,) + sb)
        for side in ("left", "right"):
            kernel = generic.stp_left if side == "left" else generic.stp_right
            t = interleaved(
                {
                    "api": lambda: kernel(xp, A, B),
                    "stack": lambda: numba_stp.stp_stack(A, B, side),
                    "st": lambda: semitensor.stp(A, B, side=side),
                },
                seconds,
            )
            rows.append([str(count), "x".join(map(str, sa)), "x".join(map(str, sb)), side])
            rows[-1] += [f"{t[k] * 1e3:.3f}" for k in ("api", "stack", "st")]
            rows[-1].append(route.choose(A.shape, B.shape, count, side))
    header = ["batch", "A", "B", "side", "array-API ms", "stack kernel ms", "stp ms", "route"]
    print_table(header, rows, markdown)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="numpy", choices=["numpy", "torch"])
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--repeat-seconds", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=None, help="BLAS/numba/torch threads")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--sweep", type=int, default=0, metavar="N", help="random sweep of N shapes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--records", metavar="PATH", help="--sweep: write per-shape JSON")
    ap.add_argument("--tiny", action="store_true", help="per-call cost of tiny products")
    ap.add_argument("--sweep-numba", action="store_true", help="tiny-stack kernel table")
    ap.add_argument("--first-calls", action="store_true", help="planning call vs planned")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.threads):
        if args.threads is not None:
            import numba

            numba.set_num_threads(args.threads)
            if args.backend == "torch":
                import torch

                torch.set_num_threads(args.threads)
        be = Backend(args.backend, args.dtype)
        if args.tiny:
            tiny(args.markdown)
        elif args.sweep_numba:
            sweep_numba(args.repeat_seconds, args.markdown)
        elif args.first_calls:
            first_calls(be, args.sweep or 100, args.seed, args.markdown)
        elif args.sweep:
            sweep(be, args.sweep, args.seed, args.repeat_seconds, args.markdown, args.records)
        else:
            named_table(be, args.repeat_seconds, args.markdown)
    print(
        f"\nbackend={args.backend} ({be.dev}) dtype={args.dtype} "
        f"threads={args.threads or 'default'}; least of interleaved rounds; "
        "floor = max(gemm, fill)"
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
