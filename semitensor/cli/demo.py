"""``semitensor demo``: the STP formats next to TensorLy's on real data.

The data is the *Indian Pines* hyperspectral image (AVIRIS, 145×145 pixels, 200
spectral bands; Baumgardner, Biehl, Landgrebe 2015, CC BY 3.0), which TensorLy, a
dependency of semitensor, ships as ``tensorly/datasets/data/Indian_pines_corrected.npy``.
So it is on every machine that ran ``pip install .``, needs no download, and is a
genuine three-way array (height × width × wavelength) rather than an image reshaped
into one. The demo takes a ``64×64`` pixel window (rows and columns 40–103) and all
200 bands, as float64.

Every format in `DEMO_RANKS` is fitted at a few rank levels with ``t = 2`` and the
left side; its TensorLy twin (Tucker for STTu, TT for STT, TR for STR) is fitted at
the *same parameter budget*: its ranks are the STP ranks scaled by the largest factor
whose parameter count does not exceed the STP fit's. Iterative methods (STTu HOOI,
STT/STR ALS, TensorLy's Tucker HOOI) share ``tol`` and ``n_iter_max``; TensorLy's TT
and TR are its one-pass SVD algorithms (``tensor_train``, ``tensor_ring``).

The settings live here, not in the formats or the file schema: they are choices of
this demo (and of the command, which fits through `FIT_FUNCTIONS`), not properties of
a format.
"""

from __future__ import annotations

import math
import os
import time
import warnings

import numpy as np

from .. import str_decompose, stt_decompose, sttu_decompose
from ..formats import format_class

__all__ = [
    "DEMO_RANKS",
    "DEMO_SETTINGS",
    "FIT_FUNCTIONS",
    "TWIN_TITLES",
    "load_demo_data",
    "matched_ranks",
    "n_fits",
    "plot_rows",
    "run_demo",
]

DEMO_SETTINGS = {"t": 2, "tol": 1e-4, "n_iter_max": 20, "random_state": 0, "window": (40, 64)}

#: The fitting function of each format (by ``format_name``). The formats cannot name
#: it themselves: `semitensor.formats` sits below `semitensor.decomposition`.
FIT_FUNCTIONS = {"sttu": sttu_decompose, "stt": stt_decompose, "str": str_decompose}

#: Ranks for the 64×64×200 demo tensor with ``t=2``, one tuple per budget level; the
#: order of the keys is the order of the table.
DEMO_RANKS = {
    "sttu": ((16, 16, 8), (32, 32, 16), (48, 48, 32)),
    "stt": ((8, 8), (16, 16), (32, 32)),
    "str": ((4, 8, 8), (8, 16, 16), (16, 32, 32)),
}

TWIN_TITLES = {"tucker": "TensorLy Tucker", "tt": "TensorLy TT", "tr": "TensorLy TR"}


def load_demo_data(size=64):
    """The demo tensor: a ``size×size×200`` window of Indian Pines (float64).

    Raises
    ------
    FileNotFoundError
        If the installed TensorLy does not ship the data set.
    """
    import tensorly.datasets

    path = os.path.join(
        os.path.dirname(tensorly.datasets.__file__), "data", "Indian_pines_corrected.npy"
    )
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"the demo data {path} is missing; it ships with tensorly >= 0.8 "
            "(pip install -U tensorly)"
        )
    start = DEMO_SETTINGS["window"][0]
    cube = np.load(path, allow_pickle=False)
    return np.asarray(cube[start : start + size, start : start + size, :], dtype=np.float64)


# --- TensorLy twins: parameter counts, rank caps and fits -------------------------


def _tucker_params(shape, ranks):
    return math.prod(ranks) + sum(i * r for i, r in zip(shape, ranks))


def _tt_params(shape, ranks):
    bonds = [1, *ranks, 1]
    return sum(bonds[k] * shape[k] * bonds[k + 1] for k in range(len(shape)))


def _tr_params(shape, ranks):
    bonds = [*ranks, ranks[0]]
    return sum(bonds[k] * shape[k] * bonds[k + 1] for k in range(len(shape)))


def _tucker_caps(shape):
    return list(shape)


def _tt_caps(shape):
    return [min(math.prod(shape[:k]), math.prod(shape[k:])) for k in range(1, len(shape))]


def _tr_caps(shape):
    caps = [min(math.prod(shape[:k]), math.prod(shape[k:])) for k in range(len(shape))]
    caps[0] = max(1, math.isqrt(shape[0]))  # TR-SVD needs R_0·R_1 <= I_1
    caps[1] = min(caps[1], caps[0])
    return caps


def _fit_tucker(x, ranks, settings):
    from tensorly.decomposition import tucker

    core, factors = tucker(
        x, rank=list(ranks), n_iter_max=settings["n_iter_max"], tol=settings["tol"]
    )
    return [core, *factors]


def _fit_tt(x, ranks, settings):
    from tensorly.decomposition import tensor_train

    return list(tensor_train(x, rank=[1, *ranks, 1]).factors)


def _fit_tr(x, ranks, settings):
    from tensorly.decomposition import tensor_ring

    return list(tensor_ring(x, rank=[*ranks, ranks[0]]).factors)


def _to_tensor_tucker(arrays):
    from tensorly.tucker_tensor import tucker_to_tensor

    return tucker_to_tensor((arrays[0], arrays[1:]))


def _to_tensor_tt(arrays):
    from tensorly.tt_tensor import tt_to_tensor

    return tt_to_tensor(arrays)


