"""One guard before large allocations: fail at once, with the size, when it cannot fit.

Without it, an STP, a reconstruction or a constructor whose result is larger than
the machine spends seconds (building plans, contracting half the cores) and then
fails inside numpy with a message that names neither the call nor the argument.
Only host memory is checked: accelerator memory is left to the array library.
"""

from __future__ import annotations

import math
import os

import numpy as np

__all__ = ["check_allocation"]


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        return None


_MEMORY = _physical_memory()


def _itemsize(dtype):
    if str(dtype).startswith("torch."):
        return dtype.itemsize
    return np.dtype(dtype).itemsize


def check_allocation(what, shape, dtype, device=None):
    """MemoryError naming ``what`` when an array of ``shape`` cannot fit in host memory.

    ``what`` describes the result (``"swap_matrix(65536, 65536) has shape ..."``);
    ``device`` is the target array's device (``None`` for numpy): accelerator
    allocations are not checked.
    """
    if _MEMORY is None or getattr(device, "type", "cpu") != "cpu":
        return
    nbytes = math.prod(shape) * _itemsize(dtype)
    if nbytes > _MEMORY:
        raise MemoryError(
            f"{what}: {_size(nbytes)}, more than this machine's {_size(_MEMORY)} of memory"
        )


def _size(nbytes):
    value, unit = nbytes / 2**30, "GiB"
    for larger in ("TiB", "PiB", "EiB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    return f"{value:.1f} {unit}" if value < 1e6 else f"{value:.3g} {unit}"
