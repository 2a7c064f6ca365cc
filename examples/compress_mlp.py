"""Compress the hidden layer of a small MLP with STT, STR, STTu and plain TT/TR/Tucker.

Trains a 64-256-256-10 MLP on scikit-learn's bundled digits data (8×8 images, no
download), replaces its 256×256 hidden layer (interleaved modes (16, 16, 16, 16)) by
an STP layer fitted to the trained weight, for every format at the same target
compression ratios (`semitensor.nn.compress_model` finds the ranks, so the rows of
one target are matched on parameters), fine-tunes the whole network and prints, over
several seeds (mean ± standard deviation), the achieved compression of the hidden
layer with the test accuracy before and after fine-tuning next to it. The dense
reference is trained the same number of epochs. ``t = 1`` rows are the classical
formats (TT, TR, Tucker). The digits test set is small (450 images): differences of
a point or two are within the seed spread.

Usage::

    python examples/compress_mlp.py [--plot accuracy.png]

``SEMITENSOR_EXAMPLE_SMALL=1`` runs a reduced version in a few seconds (fewer epochs,
one seed, one ratio). ``--plot`` needs matplotlib.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
import warnings

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from semitensor.exceptions import ConvergenceWarning
from semitensor.nn import compress_model

SMALL = os.environ.get("SEMITENSOR_EXAMPLE_SMALL") == "1"
EPOCHS = 8 if SMALL else 30
FINE_TUNE_EPOCHS = 2 if SMALL else 5
FIT = {"n_iter_max": 5 if SMALL else 10, "tol": 1e-5, "random_state": 0}
SHAPE = (16, 16)  # factorize(256, 2): interleaved modes (16, 16, 16, 16)

# (label, format, t); every format at the same target ratios of the hidden layer, so
# rows of one ratio have (nearly) the same parameter count: compress_model finds ranks.
METHODS = [("STT", "stt", 2), ("TT", "stt", 1), ("STR", "str", 2), ("TR", "str", 1),
           ("STTu", "sttu", 2), ("Tucker", "sttu", 1)]  # fmt: skip
RATIOS = [4] if SMALL else [4, 16, 64]
SEEDS = 1 if SMALL else 3


def data():
    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x / 16.0, y, test_size=0.25, random_state=0, stratify=y
    )
    as_t = lambda a, dt: torch.as_tensor(a, dtype=dt)  # noqa: E731
    return (
        as_t(x_tr, torch.float32),
        as_t(y_tr, torch.long),
        as_t(x_te, torch.float32),
        as_t(y_te, torch.long),
    )


def train(model, x, y, epochs, lr=1e-3, seed=0):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0])
        for start in range(0, x.shape[0], 64):
            idx = perm[start : start + 64]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model


@torch.no_grad()
def accuracy(model, x, y):
    return float((model(x).argmax(dim=1) == y).float().mean())


def mean_sd(v):
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return statistics.mean(v), sd


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="PNG", help="save accuracy against compression")
    args = parser.parse_args(argv)
    # The network is tiny: one thread avoids thread start-up and contention costs that
    # dominate small ops on a busy machine (measured: several times faster on 2 cores).
    torch.set_num_threads(1)
    start = time.perf_counter()
    x_tr, y_tr, x_te, y_te = data()
    results = {}  # (label, t, ratio) -> [(params, achieved, before, after)]
    dense = []
    for seed in range(SEEDS):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(
            torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
            torch.nn.ReLU(), torch.nn.Linear(256, 10),
        )  # fmt: skip
        train(model, x_tr, y_tr, EPOCHS, seed=seed)
        # The dense reference gets the fine-tuning epochs too: same training for all.
        reference = train(copy.deepcopy(model), x_tr, y_tr, FINE_TUNE_EPOCHS, seed=seed + 100)
        dense.append(accuracy(reference, x_te, y_te))
        hidden = model[2].weight.numel()
        for label, fmt, t in METHODS:
            for ratio in RATIOS:
                net = copy.deepcopy(model)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)  # few sweeps on purpose
                    compress_model(net, fmt, ratio=ratio, t=t, d=2, min_params=hidden,
                                   random_state=seed, n_iter_max=FIT["n_iter_max"],
                                   tol=FIT["tol"])  # fmt: skip
                layer = net[2]
                n = sum(p.numel() for p in layer._weight_parameters())
                before = accuracy(net, x_te, y_te)
                train(net, x_tr, y_tr, FINE_TUNE_EPOCHS, seed=seed + 100)
                after = accuracy(net, x_te, y_te)
                results.setdefault((label, t, ratio), []).append((n, hidden / n, before, after))

    d_mean, d_sd = mean_sd(dense)
    print(
        f"digits MLP 64-256-256-10: hidden 256x256 layer (modes {SHAPE + SHAPE}), "
        f"{EPOCHS} epochs + {FINE_TUNE_EPOCHS} fine-tuning epochs, {SEEDS} seed(s)"
        f"{' (small run)' if SMALL else ''}; test set {len(y_te)} images"
    )
    print(f"dense (same epochs): accuracy {d_mean:.3f} ± {d_sd:.3f}\n")
    head = (f"{'method':<7} {'t':>2} {'target':>6} {'params':>7} {'compr.':>7} "
            f"{'acc before FT':>15} {'acc after FT':>15}")  # fmt: skip
    print(head)
    print("-" * len(head))
    rows = []
    for (label, t, ratio), v in results.items():
        n = statistics.mean(r[0] for r in v)
        achieved = statistics.mean(r[1] for r in v)
        b, a = mean_sd([r[2] for r in v]), mean_sd([r[3] for r in v])
        rows.append((label, achieved, b[0], a[0]))
        print(f"{label:<7} {t:>2} {ratio:>5}x {n:>7.0f} {achieved:>6.1f}x "
              f"{b[0]:>7.3f} ± {b[1]:.3f} {a[0]:>7.3f} ± {a[1]:.3f}")  # fmt: skip
    print(
        "compr.: dense weight entries of the hidden layer / the layer's weight parameters.\n"
        "At one target every format has about the same parameters; compare the rows of one\n"
        "target. An STR with t=2 and ranks R is exactly a TR of ranks R/2 (SPEC §4)."
    )
    print(f"\nfinished in {time.perf_counter() - start:.1f} s")
    if args.plot:
        save_plot(rows, d_mean, args.plot)


def save_plot(rows, dense_acc, path):
    try:
        import matplotlib
    except ImportError:
        print("--plot needs matplotlib (pip install matplotlib); no plot written")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label in dict.fromkeys(r[0] for r in rows):
        pts = [r for r in rows if r[0] == label]
        ax.plot([r[1] for r in pts], [r[3] for r in pts], "o-", label=f"{label} (fine-tuned)")
        ax.plot([r[1] for r in pts], [r[2] for r in pts], "x:", color=ax.lines[-1].get_color())
    ax.axhline(dense_acc, color="k", lw=0.8, label="dense")
    ax.set_xscale("log")
    ax.set_xlabel("compression factor of the hidden layer")
    ax.set_ylabel("test accuracy (x: before fine-tuning)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")


if __name__ == "__main__":
    main()
