"""Fits on dask arrays against numpy in memory: time per sweep and peak memory per worker.

Rows: each method (STTu HOOI, STT ALS, STR ALS, the same ranks and a fixed number
of sweeps) on a tensor generated chunk by chunk (a smooth rank-2 function plus 10%
noise, per-chunk seeds), fitted

* by numpy on the tensor in memory (peak: the process's RSS growth during the fit),
* on dask's threads (same process),
* on a ``LocalCluster`` of 1 and of 2 worker processes of one thread each (peak: the
  highest process memory of any worker, sampled every 0.1 s by
  ``distributed.diagnostics.MemorySampler``, divided by the workers: a mean).

Each dask row comes twice: "generated", where every pass over the data regenerates
it (what reading it from zarr would cost), and "persisted", where the chunks are
first held in the workers' memory (``client.persist``, spread evenly over the
workers; on threads, ``x.persist()``), as numpy holds the tensor (the persisting is
not timed; its memory is in the peak).

``--large`` adds the fit of a tensor that never exists in memory (default 8 GB,
1024^3 float64) on 2 workers of ``--memory-limit`` (default 2 GB) each.

Usage::

    python benchmarks/bench_dask.py [--size 128] [--chunk 32] [--sweeps 4]
        [--methods sttu stt str] [--data both|generated|persisted]
        [--large] [--large-size 1024] [--memory-limit 2GB]
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

import numpy as np


def _block(block_info=None, shape=None):
    info = block_info[None]
    (i0, i1), (j0, j1), (k0, k1) = info["array-location"]
    i = 3.0 * np.arange(i0, i1)[:, None, None] / shape[0]
    j = 3.0 * np.arange(j0, j1)[None, :, None] / shape[1]
    k = 3.0 * np.arange(k0, k1)[None, None, :] / shape[2]
    smooth = np.cos(i) * np.sin(j + 0.3) * np.cos(k) + 0.5 * np.sin(2 * i) * np.cos(j) * k
    seed = np.random.default_rng(list(info["chunk-location"]))
    return smooth + 0.1 * seed.standard_normal(smooth.shape)


def generated(shape, chunk, workers=None):
    """The lazy tensor; with ``workers`` (addresses), block ``b`` is pinned to the
    worker ``sum(b) mod len(workers)`` (a checkerboard: persisting spreads it evenly)."""
    import dask
    import dask.array as da

    chunks = da.core.normalize_chunks(chunk, shape)
    if workers is None:
        return da.map_blocks(_block, chunks=chunks, dtype=float, shape=shape)
    with dask.annotate(workers=lambda key: [workers[sum(key[1:]) % len(workers)]]):
        return da.map_blocks(_block, chunks=chunks, dtype=float, shape=shape)


def fits(sweeps):
    import semitensor as st

    return {
        "sttu": lambda x: st.sttu_decompose(x, 8, t=2, n_iter_max=sweeps, tol=1e-12),
        "stt": lambda x: st.stt_decompose(
            x, 8, t=2, init="random", random_state=0, n_iter_max=sweeps, tol=1e-12, warmup=0
        ),
        "str": lambda x: st.str_decompose(
            x, 4, t=2, init="random", random_state=0, n_iter_max=sweeps, tol=1e-12, warmup=0
        ),
    }


def per_sweep(info):
    """Median seconds per sweep (the start excluded; the median, as other jobs share the
    machine: one sweep slowed by them does not count)."""
    return float(np.median(np.diff(info.times))) if info.n_iter else float("nan")


def timed(fit, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        dec = fit(x)
        return dec, time.perf_counter() - t0


def on_cluster(fit, x, workers, limit, persist=False):
    from distributed import Client, LocalCluster, wait
    from distributed.diagnostics import MemorySampler

    with LocalCluster(
        n_workers=workers, threads_per_worker=1, memory_limit=limit, dashboard_address=":0"
    ) as cluster, Client(cluster) as client:  # fmt: skip
        client.run(lambda: __import__("semitensor"))
        if persist:  # spread evenly (a plain persist can leave 6 of 8 blocks on one worker)
            addresses = sorted(client.scheduler_info()["workers"])
            x = client.persist(generated(x.shape, x.chunks, addresses), optimize_graph=False)
            wait(x)
        sampler = MemorySampler()
        with sampler.sample("fit", interval=0.1):
            dec, total = timed(fit, x)
        samples = sampler.samples["fit"]
        peak = max(v for _, v in samples) / workers / 2**20 if samples else float("nan")
    return dec, total, peak


def row(name, where, dec, total, peak):
    info = dec.info
    return (
        f"| {name:4} | {where:22} | {per_sweep(info):8.3f} | {total:8.2f} | "
        f"{info.rel_error:.6f} | {peak:8.0f} |"
    )


def in_memory_table(args):
    """The table at a size that fits: numpy against dask, generated and persisted."""
    import dask

    shape = (args.size,) * 3
    x = generated(shape, args.chunk)
    xn = x.compute()
    print(f"tensor {shape} float64 = {xn.nbytes / 2**20:.0f} MB, chunks {args.chunk}^3, "
          f"{args.sweeps} sweeps")  # fmt: skip
    print("| fit  | where                  | s/sweep  | total s  | rel. error | peak MB/worker |")
    print("|------|------------------------|----------|----------|------------|----------------|")
    table = fits(args.sweeps)
    for name in args.methods:
        fit = table[name]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        dec, total = timed(fit, xn)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
        print(row(name, "numpy in memory", dec, total, max(peak, 0.0)), flush=True)
        for persist in {"both": (False, True), "generated": (False,), "persisted": (True,)}[
            args.data
        ]:
            how = "persisted" if persist else "generated"
            with dask.config.set(scheduler="threads"):
                xt = x.persist() if persist else x
                dec, total = timed(fit, xt)
                del xt
            print(row(name, f"threads, {how}", dec, total, float("nan")), flush=True)
            for workers in (1, 2):
                dec, total, peak = on_cluster(fit, x, workers, "4GB", persist)
                print(row(name, f"{workers} worker(s), {how}", dec, total, peak), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=128, help="0: only the --large fit")
    p.add_argument("--chunk", type=int, default=32)
    p.add_argument("--sweeps", type=int, default=4)
    p.add_argument("--data", choices=["both", "generated", "persisted"], default="both")
    p.add_argument("--methods", nargs="+", default=["sttu", "stt", "str"])
    p.add_argument("--large", action="store_true")
    p.add_argument("--large-size", type=int, default=1024)
    p.add_argument("--memory-limit", default="2GB")
    args = p.parse_args(argv)
    if args.size:
        in_memory_table(args)
    if args.large:
        big = (args.large_size,) * 3
        xb = generated(big, 128)
        print(f"\nlarge: {big} float64 = {xb.nbytes / 2**30:.1f} GB, never in memory, "
              f"2 workers of {args.memory_limit}")  # fmt: skip
        for name in args.methods:
            dec, total, peak = on_cluster(fits(args.sweeps)[name], xb, 2, args.memory_limit)
            print(row(name, "2 workers, generated", dec, total, peak), flush=True)


if __name__ == "__main__":
    main()
