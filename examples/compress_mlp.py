"""Compress the hidden layer of a small MLP with STT, STR, STTu and plain TT/TR/Tucker.

Trains a 64-256-256-10 MLP on scikit-learn's bundled digits data (8×8 images, no
download), replaces its 256×256 hidden layer by an STP-factorised layer initialised
from the trained weight (``from_linear``: the library's decomposition of the weight
tensor over the interleaved modes (16, 16, 16, 16)), fine-tunes the whole network
briefly and prints one table: method, ranks, t, parameters of the hidden layer,
compression factor, relative error of the weight, test accuracy before and after
fine-tuning. ``t = 1`` rows are the plain formats (TT, TR, Tucker).

Usage::

    python examples/compress_mlp.py [--plot accuracy.png]

``SEMITENSOR_EXAMPLE_SMALL=1`` runs a reduced version in a few seconds (fewer epochs,
one rank per method). ``--plot`` needs matplotlib.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
import warnings

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from semitensor.exceptions import ConvergenceWarning
from semitensor.nn import STRLinear, STTLinear, STTuLinear, compress_linear_layers

SMALL = os.environ.get("SEMITENSOR_EXAMPLE_SMALL") == "1"
EPOCHS = 8 if SMALL else 30
FINE_TUNE_EPOCHS = 2 if SMALL else 5
FIT = {"n_iter_max": 5 if SMALL else 10, "tol": 1e-5, "random_state": 0}
SHAPE = (16, 16)  # 256 = 16·16 on both sides: interleaved modes (16, 16, 16, 16)

# (label, layer class, t, ranks to try)
METHODS = [
    ("STT", STTLinear, 2, [8, 16, 32]),
    ("TT", STTLinear, 1, [4, 8, 16]),
    ("STR", STRLinear, 2, [8, 16]),
    ("TR", STRLinear, 1, [4, 8]),
    ("STTu", STTuLinear, 2, [4, 8]),
    ("Tucker", STTuLinear, 1, [4, 8]),
]
if SMALL:
    METHODS = [(label, cls, t, ranks[:1]) for label, cls, t, ranks in METHODS]


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="PNG", help="save accuracy against compression")
    args = parser.parse_args(argv)
    # The network is tiny: one thread avoids thread start-up and contention costs that
    # dominate small ops on a busy machine (measured: several times faster on 2 cores).
    torch.set_num_threads(1)
    start = time.perf_counter()
    torch.manual_seed(0)
    x_tr, y_tr, x_te, y_te = data()
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )
    train(model, x_tr, y_tr, EPOCHS)
    hidden = model[2]
    dense_params = sum(p.numel() for p in hidden.parameters())
    base_acc = accuracy(model, x_te, y_te)

    rows = [("dense", "-", "-", dense_params, 1.0, 0.0, base_acc, base_acc)]
    for label, cls, t, ranks_list in METHODS:
        for ranks in ranks_list:
            net = copy.deepcopy(model)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # few sweeps on purpose
                layer = cls.from_linear(hidden, SHAPE, SHAPE, ranks, t, **FIT)
            net[2] = layer
            before = accuracy(net, x_te, y_te)
            train(net, x_tr, y_tr, FINE_TUNE_EPOCHS, seed=1)
            after = accuracy(net, x_te, y_te)
            err = layer.init_info.rel_error
            rows.append(
                (label, ranks, t, layer.n_params, layer.compression_ratio, err, before, after)
            )

    head = (
        f"{'method':<8} {'ranks':>5} {'t':>2} {'params':>7} {'compr.':>7} {'w err':>6} "
        f"{'acc before FT':>13} {'acc after FT':>12}"
    )
    print(
        f"digits MLP 64-256-256-10: hidden 256x256 layer (modes {SHAPE + SHAPE}), "
        f"{EPOCHS} epochs + {FINE_TUNE_EPOCHS} fine-tuning epochs{' (small run)' if SMALL else ''}"
    )
    print(head)
    print("-" * len(head))
    for label, ranks, t, n, ratio, err, before, after in rows:
        print(
            f"{label:<8} {ranks!s:>5} {t!s:>2} {n:>7} {ratio:>6.1f}x {err:>6.3f} "
            f"{before:>13.3f} {after:>12.3f}"
        )
    print(
        "w err: relative error of the decomposed weight. An STR with t=2 and ranks R is exactly\n"
        "a TR of ranks R/2 (SPEC §4): it starts from the same weight as that TR row, with more\n"
        "parameters (and a different fine-tuning path: each copy of H_1 gets its gradient)."
    )

    # The whole-model helper: every Linear with at least 4096 weights, STT, ranks 8.
    net = copy.deepcopy(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        report = compress_linear_layers(net, "stt", ranks=8, t=2, min_params=4096, **FIT)
    print(f"\ncompress_linear_layers(model, 'stt', ranks=8, t=2):\n{report}")
    print(f"test accuracy of that model, not fine-tuned: {accuracy(net, x_te, y_te):.3f}")
    print(f"\nfinished in {time.perf_counter() - start:.1f} s")

    if args.plot:
        save_plot(rows, args.plot)


def save_plot(rows, path):
    try:
        import matplotlib
    except ImportError:
        print("--plot needs matplotlib (pip install matplotlib); no plot written")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label in dict.fromkeys(r[0] for r in rows[1:]):
        pts = [r for r in rows if r[0] == label]
        ax.plot([r[4] for r in pts], [r[7] for r in pts], "o-", label=f"{label} (fine-tuned)")
        ax.plot([r[4] for r in pts], [r[6] for r in pts], "x:", color=ax.lines[-1].get_color())
    ax.axhline(rows[0][6], color="k", lw=0.8, label="dense")
    ax.set_xscale("log")
    ax.set_xlabel("compression factor of the hidden layer")
    ax.set_ylabel("test accuracy (x: before fine-tuning)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")


if __name__ == "__main__":
    main()
