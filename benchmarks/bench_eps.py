"""Rank selection by a tolerance: the ``eps`` searches against TT-SVD at the same eps.

For each tensor of ``bench_fits.py`` and each ``eps``, in one run and interleaved:
TT-SVD at ``eps`` (TensorLy's ``tensor_train`` at the ranks Oseledets' rule picks,
the time of the ranks' SVDs included), then semitensor's ``stt_decompose``,
``str_decompose`` and ``sttu_decompose`` with ``eps`` and default settings. Printed:
seconds (best of ``--repeat``), time over TT-SVD's, the ranks chosen, parameters,
and the final error over ``eps`` (at most 1 when the target is met).

    python benchmarks/bench_eps.py [--quick] [--threads 1] [--repeat 3]

Timing needs an idle machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from bench_fits import load_tensors  # noqa: E402

import semitensor as st  # noqa: E402
from semitensor.decomposition._rank_search import tt_svd_ranks  # noqa: E402

EPS = (0.1, 0.05)


def best_of(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out, bool(caught)


def tt_svd(x, eps):
    from tensorly.decomposition import tensor_train

    ranks = tt_svd_ranks(x, eps, 1)
    return tensor_train(x, [1, *ranks, 1])


def rows(name, x, eps, repeat):
    import numpy as np

    seconds, tt, _ = best_of(lambda: tt_svd(x, eps), repeat)
    err = float(np.linalg.norm(tt.to_tensor() - x) / np.linalg.norm(x))
    params = sum(c.size for c in tt.factors)
    out = [(name, eps, "TT-SVD (TensorLy)", seconds, 1.0, tuple(tt.rank[1:-1]), params, err / eps)]
    ts = [2 if s % 2 == 0 else 1 for s in x.shape]
    fits = {
        "STT t=2": lambda: st.stt_decompose(x, None, 2, eps=eps, random_state=0),
        "STR t=2": lambda: st.str_decompose(x, None, 2, eps=eps, random_state=0),
        f"STTu t={ts}": lambda: st.sttu_decompose(x, None, ts, eps=eps),
    }
    for label, fn in fits.items():
        s, fit, warned = best_of(fn, repeat)
        label += " (warned)" if warned else ""
        out.append(
            (name, eps, label, s, s / seconds, fit.ranks, fit.n_params, fit.info.rel_error / eps)
        )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller tensors")
    parser.add_argument("--threads", type=int, help="limit BLAS threads for the run")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    from contextlib import nullcontext

    limit = nullcontext()
    if args.threads:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(args.threads)
    header = "| tensor | eps | method | seconds | / TT-SVD | ranks | params | error/eps |"
    print(header)
    print("|" + " --- |" * 8)
    with limit:
        for name, x in load_tensors(args.quick).items():
            for eps in EPS:
                for row in rows(name, x, eps, args.repeat):
                    tensor, e, label, s, ratio, ranks, params, rel = row
                    ranks = ",".join(str(r) for r in ranks)
                    print(
                        f"| {tensor} | {e} | {label} | {s:.3f} | {ratio:.1f} | {ranks} | "
                        f"{params} | {rel:.2f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
