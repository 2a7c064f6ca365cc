"""The ``semitensor`` command (also ``python -m semitensor``).

Sub-commands::

    semitensor demo [--plot FILE.png] [--levels 1-3] [--size N] [--quiet]
    semitensor decompose INPUT --method {sttu,stt,str} (--ranks R | --eps E) [--t T]
                         [--side left|right] [--key KEY] -o OUTPUT.npz [--force]
    semitensor reconstruct FACTORS.npz -o OUTPUT.npy [--force]
    semitensor info FACTORS.npz

Exit status: 0 on success; 2 for a usage or input error (a one-line message on
stderr, no traceback); 1 for anything else (set ``SEMITENSOR_DEBUG=1`` to see the
traceback). Long fits show a tqdm progress bar on stderr when stderr is a terminal;
``--quiet`` silences it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np

from . import __version__
from ._registry import FORMATS, available_formats, get_format

__all__ = ["main"]

PROG = "semitensor"


class InputError(Exception):
    """A usage or input error: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error raises `InputError` (one line, exit 2) instead of exiting."""

    def error(self, message):
        raise InputError(f"{message} (see '{self.prog} --help')")


# --- the table ---------------------------------------------------------------------

_COLUMNS = [
    ("method", "<", lambda r: r["method"]),
    ("ranks", "<", lambda r: ",".join(str(v) for v in r["ranks"])),
    ("t", ">", lambda r: _fmt_t(r["t"])),
    ("params", ">", lambda r: f"{r['params']:,}"),
    ("ratio", ">", lambda r: f"{r['ratio']:.1f}"),
    ("rel. error", ">", lambda r: f"{r['rel_error']:.4f}"),
    ("time (s)", ">", lambda r: f"{r['time']:.2f}"),
]


def _fmt_t(t):
    if isinstance(t, (tuple, list)):
        return ",".join(str(v) for v in t) if len(set(t)) > 1 else str(t[0] if t else 1)
    return str(t)


def format_table(rows):
    """The rows as an aligned text table (header, rule, one line per row)."""
    cells = [[fmt(r) for _, _, fmt in _COLUMNS] for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (h, _, _) in enumerate(_COLUMNS)]
    lines = ["  ".join(f"{h:{a}{w}}" for (h, a, _), w in zip(_COLUMNS, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for c in cells:
        lines.append("  ".join(f"{v:{a}{w}}" for v, (_, a, _), w in zip(c, _COLUMNS, widths)))
    return "\n".join(lines)


def _result_row(entry, dec, x=None, seconds=float("nan")):
    info = getattr(dec, "info", None)
    err = info.rel_error if info is not None and info.errors else float("nan")
    if err != err and x is not None:
        full = np.asarray(dec.to_tensor())
        err = float(np.linalg.norm(full - x) / np.linalg.norm(x))
    return {
        "method": entry.title,
        "ranks": dec.ranks,
        "t": dec.t,
        "params": dec.n_params,
        "ratio": dec.compression_ratio,
        "rel_error": err,
        "time": seconds,
    }


# --- progress --------------------------------------------------------------------


def _show_progress(args):
    return not args.quiet and sys.stderr.isatty()


class _Progress:
    """A tqdm bar on stderr, or nothing (when quiet or stderr is not a terminal)."""

    def __init__(self, enabled, total, desc, unit):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)

    def fit_callback(self, iteration, decomposition, rel_error):
        """Callback for the fitting functions: position and current relative error."""
        if self.bar is not None:
            self.bar.n = min(iteration, self.bar.total)
            self.bar.set_postfix_str(f"rel. error {rel_error:.4f}", refresh=True)
        return False

    def step(self, label):
        if self.bar is not None:
            if self.bar.desc:
                self.bar.update(1)
            self.bar.set_description_str(label)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# --- input and output -------------------------------------------------------------


def _read_tensor(path, key):
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".npy", ".npz"):
        raise InputError(f"{path}: INPUT must be a .npy or .npz file")
    try:
        data = np.load(path, allow_pickle=False)
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
    if not np.all(np.isfinite(x)):
        raise InputError(f"{path}: the tensor holds NaN or Inf values")
    return np.asarray(x, dtype=np.float64)


def _check_output(path, force):
    if os.path.exists(path) and not force:
        raise InputError(f"{path} exists; pass --force to overwrite it")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(f"{path}: directory {directory} does not exist")


def _save_npy(array, path):
    """np.save to a temporary file, then rename (no half-written file on failure)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _int_list(text, name):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise InputError(
            f"{name} must be an int or comma-separated ints (e.g. 8 or 8,8,4); got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


# --- sub-commands ----------------------------------------------------------------


def _cmd_demo(args):
    from ._demo import DEMO_SETTINGS, load_demo_data, plot_rows, run_demo

    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise InputError(
                "--plot needs matplotlib: pip install 'semitensor[plot]' (or pip install "
                "matplotlib)"
            ) from None
    if args.size < 4 or args.size % 4 or args.size > 144:
        raise InputError(f"--size must be a multiple of 4 between 4 and 144; got {args.size}")
    x = load_demo_data(args.size)
    entries = available_formats()
    print(
        f"Indian Pines hyperspectral image (AVIRIS, CC BY 3.0; shipped with TensorLy): "
        f"{x.shape[0]}x{x.shape[1]} pixels x {x.shape[2]} bands = {x.size:,} numbers.\n"
        f"STP formats: t={DEMO_SETTINGS['t']}, left side; TensorLy twins at the same "
        f"parameter budget; iterative fits: tol={DEMO_SETTINGS['tol']:g}, "
        f"n_iter_max={DEMO_SETTINGS['n_iter_max']}, random_state="
        f"{DEMO_SETTINGS['random_state']}."
    )
    if len(entries) < len(FORMATS):
        missing = [e.title for e in FORMATS.values() if not e.available]
        print(f"(not in this installation: {', '.join(missing)})")
    n_fits = 2 * sum(len(e.demo_ranks[: args.levels]) for e in entries)
    progress = _Progress(_show_progress(args), n_fits, "", "fit")
    start = time.perf_counter()
    try:
        rows = run_demo(x, levels=args.levels, progress=progress.step)
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
        plot_rows(rows, args.plot, f"Indian Pines {x.shape[0]}x{x.shape[1]}x{x.shape[2]}")
        print(f"plot written to {args.plot}")
    return 0


def _cmd_decompose(args):
    entry = get_format(args.method)
    if not entry.available:
        raise InputError(f"--method {args.method}: {entry.title} is not in this installation")
    if (args.ranks is None) == (args.eps is None):
        raise InputError("give exactly one of --ranks and --eps")
    ranks = None if args.ranks is None else _int_list(args.ranks, "--ranks")
    t = _int_list(args.t, "--t")
    _check_output(args.output, args.force)
    x = _read_tensor(args.input, args.key)
    progress = _Progress(_show_progress(args), args.n_iter_max, f"{entry.title} fit", unit="sweep")
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dec = entry.decompose(
                x,
                ranks,
                t=t,
                side=args.side,
                eps=args.eps,
                n_iter_max=args.n_iter_max,
                tol=args.tol,
                random_state=args.seed,
                callback=progress.fit_callback,
            )
    finally:
        progress.close()
    seconds = time.perf_counter() - start
    if not args.quiet:
        for w in caught:
            print(f"{PROG}: warning: {w.message}", file=sys.stderr)
    from .io import save

    save(dec, args.output, overwrite=args.force)
    print(format_table([_result_row(entry, dec, x, seconds)]))
    return 0


def _cmd_reconstruct(args):
    from .io import load

    _check_output(args.output, args.force)
    dec = load(args.factors)
    _save_npy(np.asarray(dec.to_tensor()), args.output)
    if not args.quiet:
        print(f"wrote {args.output}: shape {dec.shape}, dtype {np.asarray(dec.to_tensor()).dtype}")
    return 0


def _cmd_info(args):
    from .io import _load

    dec, meta = _load(args.factors)
    entry = get_format(meta["format"])
    lines = [
        ("file", args.factors),
        ("format", f"{entry.title} (written by semitensor {meta.get('version', '?')})"),
        ("shape", "x".join(str(s) for s in dec.shape)),
        ("ranks", ",".join(str(r) for r in dec.ranks)),
        ("t", ",".join(str(v) for v in dec.t) or "-"),
        ("side", dec.side),
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


def build_parser():
    """The argument parser of the ``semitensor`` command."""
    parser = _Parser(
        prog=PROG,
        description="Semi-tensor products and STP tensor decompositions (STTu, STT, STR).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    demo = sub.add_parser(
        "demo",
        help="decompose a real hyperspectral image with every format and TensorLy's",
        description="Fit STTu, STT and STR and TensorLy's Tucker, TT and TR at matched "
        "parameter budgets on a window of the Indian Pines hyperspectral image, and "
        "print one table.",
    )
    demo.add_argument("--plot", metavar="FILE.png", help="save error vs compression ratio")
    demo.add_argument(
        "--levels", type=int, choices=[1, 2, 3], default=3, help="rank levels (default 3)"
    )
    demo.add_argument("--size", type=int, default=64, help="window side in pixels (default 64)")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=_cmd_demo)

    dec = sub.add_parser(
        "decompose",
        help="fit a decomposition to a tensor in a .npy/.npz file",
        description="Fit an STP decomposition and save it (cores and metadata) to .npz.",
    )
    dec.add_argument("input", metavar="INPUT", help=".npy or .npz file holding the tensor")
    dec.add_argument("--key", help="array name inside an .npz INPUT")
    dec.add_argument("--method", required=True, choices=list(FORMATS), help="format to fit")
    dec.add_argument("--ranks", help="ranks: an int or comma-separated ints (e.g. 8,8,4)")
    dec.add_argument("--eps", type=float, help="relative error target (instead of --ranks)")
    dec.add_argument("--t", default="2", help="STP factor: an int or comma-separated ints")
    dec.add_argument("--side", choices=["left", "right"], default="left")
    dec.add_argument("--n-iter-max", type=int, default=100, help="maximum sweeps (100)")
    dec.add_argument("--tol", type=float, default=1e-8, help="stopping tolerance (1e-8)")
    dec.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    dec.add_argument("-o", "--output", required=True, metavar="OUTPUT.npz")
    dec.add_argument("--force", action="store_true", help="overwrite OUTPUT")
    dec.add_argument("-q", "--quiet", action="store_true", help="no progress bar or warnings")
    dec.set_defaults(func=_cmd_decompose)

    rec = sub.add_parser(
        "reconstruct",
        help="write the full tensor of a saved decomposition to .npy",
        description="Rebuild the full tensor of a decomposition saved by 'decompose'.",
    )
    rec.add_argument("factors", metavar="FACTORS.npz")
    rec.add_argument("-o", "--output", required=True, metavar="OUTPUT.npy")
    rec.add_argument("--force", action="store_true", help="overwrite OUTPUT")
    rec.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    rec.set_defaults(func=_cmd_reconstruct)

    info = sub.add_parser(
        "info",
        help="describe a saved decomposition",
        description="Print format, shape, ranks, t, parameters and compression ratio.",
    )
    info.add_argument("factors", metavar="FACTORS.npz")
    info.set_defaults(func=_cmd_info)
    return parser


def main(argv=None):
    """Run the ``semitensor`` command; return the exit status (0, 1 or 2).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for a usage or input error, 1 for any other error. Errors are
        reported as one line on stderr.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (InputError, ValueError, TypeError, FileNotFoundError, FileExistsError) as exc:
        if os.environ.get("SEMITENSOR_DEBUG"):
            raise
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if os.environ.get("SEMITENSOR_DEBUG"):
            raise
        print(
            f"{PROG}: error: {type(exc).__name__}: {_one_line(exc)} "
            "(set SEMITENSOR_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__
