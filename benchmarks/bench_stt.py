"""STT benchmarks: stt_decompose against TensorLy's TT and TR, same run, same machine.

Prints three tables:

1. Decompositions at matched parameter budgets on the three tensors of the STTu
   benchmark (random 16^5; an exactly structured tensor, here an exact STT with
   t=2, R=8 on 16^5; china.jpg in grey, centre-cropped to 256x256 and reshaped to
   16^4): STT (t=2 and t=4, ALS and the SVD sweep) next to TensorLy's
   ``tensor_train`` (TT-SVD) and ``tensor_ring_als`` (``ls_solve="normal_eq"``, its
   fastest solver) with ranks chosen so the parameter counts are as close as
   possible. Columns: time (s), relative error, parameters.
2. ALS speed at *identical* ring ranks ``(t, R/t, ..., R/t, t)``: seconds per sweep
   and time to reach within 1% of the better of the two final errors.
3. The SVD sweep at t=1 against ``tensor_train``.
4. ``STTTensor.entries``: the numba kernel against the batched-GEMM route.

Method notes: every row is one run (wall-clock, ``time.perf_counter``); BLAS threads
are pinned with threadpoolctl to ``--threads`` (default 1) for both libraries,
because on a small shared machine multi-threaded OpenBLAS on small GEMMs gives
10-100x spikes. Run: ``python benchmarks/bench_stt.py [--threads N] [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def rel_err(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def stt_params(shape, bond, t):
    n = len(shape)
    return (
        shape[0] * bond
        + sum(bond * shape[k] * bond // t**2 for k in range(1, n - 1))
        + (bond * shape[-1])
    )


def tt_params(shape, r):
    ranks = [1] + [r] * (len(shape) - 1) + [1]
    return sum(ranks[k] * shape[k] * ranks[k + 1] for k in range(len(shape)))


def tr_params(shape, r):
    return sum(r * s * r for s in shape)


def closest_rank(target, count, rmax=256):
    return min(range(1, rmax), key=lambda r: abs(count(r) - target))


def tensors(quick):
    from semitensor.formats.stt import STTTensor

    rng = np.random.default_rng(0)
    out = {}
    shape = (16,) * 5 if not quick else (8,) * 5
    out["random 16^5" if not quick else "random 8^5"] = rng.standard_normal(shape)
    cores = [rng.standard_normal((1, shape[0], 8))]
    cores += [rng.standard_normal((4, s, 4)) for s in shape[1:-1]]
    cores.append(rng.standard_normal((8, shape[-1], 1)))
    out["exact STT t=2 R=8"] = STTTensor(cores, 2).to_tensor()
    try:
        from sklearn.datasets import load_sample_image

        img = load_sample_image("china.jpg").astype(np.float64).mean(axis=2)
        r0, c0 = (img.shape[0] - 256) // 2, (img.shape[1] - 256) // 2
        out["china.jpg 16^4"] = img[r0 : r0 + 256, c0 : c0 + 256].reshape(16, 16, 16, 16)
    except Exception as exc:  # scikit-learn (and its sample images) is optional
        print(f"(china.jpg skipped: {exc})")
    return out


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def table_budget(data, bonds):
    import tensorly as tl
    from tensorly.decomposition import tensor_ring_als, tensor_train
    from tensorly.tr_tensor import tr_to_tensor

    from semitensor.decomposition.stt import stt_decompose

    print("\n## 1. Matched parameter budgets (time s | rel. error | params)\n")
    print(f"{'tensor':22} {'method':34} {'time':>8} {'rel.err':>10} {'params':>8}")
    for name, x in data.items():
        shape = x.shape
        for t in (2, 4):
            bond = bonds[t]
            budget = stt_params(shape, bond, t)
            rows = []
            for method in ("als", "svd"):
                fit, sec = timed(
                    lambda m=method: stt_decompose(x, bond, t, method=m, random_state=0)
                )
                rows.append((f"STT t={t} R={bond} {method}", sec, fit.info.rel_error, fit.n_params))
            r_tt = closest_rank(budget, lambda r: tt_params(shape, r))
            tt, sec = timed(lambda r=r_tt: tensor_train(x, r))
            rows.append(
                (
                    f"TensorLy TT r={r_tt}",
                    sec,
                    rel_err(tl.tt_to_tensor(tt), x),
                    tt_params(shape, r_tt),
                )
            )
            r_tr = closest_rank(budget, lambda r: tr_params(shape, r))
            tr, sec = timed(
                lambda r=r_tr: tensor_ring_als(
                    x, r, ls_solve="normal_eq", n_iter_max=100, tol=1e-8, random_state=0
                )
            )
            rows.append(
                (
                    f"TensorLy TR-ALS r={r_tr} normal_eq",
                    sec,
                    rel_err(tr_to_tensor(tr), x),
                    tr_params(shape, r_tr),
                )
            )
            for label, sec, err, npar in rows:
                print(f"{name:22} {label:34} {sec:8.3f} {err:10.3e} {npar:8d}")


def table_als_speed(data, bond, t, n_iter):
    from tensorly.decomposition import tensor_ring_als

    from semitensor.decomposition.stt import stt_decompose

    ring_txt = f"({t}, {bond // t}, ..., {t})"
    print(f"\n## 2. ALS at identical ring ranks (t={t}, R={bond}: ring {ring_txt})\n")
    head = ["ours s/sweep", "TL s/sweep", "ours final", "TL final", "ours t->1%", "TL t->1%"]
    print(f"{'tensor':22} " + " ".join(f"{h:>12}" for h in head))
    for name, x in data.items():
        n = x.ndim
        ring = [t] + [bond // t] * (n - 1) + [t]
        trace_ours = []
        t0 = time.perf_counter()

        def cb_ours(it, dec, err):
            trace_ours.append((time.perf_counter() - t0, err))

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = stt_decompose(
                x, bond, t, n_iter_max=n_iter, tol=0.0, callback=cb_ours, random_state=0
            )
        sweeps_ours = fit.info.n_iter
        total_ours = trace_ours[-1][0]
        trace_tl = []
        t1 = time.perf_counter()

        def cb_tl(dec, err):
            trace_tl.append((time.perf_counter() - t1, float(err)))

        tensor_ring_als(
            x,
            ring,
            ls_solve="normal_eq",
            n_iter_max=n_iter,
            tol=0.0,
            callback=cb_tl,
            random_state=0,
        )
        total_tl = trace_tl[-1][0]
        best = min(trace_ours[-1][1], trace_tl[-1][1])
        # 1% above the better final error; floor 1e-8 (exact recovery) so that
        # rounding-level finals (1e-15 vs 1e-11) do not decide the comparison.
        target = max(best * 1.01, 1e-8)

        def reach(trace):
            return next((s for s, e in trace if e <= target), float("inf"))

        per_ours = (trace_ours[-1][0] - trace_ours[0][0]) / max(sweeps_ours, 1)
        per_tl = (trace_tl[-1][0] - trace_tl[0][0]) / max(len(trace_tl) - 1, 1)
        vals = [per_ours, per_tl, trace_ours[-1][1], trace_tl[-1][1]]
        vals += [reach(trace_ours), reach(trace_tl)]
        fmts = [".4f", ".4f", ".3e", ".3e", ".3f", ".3f"]
        print(f"{name:22} " + " ".join(f"{v:>12{f}}" for v, f in zip(vals, fmts)))
        del total_ours, total_tl


def table_svd(data, bond):
    from tensorly.decomposition import tensor_train
    from tensorly.tt_tensor import tt_to_tensor

    from semitensor.decomposition.stt import stt_decompose

    print(f"\n## 3. SVD sweep at t=1, TT ranks {bond} (best of 3 runs)\n")
    print(f"{'tensor':22} {'ours s':>8} {'TL TT-SVD s':>11} {'ours err':>10} {'TL err':>10}")
    for name, x in data.items():
        ours = min(timed(lambda: stt_decompose(x, bond, 1, method="svd"))[1] for _ in range(3))
        tl_s = min(timed(lambda: tensor_train(x, bond))[1] for _ in range(3))
        e_ours = stt_decompose(x, bond, 1, method="svd").info.rel_error
        e_tl = rel_err(tt_to_tensor(tensor_train(x, bond)), x)
        print(f"{name:22} {ours:8.4f} {tl_s:11.4f} {e_ours:10.3e} {e_tl:10.3e}")


def table_entries():
    import os

    from semitensor.formats.stt import STTTensor

    print("\n## 4. STTTensor.entries, 10^5 random index tuples of a 16^5 STT (t=2)\n")
    print(f"{'side':6} {'R':>4} {'numba s':>9} {'batched GEMM s':>15} {'to_tensor s':>12}")
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 16, size=(100_000, 5))
    for side in ("left", "right"):
        for bond in (8, 16, 32):
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
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    data = tensors(args.quick)
    with threadpool_limits(args.threads):
        print(f"BLAS threads: {args.threads}")
        table_budget(data, {2: 8, 4: 16})
        for bond, t in ((8, 2), (16, 4)):
            table_als_speed(data, bond, t, 30 if args.quick else 100)
        table_svd(data, 8)
        table_entries()


if __name__ == "__main__":
    main()
