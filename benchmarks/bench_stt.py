"""STTTensor.entries: the numba kernel against the batched-GEMM route.

The decomposition tables that used to live here (STT against TensorLy's TT and TR at
matched budgets, ALS speed at identical ring ranks, the SVD sweep against
``tensor_train``) are now sections of ``benchmarks/bench_decompositions.py``, which
compares every STP decomposition with its TensorLy twin in one run. What remains is
the entry-evaluation benchmark that ``semitensor.formats.stt`` and
``semitensor._kernels.numba_entries`` cite as "bench_stt.py, table 4" (the number is
kept for those references).

Method notes: times are the best of 3 runs (``time.perf_counter``); BLAS threads are
pinned with threadpoolctl to ``--threads`` (default 1), because on a small shared
machine multi-threaded OpenBLAS on small GEMMs gives 10-100x spikes. Run:
``python benchmarks/bench_stt.py [--threads N] [--quick]`` (``--quick``: R=8 only).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def table_entries(bonds):
    from semitensor.formats.stt import STTTensor

    print("\n## 4. STTTensor.entries, 10^5 random index tuples of a 16^5 STT (t=2)\n")
    print(f"{'side':6} {'R':>4} {'numba s':>9} {'batched GEMM s':>15} {'to_tensor s':>12}")
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 16, size=(100_000, 5))
    for side in ("left", "right"):
        for bond in bonds:
            cores = [rng.standard_normal((1, 16, bond))]
            cores += [rng.standard_normal((bond // 2, 16, bond // 2)) for _ in range(3)]
            cores.append(rng.standard_normal((bond, 16, 1)))
            x = STTTensor(cores, 2, side)
            x.entries(idx[:100])  # compile (cached on disk afterwards)
            fast = min(timed(lambda: x.entries(idx))[1] for _ in range(3))
            os.environ["SEMITENSOR_DISABLE_NUMBA"] = "1"
            try:
                slow = min(timed(lambda: x.entries(idx))[1] for _ in range(3))
            finally:
                del os.environ["SEMITENSOR_DISABLE_NUMBA"]
            full = min(timed(x.to_tensor)[1] for _ in range(3))
            print(f"{side:6} {bond:4d} {fast:9.4f} {slow:15.4f} {full:12.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="R=8 only (smoke test)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads):
        print(f"BLAS threads: {args.threads}")
        table_entries((8,) if args.quick else (8, 16, 32))


if __name__ == "__main__":
    main()
