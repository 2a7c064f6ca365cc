"""STP layers against their classical twins and the dense layer: time, path, calibration.

For a square layer of ``--size`` features (``(s, s) × (s, s)``, ``s = √size``), each
format (STT, STR, STTu at ``t = 2``) and its classical twin (``t = 1``: TT, TR,
Tucker) get the uniform rank whose parameter count is closest to ``size²/ratio``, for
each compression ``ratio``. For each layer: forward+backward milliseconds at
``--batch`` rows (the input needs its gradient, as inside a network) through the
cores, through the rebuilt dense weight, and through the path ``forward_path="auto"``
picks, against `torch.nn.Linear`; the ratios to `torch.nn.Linear` and to the twin; the
milliseconds to build the layer. The ``before`` columns time, in the same race, the
cores path and the ``auto`` choice as they were before the GEMM chain of
`semitensor.nn._gemm_chain` (inputs-first through autograd at every batch). ``--conv``
adds `STPConv2d` against `torch.nn.Conv2d`.

Method: the machine is small and shared, so the calls of one row (nn.Linear, cores,
dense) run interleaved, round-robin, ``--repeats`` times, and each keeps its fastest
call: the ratios of a row are measured under the same load. Torch threads are set to
``--threads`` (default 1). ``--calibrate 16,64,256,1024`` times both paths of every
layer at those batch sizes and searches the two constants of the cost model
(`semitensor.nn._contract.WRITE_COST`, ``GEMM_KNEE``) for the pair whose choice
loses least against the faster path (worst case, then mean). Results go to
``benchmarks/results/nn_layers.md`` (``--out``). Run
``python benchmarks/bench_nn_layers.py [--size 1024] [--batch 256] [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from semitensor.nn import STPConv2d, STRLinear, STTLinear, STTuLinear, _contract

# Each twin (t = 1) before its STP format, so that the ratio to the twin is known.
FORMATS = [
    ("TT (STT t=1)", STTLinear, 1, "stt"),
    ("STT t=2", STTLinear, 2, "stt"),
    ("TR (STR t=1)", STRLinear, 1, "str"),
    ("STR t=2", STRLinear, 2, "str"),
    ("Tucker (t=1)", STTuLinear, 1, "sttu"),
    ("STTu t=2", STTuLinear, 2, "sttu"),
]
# A cores call this many times slower than the dense one is not repeated, and one the
# cost model rates MODEL_SKIP times dearer is not run in the calibration (a TR of rank
# 32 at batch 1024 would hold 268 M entries).
HOPELESS = 20.0
MODEL_SKIP = 20.0


def rank_for(make, t, target):
    """The uniform rank (a multiple of t) whose layer has the parameter count nearest target."""
    best = None
    for r in range(t, 4097, t):
        try:
            layer = make(r)
        except ValueError:
            break
        gap = abs(math.log(layer.n_params / target))
        if best is None or gap < best[0]:
            best = (gap, r)
        if layer.n_params > 4 * target:
            break
    return None if best is None else best[1]


def step(module, x, **kw):
    """One forward+backward call (a closure)."""

    def once():
        module(x, **kw).sum().backward()

    return once


@contextmanager
def autograd_chain():
    """The cores path as before the GEMM chain: inputs-first through autograd only."""
    saved = _contract.CHAIN_MIN_ROWS
    _contract.CHAIN_MIN_ROWS = math.inf
    try:
        yield
    finally:
        _contract.CHAIN_MIN_ROWS = saved


def step_before(module, x):
    """`step` through the cores path with `autograd_chain` (the previous implementation)."""

    def once():
        with autograd_chain():
            module(x, path="cores").sum().backward()

    return once


def race(calls, repeats):
    """Fastest seconds of each call, the calls run interleaved ``repeats`` times.

    The warm-up call is timed too; a ``"cores"`` or ``"before"`` call `HOPELESS` times
    slower than the ``"dense"`` one keeps that single time.
    """
    best = {}
    for name, f in calls.items():
        t0 = time.perf_counter()
        f()  # warm-up
        best[name] = time.perf_counter() - t0
    dense = best.get("dense", math.inf)
    slow = {name for name in ("cores", "before") if best.get(name, 0) > HOPELESS * dense}
    for _ in range(repeats):
        for name, f in calls.items():
            if name in slow:
                continue
            t0 = time.perf_counter()
            f()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def linear_layers(size, ratios):
    s = math.isqrt(size)
    shape = (size, size, (s, s), (s, s))
    for ratio in ratios:
        for name, cls, t, fmt in FORMATS:
            r = rank_for(lambda r, cls=cls, t=t: cls(*shape, r, t, device="meta"), t,
                         size * size / ratio)  # fmt: skip
            if r is not None:
                yield ratio, name, fmt, t, r, lambda cls=cls, t=t, r=r: cls(*shape, r, t)


def table(args, ratios, x):
    lines = [
        f"## {args.size}x{args.size}, batch {args.batch}, {args.threads} thread(s), "
        f"forward+backward ms (input gradient included), best of {args.repeats} "
        "interleaved calls\n",
        "| ratio | layer | rank | params | build ms | nn.Linear ms | cores ms | dense ms "
        "| auto picks | auto ms | auto / nn.Linear | auto / twin | before: cores ms "
        "| before: auto / nn.Linear | before: auto / twin |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    dense = torch.nn.Linear(args.size, args.size)
    twin = {}
    for ratio, name, fmt, t, r, make in linear_layers(args.size, ratios):
        t0 = time.perf_counter()
        layer = make()
        build = time.perf_counter() - t0
        calls = {"linear": step(dense, x), "cores": step(layer, x, path="cores"),
                 "dense": step(layer, x, path="dense"),
                 "before": step_before(layer, x)}  # fmt: skip
        best = race(calls, args.repeats)
        pick = layer.path_for(args.batch)
        with autograd_chain():
            pick_before = layer.path_for(args.batch)
        auto = best[pick] / best["linear"]  # in units of this row's nn.Linear
        before = best["before" if pick_before == "cores" else "dense"] / best["linear"]
        if t == 1:
            twin[(ratio, fmt)] = (auto, before)
        cells = []
        for k, value in enumerate((auto, before)):
            ok = (ratio, fmt) in twin and t > 1
            cells.append(f"{value / twin[(ratio, fmt)][k]:.2f}" if ok else "")
        row = (
            f"| {ratio} | {name} | {r} | {layer.n_params} | {1e3 * build:.1f} | "
            f"{1e3 * best['linear']:.2f} | {1e3 * best['cores']:.2f} | "
            f"{1e3 * best['dense']:.2f} | {pick} | {1e3 * best[pick]:.2f} | {auto:.2f} | "
            f"{cells[0]} | {1e3 * best['before']:.2f} | {before:.2f} | {cells[1]} |"
        )
        lines.append(row)
        print(row, flush=True)
    return lines


def conv_table(args):
    """STPConv2d 64 -> 64, 3x3, padding 1 on 8 x 64 x 32 x 32 images, ratio 8."""
    lines = [
        "\n## STPConv2d 64->64, 3x3, padding 1, input 8x64x32x32, ratio 8, forward+backward ms\n",
        "| layer | rank | params | nn.Conv2d ms | cores ms | dense ms | auto picks | auto ms "
        "| auto / nn.Conv2d |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    x = torch.randn(8, 64, 32, 32, requires_grad=True)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1)
    target = conv.weight.numel() / 8
    for name, _, t, fmt in FORMATS:

        def make(r, fmt=fmt, t=t, device=None):
            return STPConv2d(64, 64, 3, (8, 8, 9), (4, 4, 4), r, t, format=fmt, padding=1,
                             device=device)  # fmt: skip

        r = rank_for(lambda r, make=make: make(r, device="meta"), t, target)
        if r is None:
            continue
        layer = make(r)
        calls = {"conv": step(conv, x), "cores": _conv_step(layer, x, "cores"),
                 "dense": _conv_step(layer, x, "dense")}  # fmt: skip
        best = race(calls, args.repeats)
        pick = layer.path_for(*x.shape[:1], *x.shape[2:])
        row = (
            f"| {name} | {r} | {layer.n_params} | {1e3 * best['conv']:.2f} | "
            f"{1e3 * best['cores']:.2f} | {1e3 * best['dense']:.2f} | {pick} | "
            f"{1e3 * best[pick]:.2f} | {best[pick] / best['conv']:.2f} |"
        )
        lines.append(row)
        print(row, flush=True)
    return lines


def _conv_step(layer, x, path):
    def once():
        layer.forward_path = path
        layer(x).sum().backward()

    return once


def calibrate(args, ratios, batches):
    """Time both paths at each batch; search the cost model's two constants."""
    from semitensor.nn import _contract

    cases = []
    for ratio, name, _, _, _, make in linear_layers(args.size, ratios):
        layer = make()
        for b in batches:
            x = torch.randn(b, args.size, requires_grad=True)
            calls = {"cores": step(layer, x, path="cores"), "dense": step(layer, x, path="dense")}
            f = layer.flops(b)
            if f["cores"] > MODEL_SKIP * f["dense"]:
                continue
            best = race(calls, max(args.repeats - 2, 1))
            cases.append((f"{name} r{ratio} B{b}", layer, b, best))
            print(f"  {name} ratio {ratio} batch {b}: cores {1e3 * best['cores']:.2f} ms, "
                  f"dense {1e3 * best['dense']:.2f} ms, model picks {layer.path_for(b)}",
                  flush=True)  # fmt: skip

    def losses(write, knee):
        _contract.WRITE_COST, _contract.GEMM_KNEE = write, knee
        out = []
        for _, layer, b, best in cases:
            pick = layer.path_for(b)
            out.append(best[pick] / min(best.values()))
        return out

    current = (_contract.WRITE_COST, _contract.GEMM_KNEE)
    grid = [(w, k) for w in (0.5, 1, 2, 4, 8, 16, 32) for k in (0, 4, 8, 16, 32, 64, 128, 256)]
    scored = sorted(grid, key=lambda ws: (max(losses(*ws)), sum(losses(*ws))))
    best_ws = scored[0]
    now, new = losses(*current), losses(*best_ws)
    _contract.WRITE_COST, _contract.GEMM_KNEE = current
    lines = [
        f"\n## Calibration of the path choice ({args.size}x{args.size}, batches "
        f"{', '.join(map(str, batches))}, ratios {', '.join(map(str, ratios))})\n",
        f"Model constants now WRITE_COST={current[0]}, GEMM_KNEE={current[1]}: worst "
        f"loss {max(now):.2f}x, mean {sum(now) / len(now):.3f}x against the faster path. "
        f"Best on the grid: WRITE_COST={best_ws[0]}, GEMM_KNEE={best_ws[1]}: worst "
        f"{max(new):.2f}x, mean {sum(new) / len(new):.3f}x.\n",
        "| case | cores ms | dense ms | picks now | loss now |",
        "|---|---|---|---|---|",
    ]
    for (label, layer, b, best), loss in zip(cases, now):
        lines.append(
            f"| {label} | {1e3 * best['cores']:.2f} | {1e3 * best['dense']:.2f} | "
            f"{layer.path_for(b)} | {loss:.2f} |"
        )
    print("\n".join(lines), flush=True)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ratios", default="8,64")
    parser.add_argument("--conv", action="store_true", help="add the STPConv2d table")
    parser.add_argument("--calibrate", default="", help="batch sizes, e.g. 16,64,256,1024")
    parser.add_argument("--quick", action="store_true", help="ratio 8 only, 2 repeats")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "nn_layers.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    s = math.isqrt(args.size)
    if s * s != args.size:
        raise SystemExit("--size must be a perfect square")
    ratios = [8] if args.quick else [int(r) for r in args.ratios.split(",")]
    if args.quick:
        args.repeats = 2
    lines = ["# STP layers against nn.Linear, their twins and each other\n"]
    x = torch.randn(args.batch, args.size, requires_grad=True)
    lines += table(args, ratios, x)
    if args.conv:
        lines += conv_table(args)
    if args.calibrate:
        lines += calibrate(args, ratios, [int(b) for b in args.calibrate.split(",")])
    if not args.quick:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
