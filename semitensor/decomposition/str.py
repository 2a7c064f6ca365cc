"""Fitting a semi-tensor ring (STR, SPEC §4): `str_decompose`.

An STR of ranks ``R`` with a uniform ``t`` represents exactly the tensors of a tensor
ring of ranks ``R/t`` (the first core enters only through its partial trace), so the
fit runs the shared ring-ALS engine on that ring and embeds its first core back.
"""

from __future__ import annotations

import math
from dataclasses import replace

from .._kernels.dask_blocks import is_dask
from .._validation import check_side
from ..formats.chain import (
    cheapest_full_core,
    ring_to_str,
    str_core_shapes,
    str_params,
    str_ring_ranks,
)
from ..formats.str import STRTensor
from ._masked_fit import MaskedData, take_mask
from ._per_core import per_core_t, refuse_per_core, str_per_core
from ._prepare import (
    cast_cores,
    check_bond_list,
    check_full_core,
    check_init,
    check_settings,
    check_uniform_t,
    frobenius_norm,
    like_tensor,
    prepare_tensor,
)
from ._rank_search import check_bonds_useful, grow_until_eps, ring_rank_floor, unfolding_caps
from ._ring_fit import fit_tensor_ring
from ._starts import grow_ring
from ._stopping import warn_unconverged
from .fitinfo import FitInfo

__all__ = ["str_decompose"]


