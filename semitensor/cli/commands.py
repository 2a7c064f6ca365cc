"""The sub-commands of ``semitensor``: demo, decompose, reconstruct, info.

Each ``cmd_*`` takes the parsed arguments, prints its result on stdout and returns
the exit status; a usage or input error is an `InputError` (see `semitensor.cli.main`
for how errors become exit statuses).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import sys
import time
import warnings

import numpy as np

from .. import io
from .._validation import (
    check_eps,
    check_int_in_range,
    check_nonnegative_int,
    check_positive_int,
    check_tol,
)
from ..formats import format_class
from ._progress import Progress, show_progress
from ._table import format_table, result_row

__all__ = [
    "InputError",
    "PROG",
    "check_output",
    "check_plot_path",
    "cmd_decompose",
    "cmd_demo",
    "cmd_info",
    "cmd_reconstruct",
    "read_tensor",
    "memory_bytes",
]

PROG = "semitensor"


class InputError(Exception):
    """A usage or input error: reported in one line, exit status 2."""


# --- input and output -------------------------------------------------------------


def read_tensor(path, key, finite=True):
    """The tensor in a ``.npy`` file, or array ``key`` of an ``.npz`` file, as float64.

    ``finite=False`` lets NaN/Inf through (missing entries, given a mask).
    """
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory; INPUT must be a .npy or .npz file")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".npy", ".npz"):
        raise InputError(f"{path}: INPUT must be a .npy or .npz file")
    try:
        data = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except Exception as exc:  # numpy/zip format errors: a bad file
        raise InputError(f"{path}: cannot read it as {suffix} ({exc})") from None
    if suffix == ".npz":
        with data:
            names = list(data.files)
            if key is None:
                if len(names) != 1:
                    raise InputError(
                        f"{path} holds {len(names)} arrays ({', '.join(names)}); choose one "
                        "with --key"
                    )
                key = names[0]
            if key not in names:
                raise InputError(f"{path} has no array {key!r}; it holds {', '.join(names)}")
            try:
                x = data[key]
            except Exception as exc:
                raise InputError(f"{path}: cannot read array {key!r} ({exc})") from None
    else:
        if key is not None:
            raise InputError("--key applies to .npz input only")
        x = data
    if x.dtype.kind not in "biuf":
        raise InputError(f"{path}: the tensor must be real numbers; got dtype {x.dtype}")
    if finite and not np.all(np.isfinite(x)):
        raise InputError(
            f"{path}: the tensor holds NaN or Inf values (missing entries: add --missing nan, "
            "or --mask M.npy)"
        )
    return np.asarray(x, dtype=np.float64)


def read_mask(path, x, missing):
    """The observed entries: ``--mask`` (a boolean .npy of the tensor's shape), ``--missing``."""
    mask = np.isfinite(x) if missing == "nan" else None
    if path is None:
        return mask
    if not os.path.isfile(path):
        raise InputError(f"--mask {path}: no such file")
    try:
        m = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy format errors: a bad file
        raise InputError(f"--mask {path}: cannot read it as .npy ({exc})") from None
    if not isinstance(m, np.ndarray) or m.dtype != bool or m.shape != x.shape:
        what = f"dtype {m.dtype}, shape {m.shape}" if isinstance(m, np.ndarray) else "an archive"
        raise InputError(
            f"--mask {path} must be a boolean .npy of the tensor's shape {x.shape} "
            f"(True = observed); got {what}"
        )
    return m if mask is None else m & mask


def _writable_directory(path, what):
    """Refuse a path that is a directory, or whose directory is missing or read-only."""
    if os.path.isdir(path):
        raise InputError(f"{what}{path} is a directory; give the path of a file to write")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(f"{what}{path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise InputError(f"{what}{path}: directory {directory} is not writable")


def check_output(path, force):
    """Refuse an existing output without ``--force`` and an output that cannot be written.

    Checked before any work, so a long fit never ends in a refusal to save it.
    """
    _writable_directory(path, "")
    if os.path.lexists(path) and not force:
        raise InputError(f"{path} exists; pass --force to overwrite it")


def check_plot_path(path):
    """Refuse a ``--plot`` file that matplotlib cannot write, before the demo runs."""
    _writable_directory(path, "--plot ")
    from matplotlib.backend_bases import FigureCanvasBase

    kinds = FigureCanvasBase.get_supported_filetypes()
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    if suffix not in kinds:
        known = ", ".join("." + k for k in sorted(kinds))
        got = "." + suffix if suffix else "no suffix"
        raise InputError(
            f"--plot {path}: the file name must end in a format matplotlib writes ({known}); "
            f"got {got}"
        )


def memory_bytes():
    """The physical memory of this machine in bytes, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _int_list(text, name):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise InputError(
            f"{name} must be an int or comma-separated ints (e.g. 8 or 8,8,4); got {text!r}"
        ) from None
    values = [check_positive_int(v, name) for v in values]
    return values[0] if len(values) == 1 else values


def _full_core_argument(text):
    """``--full-core``: ``auto`` or a mode index (range checked by the fit)."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise InputError(f"--full-core must be 'auto' or a mode (an int); got {text!r}") from None


def _format_argument(args):
    """``--format``, or its deprecated spelling ``--method`` (with a note on stderr)."""
    if args.method is not None:
        if args.format is not None and args.format != args.method:
            raise InputError(
                f"--format {args.format} and --method {args.method} disagree; give --format only"
            )
        print(f"{PROG}: warning: --method is deprecated; use --format", file=sys.stderr)
        return args.method
    if args.format is None:
        raise InputError("the following arguments are required: --format")
    return args.format


# --- sub-commands ----------------------------------------------------------------


def cmd_demo(args):
    """``semitensor demo``: the table of every format and its TensorLy twin."""
    from . import demo

    check_int_in_range(args.size, "--size", 4, 144, multiple_of=4)
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise InputError(
                "--plot needs matplotlib: pip install 'semitensor[plot]' (or pip install "
                "matplotlib)"
            ) from None
        check_plot_path(args.plot)
    x = demo.load_demo_data(args.size)
    settings = demo.DEMO_SETTINGS
    print(
        f"Indian Pines hyperspectral image (AVIRIS, CC BY 3.0; shipped with TensorLy): "
        f"{x.shape[0]}x{x.shape[1]} pixels x {x.shape[2]} bands = {x.size:,} numbers.\n"
        f"STP formats: t={settings['t']}, left side; TensorLy twins at the same "
        f"parameter budget; iterative fits: tol={settings['tol']:g}, "
        f"n_iter_max={settings['n_iter_max']}, random_state="
        f"{settings['random_state']}."
    )
    progress = Progress(show_progress(args), demo.n_fits(args.levels), "", "fit")
    start = time.perf_counter()
    try:
        rows = demo.run_demo(x, levels=args.levels, progress=progress.step)
    finally:
        progress.close()
    total = time.perf_counter() - start
    print()
    print(format_table(rows))
    print(
        f"\n{len(rows)} fits in {total:.1f} s (ratio = full size / parameters; one BLAS "
        "thread).\nAlgorithms: STTu and TensorLy Tucker by HOOI; STT and STR by ALS; "
        "TensorLy TT and TR by\ntheir one-pass SVDs (tensor_train, tensor_ring). An STR "
        "of ranks R is a TR of ranks R/t\n(see the theory page of the docs)."
    )
    if args.plot is not None:
        demo.plot_rows(rows, args.plot, f"Indian Pines {x.shape[0]}x{x.shape[1]}x{x.shape[2]}")
        print(f"plot written to {args.plot}")
    return 0


def cmd_decompose(args):
    """``semitensor decompose``: fit one format to a tensor file and save it."""
    from .demo import FIT_FUNCTIONS

    name = _format_argument(args)
    fit = FIT_FUNCTIONS[name]
    if (args.ranks is None) == (args.eps is None):
        raise InputError("give exactly one of --ranks and --eps")
    ranks = None if args.ranks is None else _int_list(args.ranks, "--ranks")
    t = _int_list(args.t, "--t")
    check_eps(args.eps, "--eps")
    if args.tol is not None:  # else the fitting function's own default
        check_tol(args.tol, "--tol")
    check_positive_int(args.n_iter_max, "--n-iter-max")
    check_nonnegative_int(args.seed, "--seed")
    check_output(args.output, args.force)
    from . import _dask_options

    lazy = _dask_options.uses_dask(args)
    if lazy and (args.missing is not None or args.mask is not None):
        raise InputError(
            "--missing and --mask are not supported with --chunks yet (masked fits run "
            "in memory); drop --chunks, or give the missing entries a value"
        )
    if lazy:  # chunk-wise: the tensor is never read whole
        x = _dask_options.open_lazy(args.input, args.key, args.chunks)
    elif args.missing is None and args.mask is None:
        x = read_tensor(args.input, args.key)
    else:
        x = read_tensor(args.input, args.key, finite=False)
    mask = None if lazy else read_mask(args.mask, x, args.missing)
    options = {} if mask is None else {"mask": mask}
    if args.tol is not None:
        options["tol"] = args.tol
    if args.full_core is not None:
        if name != "str":
            raise InputError(f"--full-core applies to --format str only; got --format {name}")
        options["full_core"] = _full_core_argument(args.full_core)
    progress = Progress(
        show_progress(args), args.n_iter_max, f"{format_class(name).title} fit", unit="sweep"
    )
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with _dask_options.dask_session(args) if lazy else contextlib.nullcontext():
                dec = fit(
                    x,
                    ranks,
                    t=t,
                    side=args.side,
                    eps=args.eps,
                    n_iter_max=args.n_iter_max,
                    random_state=args.seed,
                    callback=progress.fit_callback,
                    **options,
                )
    finally:
        progress.close()
    seconds = time.perf_counter() - start
    if not args.quiet:
        for w in caught:
            print(f"{PROG}: warning: {w.message}", file=sys.stderr)
    io.save(dec, args.output, overwrite=args.force)
    print(format_table([result_row(dec, None if lazy else x, seconds)]))
    return 0


def cmd_reconstruct(args):
    """``semitensor reconstruct``: write the full tensor of a saved decomposition."""
    check_output(args.output, args.force)
    dec = io.load(args.factors)
    _check_full_size(args.factors, dec, args.output)
    full = np.asarray(dec.to_tensor())  # once: it may be most of the memory
    io.save_array(full, args.output, overwrite=args.force)
    if not args.quiet:
        print(f"wrote {args.output}: shape {dec.shape}, dtype {full.dtype}")
    return 0


def _check_full_size(factors, dec, output):
    """Refuse a full tensor larger than half the memory or than the output's free disk."""
    dtype = np.result_type(*[np.asarray(a).dtype for a in dec.named_arrays().values()])
    nbytes = math.prod(dec.shape) * dtype.itemsize
    shape = "x".join(str(s) for s in dec.shape)
    memory = memory_bytes()
    if memory is not None and nbytes > memory // 2:
        raise InputError(
            f"{factors}: the full tensor ({shape}, {dtype}) takes {_size(nbytes)}, more than "
            f"half of this machine's memory ({_size(memory)}); read entries or slices in "
            "Python instead (semitensor.load)"
        )
    free = shutil.disk_usage(os.path.dirname(os.path.abspath(output))).free
    if nbytes > free:
        raise InputError(
            f"{output}: the full tensor ({shape}, {dtype}) takes {_size(nbytes)}, more than "
            f"the {_size(free)} free on its disk"
        )


def _size(nbytes):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:,.0f} {unit}" if unit == "bytes" else f"{nbytes:,.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def cmd_info(args):
    """``semitensor info``: describe a saved decomposition."""
    meta = io.read_metadata(args.factors)
    dec = io.load(args.factors)
    lines = [
        ("file", args.factors),
        ("format", f"{type(dec).title} (written by semitensor {meta.get('version', '?')})"),
        ("shape", "x".join(str(s) for s in dec.shape)),
        ("ranks", ",".join(str(r) for r in dec.ranks)),
        ("t", ",".join(str(v) for v in dec.t) or "-"),
        ("side", dec.side),
        *((k.replace("_", " "), str(v)) for k, v in dec.options().items()),
        ("parameters", f"{dec.n_params:,}"),
        ("compression ratio", f"{dec.compression_ratio:.2f}"),
        ("dtype", str(meta.get("dtype", "?"))),
    ]
    info = dec.info
    if info is not None:
        err = f"{info.rel_error:.4g}" if info.errors else "n/a"
        fit = f"{info.method}, {info.n_iter} sweeps, stop: {info.stop_reason or '?'}"
        lines.append(("fit", f"{fit}, relative error {err}"))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return 0
