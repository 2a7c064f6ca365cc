"""The dask options of ``semitensor decompose``: lazy input and where the fit runs.

``--chunks`` reads the INPUT lazily (a ``.zarr`` store, or a ``.npy`` file memory-
mapped) as a dask array with those chunks; ``--workers N --memory-limit M`` starts a
``LocalCluster`` for the fit, ``--scheduler ADDRESS`` uses an existing one; with
``--chunks`` alone the fit runs on the threads of this process.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from .commands import InputError

__all__ = ["add_dask_arguments", "uses_dask", "open_lazy", "dask_session"]


def add_dask_arguments(parser):
    """Add ``--chunks``, ``--workers``, ``--memory-limit`` and ``--scheduler`` to ``parser``."""
    group = parser.add_argument_group("large tensors (needs semitensor[dask])")
    group.add_argument(
        "--chunks",
        help="read INPUT (.zarr or .npy) lazily in chunks: 'auto', an int or comma-separated "
        "ints (-1: a whole mode), e.g. 64,64,-1",
    )
    group.add_argument("--workers", type=int, help="fit on a LocalCluster of N worker processes")
    group.add_argument("--memory-limit", help="memory per worker of --workers, e.g. 2GB")
    group.add_argument("--scheduler", metavar="ADDRESS", help="fit on an existing dask cluster")


def uses_dask(args):
    """Whether the dask path was asked for (and the options fit together)."""
    if args.chunks is None:
        if args.workers is not None or args.memory_limit or args.scheduler:
            raise InputError("--workers, --memory-limit and --scheduler need --chunks")
        return False
    if args.scheduler and (args.workers is not None or args.memory_limit):
        raise InputError("give either --scheduler or --workers/--memory-limit, not both")
    if args.memory_limit and args.workers is None:
        raise InputError("--memory-limit needs --workers")
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be a positive integer; got {args.workers}")
    return True


def _chunks(text):
    if text == "auto":
        return "auto"
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--chunks must be 'auto' or comma-separated ints; got {text!r}") from None
    if any(v == 0 or v < -1 for v in values):
        raise InputError(f"--chunks entries must be positive or -1; got {text!r}")
    return values[0] if len(values) == 1 else values


def _dask():
    try:
        import dask.array as da
    except ImportError:
        raise InputError('--chunks needs dask: pip install "semitensor[dask]"') from None
    return da


def open_lazy(path, key, chunks):
    """INPUT as a lazy dask array: a ``.zarr`` store or a memory-mapped ``.npy`` file."""
    da = _dask()
    chunks = _chunks(chunks)
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file or store")
    suffix = os.path.splitext(path.rstrip("/"))[1].lower()
    if suffix == ".zarr":
        try:
            x = da.from_zarr(path, component=key)
        except Exception as exc:
            raise InputError(f"{path}: cannot read it as a zarr array ({exc})") from None
        return x if chunks == "auto" else x.rechunk(chunks)
    if suffix != ".npy" or key is not None:
        raise InputError(f"{path}: with --chunks INPUT must be a .zarr store or a .npy file")
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        raise InputError(f"{path}: cannot read it as .npy ({exc})") from None
    try:
        return da.from_array(data, chunks=chunks)
    except ValueError as exc:
        raise InputError(f"--chunks {chunks!r} does not fit shape {data.shape} ({exc})") from None


@contextlib.contextmanager
def dask_session(args):
    """The dask scheduler of the fit: a LocalCluster, an existing one, or threads."""
    if args.scheduler is None and args.workers is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError(
            '--workers/--scheduler need distributed: pip install "semitensor[dask]"'
        ) from None
    if args.scheduler is not None:
        try:
            client = Client(args.scheduler, timeout="10s")
        except OSError as exc:
            raise InputError(f"--scheduler {args.scheduler}: cannot connect ({exc})") from None
        with client:
            yield client
        return
    limit = args.memory_limit or "auto"
    with LocalCluster(
        n_workers=args.workers, threads_per_worker=1, memory_limit=limit, dashboard_address=":0"
    ) as cluster, Client(cluster) as client:  # fmt: skip
        yield client
