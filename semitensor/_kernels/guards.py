"""Checks that run before any kernel: what an operand holds, and what fits in memory."""

from __future__ import annotations

import math

import numpy as np

from .._memory import check_allocation
from .._namespace import host_array
from .plans import batch_shape, out_shape

__all__ = ["check_operand", "check_fits"]


def check_operand(x, name):
    """TypeError naming the operand for input numpy would take but the STP cannot."""
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array, and the STP algebra has no rule for masked "
            "entries: pass x.filled(value) or x.data explicitly"
        )
    if isinstance(x, np.ndarray):
        arr = x
    elif type(x).__module__.split(".")[0] == "torch":
        return  # every torch dtype is numeric or Boolean
    else:
        arr = host_array(x, name)
    if arr.dtype.kind not in "biufc":
        raise TypeError(
            f"{name} has dtype {arr.dtype} ({_KIND_NAMES.get(arr.dtype.kind, 'non-numeric')}); "
            "the STP algebra needs Boolean, integer, real or complex entries"
        )


_KIND_NAMES = {
    "O": "Python objects, e.g. None",
    "U": "strings",
    "S": "bytes",
    "M": "datetimes",
    "m": "timedeltas",
    "V": "structured or void",
}


def check_fits(A, B):
    """MemoryError before any work when the product is larger than the host's memory.

    Without it, ``stp(rand(1, 9973), rand(9967, 1))``-sized products spent seconds
    building plans before failing (issue 17); accelerator memory is left to torch.
    Outputs under ``_ALWAYS_FITS`` bytes skip the check: formatting its message cost
    9 µs per call, half the time of a 0.5 MB product (bench_stp.py --sweep).
    """
    rows, cols = out_shape(*A.shape[-2:], *B.shape[-2:])
    lead = batch_shape(A.shape[:-2], B.shape[:-2])
    if math.prod(lead) * rows * cols * 16 < _ALWAYS_FITS:
        return
    check_allocation(
        f"the STP of shapes {tuple(A.shape)} and {tuple(B.shape)} has shape {lead}"
        f" + {(rows, cols)}",
        (*lead, rows, cols),
        A.dtype,
        getattr(A, "device", None),
    )


# No host this library runs on has less memory than this (16 bytes: the widest dtype).
_ALWAYS_FITS = 1 << 26
