"""STP decompositions against TensorLy, on three tensors, in one run.

For each case the script prints one table with, per method: wall time (best of up to
``--repeat`` runs), relative error ``‖X − X̂‖/‖X‖``, number of parameters, compression
ratio (full size / parameters) and iterations. Cases:

* ``random``: i.i.d. normal 16×16×16×16×16 tensor (seed 0);
* ``structured``: a tensor built exactly from a random format of each family
  (16×16×16×16×16; for STTu: t=2, ranks 8);
* ``image``: sklearn's ``china.jpg`` in grey (ITU-R 601 luma), centre-cropped to
  256×256 and reshaped (C order) to 16×16×16×16.

Each method family has one function ``<family>_rows(case)`` returning table rows; the
STTu family compares semitensor's STTu (t=2, and t=1, which is plain Tucker) with
TensorLy's ``tucker`` at the same ranks (t=1) and at a matched parameter budget (the
largest Tucker ranks whose parameter count does not exceed the STTu one). All HOOI
runs use the same ``tol`` and ``n_iter_max``. Add STT/STR families to ``FAMILIES``.

Usage::

    python benchmarks/bench_decompositions.py [--repeat 3] [--tol 1e-8] [--markdown]
        [--cases random structured image]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import tensorly as tl
from tensorly.decomposition import tucker

from semitensor.decomposition.sttu import sttu_decompose
from semitensor.formats.sttu import STTuTensor

SETTINGS = {"tol": 1e-8, "n_iter_max": 100, "repeat": 3}


# --- cases -----------------------------------------------------------------------


def case_random():
    return np.random.default_rng(0).standard_normal((16,) * 5)


def case_image():
    from sklearn.datasets import load_sample_image  # needs pillow

    rgb = load_sample_image("china.jpg").astype(np.float64)
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    r0, c0 = (grey.shape[0] - 256) // 2, (grey.shape[1] - 256) // 2
    return grey[r0 : r0 + 256, c0 : c0 + 256].reshape(16, 16, 16, 16)


def sttu_structured():
    rng = np.random.default_rng(1)
    core = rng.standard_normal((8,) * 5)
    factors = [rng.standard_normal((8, 4)) for _ in range(5)]
    return STTuTensor(core, factors, t=2).to_tensor()


# --- helpers ----------------------------------------------------------------------


def timed(fn):
    """Best wall time over up to SETTINGS['repeat'] runs (one run if it takes > 5 s)."""
    best, out = math.inf, None
    for _ in range(SETTINGS["repeat"]):
        t0 = time.perf_counter()
        out = fn()
        elapsed = time.perf_counter() - t0
        best = min(best, elapsed)
        if elapsed > 5.0:
            break
    return best, out


def rel_error(x, x_hat):
    return float(np.linalg.norm(x - x_hat) / np.linalg.norm(x))


def tucker_params(shape, ranks):
    return math.prod(ranks) + sum(i * r for i, r in zip(shape, ranks))


def tucker_ranks_for_budget(shape, budget):
    """Largest (near-uniform) Tucker ranks whose parameter count is at most ``budget``."""
    ranks = [1] * len(shape)
    grown = True
    while grown:
        grown = False
        for n in sorted(range(len(shape)), key=lambda m: ranks[m]):
            trial = ranks.copy()
            trial[n] += 1
            if trial[n] <= shape[n] and tucker_params(shape, trial) <= budget:
                ranks, grown = trial, True
                break
    return ranks


def row(name, seconds, x, x_hat, n_params, iters):
    return {
        "method": name,
        "time_s": seconds,
        "rel_error": rel_error(x, x_hat),
        "n_params": n_params,
        "compression": x.size / n_params,
        "iters": iters,
    }


# --- families ---------------------------------------------------------------------


def _run_sttu(x, ranks, t, method):
    tol, n_iter_max = SETTINGS["tol"], SETTINGS["n_iter_max"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missed tol shows in the iteration count
        return sttu_decompose(x, ranks, t, method=method, tol=tol, n_iter_max=n_iter_max)


def _run_tucker(x, ranks):
    tol, n_iter_max = SETTINGS["tol"], SETTINGS["n_iter_max"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tucker(x, list(ranks), tol=tol, n_iter_max=n_iter_max, return_errors=True)


def sttu_rows(case):
    """STTu (t=2 and t=1) against TensorLy's tucker at the same ranks and at matched size."""
    x = {"random": case_random, "structured": sttu_structured, "image": case_image}[case]()
    ranks, t = 8, 2
    rows = []
    for method in ("hosvd", "hooi"):
        secs, dec = timed(lambda m=method: _run_sttu(x, ranks, t, m))
        name = f"STTu {method} t={t} R={ranks}"
        rows.append(row(name, secs, x, dec.to_tensor(), dec.n_params, dec.info.n_iter))
    budget = rows[-1]["n_params"]

    secs, dec = timed(lambda: _run_sttu(x, ranks, 1, "hooi"))
    name = f"STTu hooi t=1 R={ranks} (= Tucker)"
    rows.append(row(name, secs, x, dec.to_tensor(), dec.n_params, dec.info.n_iter))
    same = [ranks] * x.ndim
    secs, ((core, factors), errs) = timed(lambda: _run_tucker(x, same))
    x_hat = tl.tucker_to_tensor((core, factors))
    name = f"TensorLy tucker R={ranks} (same ranks)"
    rows.append(row(name, secs, x, x_hat, tucker_params(x.shape, same), len(errs)))

    matched = tucker_ranks_for_budget(x.shape, budget)
    secs, ((core, factors), errs) = timed(lambda: _run_tucker(x, matched))
    x_hat = tl.tucker_to_tensor((core, factors))
    name = f"TensorLy tucker R={tuple(matched)} (budget)"
    rows.append(row(name, secs, x, x_hat, tucker_params(x.shape, matched), len(errs)))
    return rows


FAMILIES = [sttu_rows]


# --- output -----------------------------------------------------------------------


def print_table(title, rows, markdown):
    cols = ["method", "time_s", "rel_error", "n_params", "compression", "iters"]
    fmt = {
        "time_s": "{:.4f}",
        "rel_error": "{:.3e}",
        "n_params": "{:d}",
        "compression": "{:.1f}",
        "iters": "{:d}",
    }
    cells = [[fmt.get(c, "{}").format(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(cols)]
    print(f"\n{title}")
    if markdown:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths)) + " |")
        print("| " + " | ".join("-" * w for w in widths) + " |")
        for line in cells:
            print("| " + " | ".join(v.ljust(w) for v, w in zip(line, widths)) + " |")
    else:
        print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
        for line in cells:
            print("  ".join(v.ljust(w) for v, w in zip(line, widths)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=SETTINGS["repeat"])
    parser.add_argument("--tol", type=float, default=SETTINGS["tol"])
    parser.add_argument("--n-iter-max", type=int, default=SETTINGS["n_iter_max"])
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--cases", nargs="+", default=["random", "structured", "image"])
    args = parser.parse_args()
    SETTINGS.update(repeat=args.repeat, tol=args.tol, n_iter_max=args.n_iter_max)
    print(
        f"numpy {np.__version__}, tensorly {tl.__version__}; tol={args.tol}, "
        f"n_iter_max={args.n_iter_max}, best of {args.repeat} (1 run if > 5 s); CPU, float64"
    )
    for case in args.cases:
        rows = [r for family in FAMILIES for r in family(case)]
        print_table(f"case: {case}", rows, args.markdown)


if __name__ == "__main__":
    main()