def str_decompose(
    tensor,
    ranks=None,
    t=2,
    *,
    side="left",
    method="als",
    init="svd",
    n_iter_max=100,
    tol=1e-3,
    eps=None,
    n_restarts=1,
    warmup="auto",
    linesearch=False,
    random_state=None,
    verbose=False,
    callback=None,
    mask=None,
    validation_mask=None,
    full_core="auto",
):
    """Semi-tensor ring (STR) decomposition of a tensor (SPEC §4).

    Parameters
    ----------
    tensor : array, shape (I_1, ..., I_N), N >= 2
        numpy array or torch tensor, finite; not modified.
        A dask array is fitted chunk by chunk, results in numpy (see the guide's
        "Large tensors" page for what differs).
    ranks : int, list of N int, or None
        The bond sizes ``R_0, R_1, …, R_{N−1}`` (an int for all bonds), each a
        positive multiple of ``t``. ``None``: chosen from ``eps``.
    t : int or list of int, default 2
        The STP factor of the cores other than the full one: one for all, a list of
        ``N − 1`` (those cores in mode order; ``full_core`` must then be given), or a
        list of ``N`` (one per mode, the full core's entry unused). Different values
        fit by one-core ALS on the full bonds (see
        `~semitensor.decomposition.stt.stt_decompose`, "A t per core").
    side : {"left", "right"}, default "left"
    method : {"als", "svd"}, default "als"
        ``"als"``: alternating least squares on the equivalent ring; ``"svd"``: the
        one-pass TR-SVD sweep only (fast, approximate).
    init : {"svd", "random"} or STRTensor, default "svd"
        Start of the ALS. An STRTensor must have the shape, ranks, ``t`` and side of
        the fit (only its partial-trace ring matters, see Notes).
    n_iter_max, tol, eps, n_restarts, warmup, linesearch, random_state, verbose, callback
        As in `~semitensor.decomposition.stt.stt_decompose` (the same engine, the
        same stopping rule and warm-up); ``callback(iteration, str_tensor,
        rel_error)``.
    mask, validation_mask : bool arrays of the tensor's shape, optional
        Observed entries, and observed entries held out of the fit: as in
        `~semitensor.decomposition.stt.stt_decompose` (docs/missing.md).
    full_core : "auto" or int, default "auto"
        The mode whose core is the full one (see `STRTensor`). ``"auto"``: the one
        that minimises the parameters (least ``R_k I_k R_{k+1}``, the first on ties;
        for equal ranks, the smallest mode). The fitted tensor does not depend on it
        (see Notes): only where the ``t²``-times larger core sits, and so the
        parameter count.

    Returns
    -------
    STRTensor
        Same library, device and floating dtype as ``tensor`` (float64 for integer
        input), with ``info`` (a `~semitensor.decomposition.fitinfo.FitInfo`).

    Raises
    ------
    TypeError
        For arguments of the wrong kind.
    ValueError
        For an order below 2, NaN/Inf entries, ranks that ``t`` does not divide,
        both or neither of ``ranks`` and ``eps``, an ``init`` that does not match, or
        a ``t`` per core with a mask, an int ``warmup`` above 0 or a dask array.

    Warns
    -----
    ConvergenceWarning
        When ALS stops at ``n_iter_max``, or ``eps`` is not reached (with why).

    Notes
    -----
    **What an STR can represent.** ``tr(G_1 (M ⊗ I_t)) = tr(H_1 M)`` with the partial
    trace ``H_1(i) = Σ_{a<t} G_1[a::t, i, a::t]`` (SPEC §4), so an STR of ranks ``R``
    is exactly a tensor ring of ranks ``R/t``: the fit is that ring's ALS (the
    engine of `~semitensor.decomposition.stt.stt_decompose`: TR-SVD start,
    two-core warm-up, one-core ALS), and its error is the error of a TR with ranks
    ``R/t``. The STR's first core then stores ``t²`` times more numbers than
    needed; `STRTensor.compact` returns the smaller exact ring.

    **A t per core.** Different ``t_k`` make the STR the ring of the full bonds
    with cores ``G_k ⊗ I_{t_k}``; its modes are rotated so the full core comes
    first, and the fit is the structured one-core ALS of
    `~semitensor.decomposition.stt.stt_decompose`. The full core then matters: it
    is no longer a partial trace in disguise, and ``"auto"`` picks the placement
    with the fewest parameters among those the bonds allow.

    **Backend and dtype.** As for `~semitensor.decomposition.stt.stt_decompose`:
    the fit runs in the input's library and on its device, in float64, and the
    cores are cast to the input's floating dtype.

    **Embedding.** The ring's core ``H`` on the ``full_core`` mode is embedded as
    the minimum-norm full core with that partial trace: ``H/t`` on each of the ``t``
    diagonal positions (``G[r·t+a, i, s·t+b] = δ_ab H[r, i, s]/t`` on the left side),
    so the result reconstructs exactly the fitted ring's tensor. The ring itself is
    cyclic (``tr`` of a product does not change when its factors rotate), so every
    placement represents the same tensors.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor.formats.str import STRTensor
    >>> rng = np.random.default_rng(0)
    >>> shapes = [(4, 4, 4), (2, 4, 2), (2, 4, 2), (2, 4, 2)]
    >>> x = STRTensor([rng.standard_normal(s) for s in shapes], t=2).to_tensor()
    >>> fit = str_decompose(x, ranks=4, t=2, random_state=0)
    >>> fit.ranks, bool(fit.info.rel_error < 1e-8)
    ((4, 4, 4, 4), True)

    On a tensor whose modes differ, ``"auto"`` puts the full core on the smallest:

    >>> y = rng.standard_normal((6, 8, 2))
    >>> fit = str_decompose(y, ranks=4, t=2, random_state=0)
    >>> fit.full_core, [g.shape for g in fit.cores], fit.n_params
    (2, [(2, 6, 2), (2, 8, 2), (4, 2, 4)], 88)
    """
    if is_dask(tensor):  # chunk-wise passes, small objects on the client (numpy)
        from ._dask_chains import str_decompose_dask
        from ._dask_prepare import refuse_in_memory_options

        refuse_in_memory_options(
            "str_decompose", mask=mask, validation_mask=validation_mask, linesearch=linesearch
        )
        return str_decompose_dask(
            tensor, ranks, t, side=side, init=init, method=method, n_iter_max=n_iter_max,
            tol=tol, eps=eps, n_restarts=n_restarts, warmup=warmup,
            random_state=random_state, verbose=verbose, callback=callback,
            full_core=full_core,
        )  # fmt: skip
    tensor, mask, held = take_mask(tensor, mask, validation_mask)
    xp, x, out_dtype, device, scale = prepare_tensor(tensor)
    n = x.ndim
    per_mode = isinstance(t, (list, tuple)) and len(t) == n
    what = "mode" if per_mode else "core other than the full one"
    per_core = per_core_t(t, n if per_mode else n - 1, what)
    if per_core is None:
        t = check_uniform_t(t, n if per_mode else n - 1, what, "str_decompose")
    side = check_side(side)
    full = check_full_core(full_core, n)
    settings = check_settings(
        "str_decompose",
        method=method,
        methods=("als", "svd"),
        n_iter_max=n_iter_max,
        tol=tol,
        eps=eps,
        n_restarts=n_restarts,
        random_state=random_state,
        verbose=verbose,
        callback=callback,
        warmup=warmup,
        linesearch=linesearch,
    )
    if per_core is not None:
        refuse_per_core("str_decompose", per_core, mask=mask, validation_mask=held, warmup=warmup)
        prepared = (xp, x, out_dtype, device, scale)
        return str_per_core(prepared, ranks, per_core, side, settings, init, full)
    bonds = check_bond_list(ranks, n, t, settings.eps, f"bond sizes R_0..R_{n - 1}")
    check_bonds_useful(bonds, tuple(x.shape), t, ring=True)
    shape = tuple(x.shape)
    check_init(init, STRTensor, settings, shape=shape, bonds=bonds, t=(t,) * (n - 1), side=side)
    if isinstance(init, STRTensor):
        settings = replace(settings, init=like_tensor(init.compact().cores, x))
    else:
        settings = replace(settings, init=init)

    def to_out(ring):
        cores, m = ring_to_str(ring, t, side, full)
        return STRTensor(cast_cores(xp, cores, out_dtype, scale), t, side, m)

    masked = None if mask is None else MaskedData(x, mask, held)

    def fit(bonds, previous=None, settings=settings):
        ranks = str_ring_ranks(bonds, t)
        if previous is not None:  # warm start of the eps rank search
            settings = replace(settings, init=grow_ring(previous, ranks, settings.rng))
        if masked is not None:
            return masked.fit(ranks, settings, wrap=to_out)
        return fit_tensor_ring(x, ranks, settings, wrap=to_out)

    if frobenius_norm(xp, x) == 0.0:
        bonds = bonds or [t] * n
        m = cheapest_full_core(shape, bonds) if full is None else full
        shapes = str_core_shapes(shape, bonds, t, m)
        zeros = [xp.zeros(s, dtype=out_dtype, device=device) for s in shapes]
        result = STRTensor(zeros, t, side, m)
        result.info = FitInfo(method=method, converged=True, stop_reason="exact", errors=[0.0])
        return result
    if bonds is not None:
        ring, info = fit(bonds)
    else:
        search = replace(settings, stop_at=settings.eps)
        start = [t] * n if masked is not None else [t * ring_rank_floor(x, settings.eps)] * n
        ring, info, bonds = grow_until_eps(
            lambda b, previous: fit(b, previous, search),
            start,
            unfolding_caps(shape, t, ring=True),
            t,
            lambda b: str_params(shape, b, t, full),
            math.prod(shape) if masked is None else masked.samples.size,
            settings.eps,
            "str_decompose",
        )
    warn_unconverged(info, "str_decompose", settings.n_iter_max, settings.tol)
    result = to_out(ring)
    result.info = info
    return result
