"""Compress a real image with STTu, STT and STR and plot each next to the original.

The image is the Indian Pines hyperspectral cube that TensorLy ships (AVIRIS, 145×145
pixels × 200 bands, CC BY 3.0): height × width × wavelength, a natural 3-way tensor.
It is shown as a false-colour picture (three of its bands as red, green, blue).

Run: python examples/compress_image.py [OUT.png]   (needs matplotlib: pip install ".[plot]")
The figure goes to OUT.png, or to a temporary directory when no path is given.
"""

import os
import sys
import tempfile
import time

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tensorly.datasets import load_indian_pines  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import semitensor as st  # noqa: E402
from semitensor.decomposition.str import str_decompose  # noqa: E402
from semitensor.decomposition.stt import stt_decompose  # noqa: E402

SMALL = os.environ.get("SEMITENSOR_EXAMPLE_SMALL") == "1"
size = 32 if SMALL else 144  # pixels per side (a multiple of t = 2)
cube = np.asarray(load_indian_pines().tensor, dtype=np.float64)[:size, :size, :]
cube /= cube.max()

fit = {"t": 2}  # default stopping: each fit ends when its error has settled
methods = {
    "STTu": lambda: st.sttu_decompose(cube, [size // 4, size // 4, 16], **fit),
    "STT": lambda: stt_decompose(cube, [16, 16], random_state=0, **fit),
    "STR": lambda: str_decompose(cube, [4, 16, 16], random_state=0, **fit),
}


def false_colour(x, bands=(50, 27, 17)):
    """Three bands as an RGB picture, each stretched between its 1st and 99th percentiles."""
    rgb = x[:, :, list(bands)]
    lo, hi = np.percentile(cube[:, :, list(bands)], [1, 99], axis=(0, 1))
    return np.clip((rgb - lo) / (hi - lo), 0, 1)


fig, axes = plt.subplots(1, 1 + len(methods), figsize=(4 * (1 + len(methods)), 4.4))
axes[0].imshow(false_colour(cube))
axes[0].set_title(f"original\n{cube.shape}, {cube.size:,} numbers")
for ax, (name, run) in zip(axes[1:], methods.items()):
    start = time.perf_counter()
    with threadpool_limits(1, user_api="blas"):  # small GEMMs: one thread is faster
        dec = run()
    seconds = time.perf_counter() - start
    approx = np.asarray(dec.to_tensor())
    err = np.linalg.norm(approx - cube) / np.linalg.norm(cube)
    print(
        f"{name:5} ranks {dec.ranks}: {dec.n_params:,} parameters, "
        f"{dec.compression_ratio:.0f}x smaller, rel. error {err:.3f}, {seconds:.1f} s"
    )
    ax.imshow(false_colour(approx))
    ax.set_title(f"{name}, ranks {dec.ranks}, t=2\n{dec.compression_ratio:.0f}x, error {err:.3f}")
for ax in axes:
    ax.axis("off")
fig.tight_layout()

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.mkdtemp(), "compressed.png")
fig.savefig(out, dpi=100, bbox_inches="tight")
print("figure written to", out)
