"""`stt_decompose` and `str_decompose` on a dask array (the same checks, then `_dask_ring`).

The arguments are checked as in the numpy fits; the ring ranks, the mapping to and
from the formats and the stopping rules are theirs. ``eps`` grows the bonds from
``t`` as the masked fits do (warm starts, `grow_until_eps`): the in-memory fit starts
from TT-SVD ranks, which need SVDs of unfoldings, so the two can stop at different
ranks. Not on dask: two-core warm-up sweeps, and a two-core STT (a matrix: use the
numpy fit or a truncated SVD).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .._validation import check_side
from ..formats.chain import (
    cheapest_full_core,
    ring_to_str,
    ring_to_stt,
    str_core_shapes,
    str_params,
    str_ring_ranks,
    stt_core_shapes,
    stt_ring_ranks,
    stt_to_ring,
)
from ..formats.str import STRTensor
from ..formats.stt import STTTensor
from ._dask_prepare import prepare_dask
from ._dask_ring import check_dask_warmup, fit_tensor_ring_dask
from ._prepare import (
    cast_cores,
    check_bond_list,
    check_full_core,
    check_init,
    check_settings,
    check_uniform_t,
)
from ._rank_search import check_bonds_useful, grow_until_eps, unfolding_caps
from ._starts import grow_ring
from ._stopping import warn_unconverged
from .fitinfo import FitInfo

__all__ = ["stt_decompose_dask", "str_decompose_dask"]


def _settings(name, kw):
    settings = check_settings(
        name,
        method=kw["method"],
        methods=("als", "svd"),
        n_iter_max=kw["n_iter_max"],
        tol=kw["tol"],
        eps=kw["eps"],
        n_restarts=kw["n_restarts"],
        random_state=kw["random_state"],
        verbose=kw["verbose"],
        callback=kw["callback"],
        warmup=kw["warmup"],
    )
    check_dask_warmup(settings.warmup, name)
    return settings


def _numpy_cores(cores):
    return [np.array(np.asarray(c), dtype=np.float64) for c in cores]


def stt_decompose_dask(tensor, ranks, t, *, side, init, **kw):
    """`~semitensor.decomposition.stt.stt_decompose` of a dask array (``N >= 3``)."""
    x, out_dtype, scale, norm_x = prepare_dask(tensor, min_ndim=3)
    n, shape = x.ndim, tuple(x.shape)
    t = check_uniform_t(t, n - 2, "interior core", "stt_decompose")
    side = check_side(side)
    settings = _settings("stt_decompose", kw)
    bonds = check_bond_list(ranks, n - 1, t, settings.eps, f"bond sizes R_1..R_{n - 1}")
    check_bonds_useful(bonds, shape, t)
    check_init(init, STTTensor, settings, shape=shape, bonds=bonds, t=(t,) * (n - 2), side=side)
    if isinstance(init, STTTensor):
        init = stt_to_ring(_numpy_cores(init.cores), t, side)
    settings = replace(settings, init=init)

    if norm_x == 0.0:
        bonds = bonds or [t] * (n - 1)
        return _zero(STTTensor, stt_core_shapes(shape, bonds, t), t, side, out_dtype, kw)

    def wrap(ring):
        return STTTensor(cast_cores(np, ring_to_stt(ring, t, side), out_dtype, scale), t, side)

    ring, info = _fit_or_search(
        x, bonds, lambda b: stt_ring_ranks(b, t), settings, norm_x, wrap,
        (unfolding_caps(shape, t), t, lambda b: _count(stt_core_shapes(shape, b, t)), n - 1),
    )  # fmt: skip
    warn_unconverged(info, "stt_decompose", settings.n_iter_max, settings.tol, stacklevel=4)
    result = wrap(ring)
    result.info = info
    return result


def str_decompose_dask(tensor, ranks, t, *, side, init, full_core, **kw):
    """`~semitensor.decomposition.str.str_decompose` of a dask array."""
    x, out_dtype, scale, norm_x = prepare_dask(tensor, min_ndim=2)
    n, shape = x.ndim, tuple(x.shape)
    t = check_uniform_t(t, n - 1, "core other than the full one", "str_decompose")
    side = check_side(side)
    full = check_full_core(full_core, n)
    settings = _settings("str_decompose", kw)
    bonds = check_bond_list(ranks, n, t, settings.eps, f"bond sizes R_0..R_{n - 1}")
    check_bonds_useful(bonds, shape, t, ring=True)
    check_init(init, STRTensor, settings, shape=shape, bonds=bonds, t=(t,) * (n - 1), side=side)
    if isinstance(init, STRTensor):
        init = _numpy_cores(init.compact().cores)
    settings = replace(settings, init=init)

    if norm_x == 0.0:
        bonds = bonds or [t] * n
        m = cheapest_full_core(shape, bonds) if full is None else full
        shapes = str_core_shapes(shape, bonds, t, m)
        return _zero(STRTensor, shapes, t, side, out_dtype, kw, full_core=m)

    def wrap(ring):
        cores, m = ring_to_str(ring, t, side, full)
        return STRTensor(cast_cores(np, cores, out_dtype, scale), t, side, m)

    ring, info = _fit_or_search(
        x, bonds, lambda b: str_ring_ranks(b, t), settings, norm_x, wrap,
        (unfolding_caps(shape, t, ring=True), t, lambda b: str_params(shape, b, t, full), n),
    )  # fmt: skip
    warn_unconverged(info, "str_decompose", settings.n_iter_max, settings.tol, stacklevel=4)
    result = wrap(ring)
    result.info = info
    return result


def _fit(x, ranks, settings, norm_x, wrap):
    return fit_tensor_ring_dask(x, ranks, settings, norm_x, wrap=wrap)


def _zero(cls, shapes, t, side, dtype, kw, **options):
    """The exact fit of a zero tensor (as the numpy fits return it)."""
    result = cls([np.zeros(s, dtype=dtype) for s in shapes], t, side, **options)
    result.info = FitInfo(method=kw["method"], converged=True, stop_reason="exact", errors=[0.0])
    return result


def _count(shapes):
    return sum(math.prod(s) for s in shapes)


def _fit_or_search(x, bonds, ring_ranks, settings, norm_x, wrap, search):
    """The fit at ``bonds``, or (``bonds`` None) the ``eps`` search over them."""
    if bonds is not None:
        return _fit(x, ring_ranks(bonds), settings, norm_x, wrap)
    caps, step, n_params, n_bonds = search
    stop_at = replace(settings, stop_at=settings.eps)

    def fit(b, previous):
        s = stop_at
        if previous is not None:
            s = replace(s, init=grow_ring(previous, ring_ranks(b), s.rng))
        return _fit(x, ring_ranks(b), s, norm_x, wrap)

    name = settings.name
    ring, info, _ = grow_until_eps(
        fit, [step] * n_bonds, caps, step, n_params, math.prod(x.shape), settings.eps, name
    )
    return ring, info
