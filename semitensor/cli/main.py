"""The ``semitensor`` command's parser and entry point (also ``python -m semitensor``).

Sub-commands::

    semitensor demo [--plot FILE.png] [--levels 1-3] [--size N] [--quiet]
    semitensor decompose INPUT --format {sttu,stt,str} (--ranks R | --eps E) [--t T]
                         [--side left|right] [--full-core auto|MODE] [--key KEY]
                         [--missing nan | --mask M.npy]
                         -o OUTPUT.npz [--force]
    semitensor reconstruct FACTORS.npz -o OUTPUT.npy [--force]
    semitensor info FACTORS.npz

Exit statuses are those of ``docs/cli.md``: 0 on success; 2 for a usage or input
error (a one-line message on stderr, no traceback); 1 for anything else (set
``SEMITENSOR_DEBUG=1`` to see the traceback); 130 when interrupted. Long fits show a
tqdm progress bar on stderr when stderr is a terminal; ``--quiet`` silences it.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from .. import __version__
from . import commands
from ._dask_options import add_dask_arguments
from .commands import PROG, InputError
from .demo import FIT_FUNCTIONS

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error raises `InputError` (one line, exit 2) instead of exiting."""

    def error(self, message):
        raise InputError(f"{message} (see '{self.prog} --help')")


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
    demo.set_defaults(func=commands.cmd_demo)

    formats = list(FIT_FUNCTIONS)
    dec = sub.add_parser(
        "decompose",
        help="fit a decomposition to a tensor in a .npy/.npz file",
        description="Fit an STP decomposition and save it (cores and metadata) to .npz.",
    )
    dec.add_argument("input", metavar="INPUT", help=".npy or .npz file holding the tensor")
    dec.add_argument("--key", help="array name inside an .npz INPUT")
    dec.add_argument("--format", choices=formats, help="format to fit (required)")
    # The old spelling of --format, kept working; commands.cmd_decompose warns.
    dec.add_argument("--method", choices=formats, help=argparse.SUPPRESS)
    dec.add_argument("--ranks", help="ranks: an int or comma-separated ints (e.g. 8,8,4)")
    dec.add_argument("--eps", type=float, help="relative error target (instead of --ranks)")
    dec.add_argument("--t", default="2", help="STP factor: an int or comma-separated ints")
    dec.add_argument("--side", choices=["left", "right"], default="left")
    dec.add_argument(
        "--full-core",
        metavar="auto|MODE",
        help="str only: the mode of the full core (default auto: the fewest parameters)",
    )
    dec.add_argument("--n-iter-max", type=int, default=100, help="maximum sweeps (100)")
    dec.add_argument(
        "--tol", type=float, default=None, help="stopping tolerance (the function's: 1e-3)"
    )
    dec.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    dec.add_argument(
        "--missing",
        choices=["nan"],
        help="NaN entries are missing: fit the finite ones only (rel_error is on those)",
    )
    dec.add_argument(
        "--mask", metavar="M.npy", help="boolean .npy of the tensor's shape, True = observed"
    )
    dec.add_argument("-o", "--output", required=True, metavar="OUTPUT.npz")
    dec.add_argument("--force", action="store_true", help="overwrite OUTPUT")
    dec.add_argument("-q", "--quiet", action="store_true", help="no progress bar or warnings")
    add_dask_arguments(dec)
    dec.set_defaults(func=commands.cmd_decompose)

    rec = sub.add_parser(
        "reconstruct",
        help="write the full tensor of a saved decomposition to .npy",
        description="Rebuild the full tensor of a decomposition saved by 'decompose'.",
    )
    rec.add_argument("factors", metavar="FACTORS.npz")
    rec.add_argument("-o", "--output", required=True, metavar="OUTPUT.npy")
    rec.add_argument("--force", action="store_true", help="overwrite OUTPUT")
    rec.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    rec.set_defaults(func=commands.cmd_reconstruct)

    info = sub.add_parser(
        "info",
        help="describe a saved decomposition",
        description="Print format, shape, ranks, t, parameters and compression ratio.",
    )
    info.add_argument("factors", metavar="FACTORS.npz")
    info.set_defaults(func=commands.cmd_info)
    return parser


def main(argv=None):
    """Run the ``semitensor`` command; return the exit status (0, 1, 2 or 130).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for a usage or input error, 1 for any other error, 130 when
        interrupted. Errors are reported as one line on stderr.

    Examples
    --------
    >>> from semitensor.cli import main
    >>> main(["--version"])  # doctest: +ELLIPSIS
    semitensor ...
    0
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
    except np.linalg.LinAlgError as exc:  # a ValueError, but a numerical failure, not the user's
        if _debug():
            raise
        print(
            f"{PROG}: error: numerical failure (LinAlgError: {_one_line(exc)}); "
            "set SEMITENSOR_DEBUG=1 for the traceback",
            file=sys.stderr,
        )
        return 1
    except MemoryError as exc:
        if _debug():
            raise
        print(
            f"{PROG}: error: not enough memory ({_one_line(exc)}); try smaller --ranks or "
            "a smaller tensor",
            file=sys.stderr,
        )
        return 2
    except (InputError, ValueError, OSError) as exc:
        if _debug():
            raise
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if _debug():
            raise
        print(
            f"{PROG}: error: {type(exc).__name__}: {_one_line(exc)} "
            "(set SEMITENSOR_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


def _debug():
    """Whether SEMITENSOR_DEBUG asks for tracebacks: 1, true or yes (not 0, no, or empty)."""
    return os.environ.get("SEMITENSOR_DEBUG", "").strip().lower() in {"1", "true", "yes"}


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__
