"""Lazy, chunk-wise reconstructions: ``to_tensor(chunks=...)`` of every format.

Each chunk of the dask array is computed from the small arrays alone (as numpy),
so a reconstruction larger than memory can be written to zarr chunk by chunk.
STTu: every mode product takes only the factor rows its chunk needs (the left side
selects the digits ``k`` of ``i = k·t + σ``, the right side the core rows of the
digits ``σ`` of ``i = σ·I/t + k``), never ``U ⊗ I_t``. STT and STR: the exact
tensor ring (SPEC §4) with its cores sliced along their mode index.
"""

from __future__ import annotations

import numpy as np

from .._kernels.dask_blocks import lazy_blocks
from .._namespace import to_numpy
from ..tenalg import stp_mode_dot
from .chain import stt_to_ring

__all__ = ["lazy_sttu", "lazy_ring", "ring_of_stt"]


def _sttu_rows(g, u, n, t, side, sl):
    """Rows ``sl`` of ``g ⋉_n u`` (``u ⊗ I_t`` or ``I_t ⊗ u``) from the rows they need."""
    a, b = sl.start, sl.stop
    if side == "left":  # i = k·t + σ: factor rows k0 … k1
        k0, k1 = a // t, -(-b // t)
        out = stp_mode_dot(g, u[k0:k1], n, side="left")
        lo = k0 * t
    else:  # i = σ·K + k: core rows of the digits σ0 … σ1
        k, r = u.shape
        s0, s1 = a // k, -(-b // k)
        index = (slice(None),) * n + (slice(s0 * r, s1 * r),)
        out = stp_mode_dot(g[index], u, n, side="right")
        lo = s0 * k
    return out[(slice(None),) * n + (slice(a - lo, b - lo),)]


def lazy_sttu(core, factors, t, side, shape, chunks):
    """Lazy dask array of an STTu tensor, chunked as ``chunks``."""
    core = to_numpy(core)
    factors = [to_numpy(u) for u in factors]

    def block(slices):
        g = core
        for n, sl in enumerate(slices):
            g = _sttu_rows(g, factors[n], n, t[n], side, sl)
        return g

    return lazy_blocks(shape, chunks, block, core.dtype)


def _ring_block(cores, slices):
    """``X[slices]`` of the tensor ring ``cores`` (numpy), by one GEMM per core."""
    h0 = cores[0][:, slices[0], :]
    r0 = h0.shape[0]
    out = h0.reshape(-1, h0.shape[2])  # rows (a_0, i_0)
    for h, sl in zip(cores[1:], slices[1:]):
        h = h[:, sl, :]
        out = (out @ h.reshape(h.shape[0], -1)).reshape(-1, h.shape[2])
    sizes = tuple(s.stop - s.start for s in slices)
    return np.einsum("aia->i", out.reshape(r0, -1, r0)).reshape(sizes)


def lazy_ring(cores, shape, chunks):
    """Lazy dask array of the tensor ring ``cores`` (``(r_k, I_k, r_{k+1})``)."""
    cores = [np.ascontiguousarray(to_numpy(c)) for c in cores]
    return lazy_blocks(shape, chunks, lambda sl: _ring_block(cores, sl), cores[0].dtype)


def _uniform(ts, name):
    if len(set(ts)) > 1:
        raise ValueError(
            f"to_tensor(chunks=...) of an {name} needs the same t for every core; got t={ts}"
        )
    return ts[0] if ts else 1


def ring_of_stt(cores, ts, side):
    """The tensor ring of an STT (for `lazy_ring`)."""
    return stt_to_ring(list(cores), _uniform(ts, "STTTensor"), side)
