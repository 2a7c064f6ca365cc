"""Index arrays of logical matrices: dtype, validation of user input, dense → indices."""

from __future__ import annotations

import numpy as np

from .._namespace import to_numpy

__all__ = ["index_dtype", "as_index_array", "dense_to_indices"]

_INT32_MAX = np.iinfo(np.int32).max


def index_dtype(m):
    """Smallest index dtype that holds row numbers below ``m`` (int32 or int64)."""
    return np.dtype(np.int32) if m <= _INT32_MAX else np.dtype(np.int64)


def as_index_array(indices):
    """Return ``indices`` as a 1-d numpy integer array (not yet copied: the caller copies)."""
    if hasattr(indices, "__array_namespace__") or hasattr(indices, "detach"):
        arr = to_numpy(indices)
    else:
        arr = np.asarray(indices)
    if arr.dtype == np.bool_ or not (arr.dtype.kind in "iu" or arr.size == 0):
        raise TypeError(
            "indices must be a 1-d sequence of integers (0-based row numbers); "
            f"got an array of dtype {arr.dtype}"
        )
    if arr.ndim != 1:
        raise ValueError(f"indices must be 1-d (one row number per column); got shape {arr.shape}")
    return arr


def dense_to_indices(M):
    """Return ``(indices, m)`` of a dense logical matrix, or raise naming the bad column."""
    arr = to_numpy(M) if hasattr(M, "detach") else np.asarray(M)
    if arr.ndim != 2:
        raise ValueError(f"M must be a 2-d logical matrix; got shape {arr.shape}")
    if arr.shape[1] == 0 or arr.shape[0] == 0:
        raise ValueError(f"M must have at least one row and column; got shape {arr.shape}")
    nonzero = arr != 0
    is_one = arr == 1
    good = (nonzero.sum(axis=0) == 1) & (is_one.sum(axis=0) == 1)
    if not good.all():
        j = int(np.flatnonzero(~good)[0])
        raise ValueError(
            "M must be a logical matrix (each column a unit vector: one 1, zeros "
            f"elsewhere); column {j} is {arr[:, j].tolist()}"
        )
    return np.argmax(is_one, axis=0), arr.shape[0]
