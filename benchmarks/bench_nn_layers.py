"""STP layers against their classical twins and the dense layer: time, memory, path.

For a square layer of ``--size`` features (``(s, s) × (s, s)``, ``s = √size``), each
format (STT, STR, STTu at ``t = 2``) and its classical twin (``t = 1``: TT, TR,
Tucker) get the uniform rank whose parameter count is closest to ``size²/ratio``, for
each compression ``ratio``. For each layer: forward+backward seconds at ``--batch``
rows through the cores, through the rebuilt dense weight, and through the path that
``forward_path="auto"`` picks (shown), against `torch.nn.Linear`; and the seconds to
build the layer (the construction used to materialise a ``ρ0 × N × ρ0`` tensor for
ring layers).

Method: best of 3 repeats of ``--iters`` calls, ``time.perf_counter``; torch threads
set to ``--threads`` (default 1: the machine is small and shared). The result table
is written to ``benchmarks/results/nn_layers.md``. Run
``python benchmarks/bench_nn_layers.py [--size 1024] [--batch 256] [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

from semitensor.nn import STRLinear, STTLinear, STTuLinear

FORMATS = [
    ("STT t=2", STTLinear, 2),
    ("TT (STT t=1)", STTLinear, 1),
    ("STR t=2", STRLinear, 2),
    ("TR (STR t=1)", STRLinear, 1),
    ("STTu t=2", STTuLinear, 2),
    ("Tucker (t=1)", STTuLinear, 1),
]


def rank_for(cls, t, shape, target):
    """The uniform rank (a multiple of t) whose layer has the parameter count nearest target."""
    best = None
    for r in range(t, 4097, t):
        try:
            layer = cls(*shape, r, t, device="meta")
        except ValueError:
            break
        gap = abs(math.log(layer.n_params / target))
        if best is None or gap < best[0]:
            best = (gap, r)
        if layer.n_params > 4 * target:
            break
    return None if best is None else best[1]


def fwd_bwd(layer, x, iters, path=None):
    def once():
        y = layer(x) if path is None else layer(x, path=path)
        y.sum().backward()

    once()
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(iters):
            once()
        best = min(best, (time.perf_counter() - t0) / iters)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ratios", default="8,64")
    parser.add_argument("--quick", action="store_true", help="ratio 8 only, 1 iteration")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "nn_layers.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    s = math.isqrt(args.size)
    if s * s != args.size:
        raise SystemExit("--size must be a perfect square")
    ratios = [8] if args.quick else [int(r) for r in args.ratios.split(",")]
    iters = 1 if args.quick else args.iters
    shape = (args.size, args.size, (s, s), (s, s))
    x = torch.randn(args.batch, args.size)
    dense = torch.nn.Linear(args.size, args.size)
    t_dense = fwd_bwd(dense, x, iters)
    lines = [
        f"# STP layers, {args.size}x{args.size}, batch {args.batch}, "
        f"{args.threads} thread(s), forward+backward ms\n",
        f"torch.nn.Linear: {1e3 * t_dense:.2f} ms, {args.size * (args.size + 1)} parameters\n",
        "| ratio | layer | rank | params | build ms | cores ms | dense ms | auto picks "
        "| auto ms | auto / nn.Linear |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for ratio in ratios:
        target = args.size * args.size / ratio
        for name, cls, t in FORMATS:
            r = rank_for(cls, t, shape, target)
            if r is None:
                continue
            t0 = time.perf_counter()
            layer = cls(*shape, r, t)
            build = time.perf_counter() - t0
            t_cores = fwd_bwd(layer, x, iters, "cores")
            t_dn = fwd_bwd(layer, x, iters, "dense")
            pick = layer.path_for(args.batch)
            t_auto = t_cores if pick == "cores" else t_dn
            row = (
                f"| {ratio} | {name} | {r} | {layer.n_params} | {1e3 * build:.1f} | "
                f"{1e3 * t_cores:.2f} | {1e3 * t_dn:.2f} | {pick} | {1e3 * t_auto:.2f} | "
                f"{t_auto / t_dense:.2f} |"
            )
            lines.append(row)
            print(row, flush=True)
    if not args.quick:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
