"""GPU check: the torch test suite on CUDA, then a GPU-against-CPU timing table.

On a machine with CUDA this script

1. runs ``pytest tests/test_backend_parity.py tests/nn tests/test_ring_als.py``
   (these files put every case on ``"cuda"`` as well as ``"cpu"`` when CUDA is
   available), and
2. times the STP kernels, the semi-tensor mode product, each decomposition and an
   STP layer's training step with torch on the CPU and on the GPU, in float32 and
   float64, and prints one table (median wall time; GPU times include
   ``torch.cuda.synchronize``; the CPU is torch's CPU backend on the same machine).

Without CUDA (or without torch) it prints ``no CUDA device: skipping`` and exits 0.
The whole run is budgeted to finish well within 5 minutes: pytest gets at most
150 s and each timed case stops repeating after about 0.5 s.

Usage::

    python benchmarks/gpu_check.py [--skip-tests] [--skip-timings]

Exit status: 0 when the tests passed (or were skipped), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PYTEST_TIMEOUT = 150
REPEAT_SECONDS = 0.5


def cuda_available():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def run_tests():
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "tests/test_backend_parity.py",
        "tests/nn",
        "tests/test_ring_als.py",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=-ra",
    ]
    print("$ " + " ".join(cmd[2:]), flush=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, timeout=PYTEST_TIMEOUT)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        print(f"pytest did not finish within {PYTEST_TIMEOUT} s", flush=True)
        code = 124
    print(f"pytest exit status {code} after {time.perf_counter() - start:.1f} s\n", flush=True)
    return code


def ms(seconds):
    return f"{seconds * 1e3:10.2f}" if seconds is not None else f"{'-':>10}"


def timed(torch, fn, device):
    """Median seconds of ``fn()`` after one warm-up run (synchronised on CUDA).

    Repeats for about ``REPEAT_SECONDS`` (at least once, at most 50 times).
    """

    def once():
        t0 = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    once()
    times = []
    start = time.perf_counter()
    while not times or (time.perf_counter() - start < REPEAT_SECONDS and len(times) < 50):
        times.append(once())
    return statistics.median(times)


def cases(torch, st):
    """``(name, make)`` pairs; ``make(device, dtype)`` returns the function to time."""
    from semitensor.decomposition.sttu import sttu_decompose
    from semitensor.nn import STPConv2d, STTLinear, STTuLinear

    def rand(shape, device, dtype, seed=0):
        g = torch.Generator(device="cpu").manual_seed(seed)
        return torch.randn(shape, generator=g, dtype=dtype).to(device)

    def stp_case(sa, sb, side):
        def make(device, dtype):
            a, b = rand(sa, device, dtype), rand(sb, device, dtype, 1)
            return lambda: st.stp(a, b, side=side)

        return make

    def mode_case(shape, mat, side):
        def make(device, dtype):
            x, u = rand(shape, device, dtype), rand(mat, device, dtype, 1)
            return lambda: st.stp_mode_dot(x, u, 1, side=side)

        return make

    def sttu_case(shape, ranks, method):
        def make(device, dtype):
            x = rand(shape, device, dtype)
            return lambda: sttu_decompose(x, ranks, 2, method=method, n_iter_max=5, tol=0.0)

        return make

    def fit_case(module, fn_name, shape, ranks):
        def make(device, dtype):
            mod = __import__(module, fromlist=[fn_name])
            fit = getattr(mod, fn_name)
            x = rand(shape, device, dtype)
            return lambda: fit(x, ranks, 2, n_iter_max=5, tol=0.0, random_state=0)

        return make

    def layer_case(cls, ranks, batch):
        def make(device, dtype):
            torch.manual_seed(0)
            layer = cls(1024, 1024, (32, 32), (32, 32), ranks, 2, device=device, dtype=dtype)
            x = rand((batch, 1024), device, dtype)

            def step():
                layer.zero_grad()
                layer(x).square().sum().backward()

            return step

        return make

    def conv_case(method, ranks):
        def make(device, dtype):
            torch.manual_seed(0)
            conv = STPConv2d(
                64, 64, 3, (8, 8, 9), (4, 4, 4), ranks, 1, method=method, padding=1,
                device=device, dtype=dtype,
            )  # fmt: skip
            x = rand((64, 64, 32, 32), device, dtype)

            def step():
                conv.zero_grad()
                conv(x).square().sum().backward()

            return step

        return make

    out = [
        ("stp left (2048x96)⋉(64x2048)", stp_case((2048, 96), (64, 2048), "left")),
        ("stp right (2048x96)⋊(64x2048)", stp_case((2048, 96), (64, 2048), "right")),
        ("stp left stack 10^5 x (4x6)⋉(4x3)", stp_case((100000, 4, 6), (4, 3), "left")),
        ("stp right stack 10^5 x (4x6)⋊(4x3)", stp_case((100000, 4, 6), (4, 3), "right")),
        ("stp_mode_dot 64^4, U 64x32, left", mode_case((64, 64, 64, 64), (64, 32), "left")),
        ("stp_mode_dot 64^4, U 64x32, right", mode_case((64, 64, 64, 64), (64, 32), "right")),
        ("sttu_decompose hosvd 48^4 R=16", sttu_case((48, 48, 48, 48), 16, "hosvd")),
        ("sttu_decompose hooi 48^4 R=16 (5 sweeps)", sttu_case((48, 48, 48, 48), 16, "hooi")),
        ("STTLinear 1024² R=16 fwd+bwd B=4096", layer_case(STTLinear, 16, 4096)),
        ("STTuLinear 1024² R=8 fwd+bwd B=4096", layer_case(STTuLinear, 8, 4096)),
        ("STPConv2d stt 64->64 3x3 R=8 fwd+bwd 64x32x32", conv_case("stt", 8)),
    ]
    try:
        import semitensor.decomposition.stt  # noqa: F401

        out.append(
            (
                "stt_decompose als 12^5 R=8 (5 sweeps)",
                fit_case("semitensor.decomposition.stt", "stt_decompose", (12,) * 5, 8),
            )
        )
    except ImportError:
        pass
    try:
        import semitensor.decomposition.str  # noqa: F401

        out.append(
            (
                "str_decompose als 12^5 R=8 (5 sweeps)",
                fit_case("semitensor.decomposition.str", "str_decompose", (12,) * 5, 8),
            )
        )
    except ImportError:
        pass
    return out


def run_timings(gpu="cuda"):
    import torch

    import semitensor as st

    name = torch.cuda.get_device_name(0) if gpu == "cuda" else "none (dry run: CPU twice)"
    print(f"timings: torch {torch.__version__}, GPU {name}, CPU threads {torch.get_num_threads()}")
    print(f"median wall time in ms (after a warm-up run; about {REPEAT_SECONDS} s per cell)\n")
    head = f"{'case':<44} {'dtype':<8} {'cpu ms':>10} {'gpu ms':>10} {'cpu/gpu':>8}"
    print(head)
    print("-" * len(head), flush=True)
    for label, make in cases(torch, st):
        for dtype in (torch.float32, torch.float64):
            row, times = {}, []
            for device in ("cpu", gpu):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        fn = make(device, dtype)
                        row[device] = timed(torch, fn, device)
                except Exception as exc:  # a failing case is reported, not fatal
                    row[device] = None
                    print(f"  {label} on {device}: {type(exc).__name__}: {exc}"[:200])
                times.append(row[device])
            cpu_s, gpu_s = times[-2:]
            ratio = f"{cpu_s / gpu_s:8.1f}" if cpu_s and gpu_s else f"{'-':>8}"
            print(f"{label:<44} {str(dtype)[6:]:<8} {ms(cpu_s)} {ms(gpu_s)} {ratio}", flush=True)
            if gpu == "cuda":
                torch.cuda.empty_cache()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-tests", action="store_true", help="only print the timings")
    parser.add_argument("--skip-timings", action="store_true", help="only run the tests")
    parser.add_argument(
        "--dry-run-cpu", action="store_true", help="no GPU needed: time the CPU twice (testing)"
    )
    args = parser.parse_args(argv)
    if args.dry_run_cpu:
        run_timings(gpu="cpu")
        return 0
    if not cuda_available():
        print("no CUDA device: skipping")
        return 0
    start = time.perf_counter()
    code = 0 if args.skip_tests else run_tests()
    if not args.skip_timings:
        run_timings()
    print(f"\ngpu_check finished in {time.perf_counter() - start:.1f} s")
    return 1 if code else 0


if __name__ == "__main__":
    sys.exit(main())