def _to_tensor_tr(arrays):
    from tensorly.tr_tensor import tr_to_tensor

    return tr_to_tensor(arrays)


_TWINS = {
    "tucker": (_tucker_params, _tucker_caps, _fit_tucker, _to_tensor_tucker),
    "tt": (_tt_params, _tt_caps, _fit_tt, _to_tensor_tt),
    "tr": (_tr_params, _tr_caps, _fit_tr, _to_tensor_tr),
}


def matched_ranks(twin, shape, like, budget):
    """Twin ranks: ``like`` scaled by the largest factor whose parameters fit ``budget``.

    Examples
    --------
    >>> from semitensor.cli.demo import matched_ranks
    >>> ranks = matched_ranks("tucker", (64, 64, 200), [16, 16, 8], 2960)
    >>> 64 * ranks[0] + 64 * ranks[1] + 200 * ranks[2] + ranks[0] * ranks[1] * ranks[2] <= 2960
    True
    """
    params, caps, _, _ = _TWINS[twin]
    cap = caps(shape)
    best = [1] * len(cap)
    for step in range(1, 4 * max(like) * 64 + 1):
        scale = step / 64
        ranks = [max(1, min(c, int(scale * r))) for r, c in zip(like, cap)]
        if params(shape, ranks) > budget:
            break
        best = ranks
    return best


# --- the run ---------------------------------------------------------------------


def _row(method, ranks, t, n_params, size, rel_error, seconds):
    return {
        "method": method,
        "ranks": tuple(int(r) for r in ranks),
        "t": t,
        "params": int(n_params),
        "ratio": size / n_params,
        "rel_error": float(rel_error),
        "time": seconds,
    }


def _fit_stp(name, x, ranks, settings):
    ranks = [min(r, c) for r, c in zip(ranks, _stp_caps(name, x.shape, settings["t"]))]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # The demo caps the sweeps (n_iter_max) to stay short; the table reports the
        # error reached, so the ConvergenceWarning would only repeat it.
        warnings.simplefilter("ignore")
        dec = FIT_FUNCTIONS[name](
            x,
            list(ranks),
            t=settings["t"],
            n_iter_max=settings["n_iter_max"],
            tol=settings["tol"],
            random_state=settings["random_state"],
        )
    seconds = time.perf_counter() - t0
    err = float(np.linalg.norm(np.asarray(dec.to_tensor()) - x) / np.linalg.norm(x))
    t = dec.t[0] if len(set(dec.t)) == 1 else dec.t
    return dec, _row(type(dec).title, dec.ranks, t, dec.n_params, x.size, err, seconds)


def _stp_caps(name, shape, t):
    """Tucker-type ranks may not exceed the mode sizes (small windows in tests)."""
    if format_class(name).twin == "tucker":
        return [i - i % t for i in shape]
    return [math.inf] * len(DEMO_RANKS[name][0])


def _fit_twin(twin, x, stp_row, settings):
    _, _, fit, to_tensor = _TWINS[twin]
    ranks = matched_ranks(twin, x.shape, list(stp_row["ranks"]), stp_row["params"])
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arrays = fit(x, ranks, settings)
    seconds = time.perf_counter() - t0
    n_params = sum(int(np.asarray(a).size) for a in arrays)
    err = float(np.linalg.norm(np.asarray(to_tensor(arrays)) - x) / np.linalg.norm(x))
    return _row(TWIN_TITLES[twin], ranks, 1, n_params, x.size, err, seconds)


def run_demo(x, levels=3, settings=None, progress=None):
    """Fit every demo format and its twin at ``levels`` budgets; return the table rows.

    ``progress(label)`` is called before each fit (for a progress bar).
    """
    settings = {**DEMO_SETTINGS, **(settings or {})}
    rows = []
    with _one_blas_thread():
        for name in DEMO_RANKS:
            _fit_family(name, x, levels, settings, progress, rows)
    return rows


def n_fits(levels):
    """How many fits `run_demo` makes at ``levels`` budget levels (for the progress bar)."""
    return 2 * sum(len(r[:levels]) for r in DEMO_RANKS.values())


def _one_blas_thread():
    """Pin BLAS to one thread for every method alike.

    On a small or shared machine, multi-threaded OpenBLAS on the many small GEMMs of
    these fits gives 10x timing spikes; one thread makes the time column comparable
    and repeatable.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _fit_family(name, x, levels, settings, progress, rows):
    """The rows of one format and its twin (appended to ``rows``)."""
    cls = format_class(name)
    for ranks in DEMO_RANKS[name][:levels]:
        if progress is not None:
            progress(f"{cls.title} {ranks}")
        _, stp_row = _fit_stp(name, x, ranks, settings)
        if progress is not None:
            progress(TWIN_TITLES[cls.twin])
        rows.append(stp_row)
        rows.append(_fit_twin(cls.twin, x, stp_row, settings))


def plot_rows(rows, path, title):
    """Relative error against compression ratio, one line per method, saved to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    for method in methods:
        pts = sorted((r["ratio"], r["rel_error"]) for r in rows if r["method"] == method)
        style = "-" if method.startswith("TensorLy") else "--"
        ax.plot(*zip(*pts), style, marker="o", label=method)
    ax.set_xscale("log")
    ax.set_xlabel("compression ratio (full size / parameters)")
    ax.set_ylabel("relative error ‖X − X̂‖/‖X‖")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
