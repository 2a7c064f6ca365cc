"""Dask input of the fits: checked and summarised in one pass over the chunks.

`prepare_dask` is the dask twin of `_prepare.prepare_tensor`: the same rules (real,
finite, no empty mode, float64 working copy, extreme magnitudes rescaled), but
every check is one reduction of one `dask.compute`, so the tensor is read once and
never gathered. `frob_error` is the chunk-wise ``‖X − X̂‖`` of a format;
`GATHER_ENTRIES` the size up to which an intermediate result goes to the client.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .._kernels.dask_blocks import check_known_chunks
from ._prepare import _LARGEST, _SMALLEST

__all__ = [
    "GATHER_ENTRIES",
    "prepare_dask",
    "refuse_in_memory_options",
    "check_client",
    "worker_memory",
    "frob_error",
]

#: Intermediate results up to this many entries (32 MB of float64) are gathered to
#: the client and the fit goes on there in numpy; larger ones stay on the workers.
GATHER_ENTRIES = 1 << 22


def check_client():
    """Refuse to run on a closed ``distributed`` client (dask would fail late, or hang)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return
    import dask

    client = dask.config.get("scheduler", None)
    if not isinstance(client, distributed.Client):
        try:
            client = distributed.default_client()
        except ValueError:  # no client: dask's local scheduler (threads) runs the graph
            return
    if client.status in ("closing", "closed"):
        raise RuntimeError(
            f"the dask client is {client.status}; start a new one (distributed.Client(...)) "
            "or unset it (dask.config.set(scheduler=None)) so dask falls back to threads"
        )


def worker_memory():
    """The sum of the workers' memory limits in bytes; None on dask's local schedulers.

    None too where a worker has no limit (it may use the machine's memory).
    """
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    import dask

    client = dask.config.get("scheduler", None)
    if client in (None, "dask.distributed", "distributed"):  # what a Client sets
        try:
            client = distributed.default_client()
        except ValueError:
            return None
    if not isinstance(client, distributed.Client):
        return None  # a local scheduler named in the config ("threads", "sync", ...)
    limits = [w.get("memory_limit") for w in client.scheduler_info()["workers"].values()]
    return sum(limits) if limits and all(limits) else None


def refuse_in_memory_options(fname, *, mask=None, validation_mask=None, linesearch=False):
    """TypeError for the keywords that only in-memory fits take, given with a dask array."""
    if linesearch is not False:
        raise TypeError(f"{fname}: linesearch is not supported for dask arrays yet; leave it False")
    if mask is not None or validation_mask is not None:
        raise TypeError(
            f"{fname}: mask= and validation_mask= are not supported for dask arrays yet; "
            "fit a numpy array, or give the missing entries a value"
        )


def prepare_dask(tensor, min_ndim=2):
    """``(x, out_dtype, scale, norm_x)`` of a dask tensor, checked in one pass.

    ``x`` is the lazy float64 (rescaled) data, ``norm_x`` its Frobenius norm.
    """
    import dask

    check_client()
    check_known_chunks(tensor)
    kind = tensor.dtype.kind
    if kind == "c":
        raise TypeError(
            f"tensor must be real; got dtype {tensor.dtype} (fit the real and imaginary "
            "parts separately, or use a real embedding)"
        )
    if kind not in "biuf":
        raise TypeError(f"tensor must hold real numbers; got an array of dtype {tensor.dtype}")
    if 0 in tensor.shape:
        raise ValueError(f"tensor must not have a mode of size 0; got shape {tensor.shape}")
    if tensor.ndim < min_ndim:
        raise ValueError(f"tensor must have order at least {min_ndim}; got a {tensor.ndim}-d array")
    x = tensor.astype(np.float64)
    finite, top, sq = dask.compute((abs(x) < np.inf).all(), abs(x).max(), (x * x).sum())
    if not finite:
        raise ValueError("tensor must be finite; it holds NaN or Inf entries")
    out_dtype = tensor.dtype if kind == "f" else np.dtype(np.float64)
    top = float(top)
    scale = 1.0
    if top != 0.0 and not _SMALLEST < top < _LARGEST:
        scale = top
        x = x / top
        sq = float((x * x).sum().compute())
    return x, out_dtype, scale, math.sqrt(float(sq))


def frob_error(x, approx):
    """``‖x − approx‖_F`` chunk by chunk (``approx`` lazy with the chunks of ``x``)."""
    d = x - approx
    return math.sqrt(float((d * d).sum().compute()))
