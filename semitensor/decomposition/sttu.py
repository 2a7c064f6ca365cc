"""Fitting the semi-tensor Tucker (STTu) format: structured HOSVD and HOOI (SPEC §4).

For mode ``n`` the factor ``U_n ⊗ I_{t_n}`` (left side) acts on the slow digit of
``i_n = k·t_n + σ``. Reshaping the rows of the mode-n unfolding to ``(I_n/t_n, t_n)``
and laying the ``t_n`` row subsets side by side gives ``Z_n``, an
``(I_n/t_n) × (t_n·∏_{k≠n} I_k)`` matrix with
``‖X ×_n ((I − U_nU_nᵀ) ⊗ I_{t_n})‖ = ‖(I − U_nU_nᵀ) Z_n‖``, so the best structured
subspace is the leading left singular subspace of ``Z_n``. The right side uses the
fast digit ``i_n = σ·(I_n/t_n) + k``.
"""

from __future__ import annotations

import logging
import time

from .._kernels.dask_blocks import is_dask
from ..formats.sttu import STTuTensor
from ._masked_fit import take_mask
from ._masked_sttu import fit_masked_sttu
from ._prepare import cast_cores, prepare_tensor
from ._progress import SweepBar
from ._stopping import exact_level, logger, settled, warn_unconverged
from ._sttu_problem import _check_ranks, _Problem, check_sttu_arguments
from .fitinfo import FitInfo

__all__ = ["sttu_decompose"]


def sttu_decompose(
    tensor,
    ranks=None,
    t=2,
    *,
    side="left",
    method="hooi",
    n_iter_max=100,
    tol=1e-3,
    eps=None,
    random_state=None,
    verbose=False,
    callback=None,
    mask=None,
):
    """Semi-tensor Tucker decomposition by structured HOSVD, optionally refined by HOOI.

    Fits ``X ≈ G ×_1 (U_1⊗I_{t_1}) ×_2 … ×_N (U_N⊗I_{t_N})`` (SPEC §4) with
    orthonormal ``U_n`` of shape ``(I_n/t_n) × (R_n/t_n)``.

    Parameters
    ----------
    tensor : array, shape (I_1, ..., I_N)
        numpy array or torch tensor (nested lists become numpy); finite, real.
        A dask array is fitted chunk by chunk, results in numpy (see the guide's
        "Large tensors" page for what differs).
        Integer input is converted to float64. Never modified.
    ranks : int, sequence of int or None
        Core sizes ``R_n``: one int for all modes or one per mode; each a positive
        multiple of ``t_n`` no larger than ``I_n``. ``None`` when ``eps`` is given.
    t : int or sequence of int, default 2
        STP factor per mode; must divide ``I_n``. ``t = 1`` is plain Tucker.
    side : {"left", "right"}, default "left"
        ``U_n ⊗ I_{t_n}`` (left) or ``I_{t_n} ⊗ U_n`` (right).
    method : {"hooi", "hosvd"}, default "hooi"
        ``"hosvd"``: the closed form (leading left singular subspace of each
        ``Z_n``); ``"hooi"``: that start refined by structured HOOI sweeps.
    n_iter_max : int, default 100
        Maximum number of HOOI sweeps (each updates every factor once).
    tol : float, default 1e-3
        HOOI stops when the error is predicted to fall by less than ``tol`` times
        itself over the remaining sweeps: the rule of every fit of the library (see
        `~semitensor.decomposition.stt.stt_decompose`, Notes).
    eps : float, optional
        Relative error target used when ``ranks`` is None: the smallest ranks
        (multiples of ``t_n``) whose HOSVD error bound is at most ``eps·‖X‖`` (see
        Notes). Give either ``ranks`` or ``eps``.
    random_state : None, int or numpy Generator, optional
        Accepted for the library's uniform keyword vocabulary and validated; both
        methods are deterministic, so no random numbers are drawn.
    verbose : bool, default False
        Log the error of each sweep at INFO level on the
        ``semitensor.decomposition`` logger (DEBUG otherwise), and show a tqdm
        progress bar on stderr when it is a terminal.
    callback : callable, optional
        ``callback(iteration, decomposition, rel_error)`` after the start (iteration
        0) and after every sweep; returning True stops the fit
        (``info.stop_reason == "callback"`` unless the tolerance was met too).
    mask : bool array of the tensor's shape, optional
        True at the observed entries (a `numpy.ma` tensor gives its own): the fit
        is structured HOOI with the unobserved entries imputed from the current
        reconstruction at every sweep (EM, see docs/missing.md); their values are
        never read. ``info.errors`` is then the error on the observed entries;
        ``eps`` is not supported with a mask (give ``ranks``).

    Returns
    -------
    STTuTensor
        With orthonormal factors and ``info`` (a
        `~semitensor.decomposition.fitinfo.FitInfo`): method, ``n_iter``,
        ``converged``, ``stop_reason`` (``"closed_form"``, ``"tol"``, ``"exact"``,
        ``"n_iter_max"`` or ``"callback"``), ``errors`` (relative error after the
        start and after each sweep) and ``times``. The arrays are in the input's
        library, on its device and in its floating dtype (float64 for integer
        input); the fit itself runs in float64 (in float32 the Gram route cannot
        resolve the kept directions and a fit took 4-12x longer). With ``eps``,
        ``info.ranks_used`` holds the
        chosen ranks.

    Raises
    ------
    TypeError
        If an argument has the wrong type (``ranks``, ``t``, ``eps``, ``callback``,
        ``random_state``, complex ``tensor``).
    ValueError
        If ``tensor`` holds NaN/Inf or is 0-d, a ``t_n`` does not divide ``I_n``, a
        rank is not a multiple of ``t_n`` or exceeds ``I_n``, both or neither of
        ``ranks`` and ``eps`` are given, or ``method``, ``side``, ``n_iter_max``,
        ``tol`` or ``eps`` is out of range.

    Warns
    -----
    ConvergenceWarning
        If HOOI used ``n_iter_max`` sweeps without meeting ``tol``.

    See Also
    --------
    semitensor.formats.sttu.STTuTensor : the result format.

    Notes
    -----
    *Closed form.* ``Z_n`` is the ``(I_n/t_n) × (t_n·∏_{k≠n}I_k)`` matrix that lays
    the ``t_n`` interleaved row subsets of the mode-n unfolding side by side; ``U_n``
    spans its leading ``R_n/t_n`` left singular vectors and the core is
    ``X ×_1 (U_1⊗I)ᵀ … ×_N (U_N⊗I)ᵀ``.

    *Error bound (eps).* The structured projections commute and are orthogonal, so
    the HOSVD error satisfies
    ``‖X − X̂‖² ≤ Σ_n Σ_{i > R_n/t_n} σ_i(Z_n)²``. With ``eps`` the modes are taken in
    order, each keeping the fewest singular vectors whose discarded energy is at most
    its share of what is left of the budget ``eps²‖X‖²`` (``1/N`` of it for the first
    mode, and whatever a mode leaves unused goes on to the next), hence
    ``‖X − X̂‖ ≤ eps·‖X‖``. HOOI never increases the error, so the bound holds for
    both methods.

    *Cost.* The subspaces come from the ``(I_n/t_n)²`` Gram matrix ``Z_nZ_nᵀ`` and
    a symmetric eigendecomposition instead of an SVD of the wide ``Z_n``. The Gram
    route resolves singular values down to about ``sqrt(u)·σ_1`` (``u`` the unit
    roundoff): when a kept eigenvalue lies within ``1e4·J·u·λ_1`` of zero, or
    ``eps²/N < 100·J²·u``, the SVD of ``Z_n`` is used instead. A HOOI sweep
    alternates direction and reuses the partial projections of the previous sweep,
    so it costs about one full-size projection ``2·∏I_k·R_n/t_n`` flops plus
    smaller ones, instead of one per mode. ``U_n ⊗ I_{t_n}`` is never formed.

    References
    ----------
    .. [1] L. De Lathauwer, B. De Moor, J. Vandewalle, "A multilinear singular value
       decomposition" and "On the best rank-1 and rank-(R1,...,RN) approximation of
       higher-order tensors", SIAM J. Matrix Anal. Appl. 21(4), 2000.
    .. [2] D. Cheng, H. Qi, Z. Li, "Analysis and Control of Boolean Networks: A
       Semi-tensor Product Approach", Springer, 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor.formats.sttu import STTuTensor
    >>> from semitensor.decomposition.sttu import sttu_decompose
    >>> rng = np.random.default_rng(0)
    >>> truth = STTuTensor(rng.standard_normal((4, 4, 2)),
    ...     [rng.standard_normal((4, 2)), rng.standard_normal((6, 2)),
    ...      rng.standard_normal((3, 1))], t=2)
    >>> X = truth.to_tensor()
    >>> dec = sttu_decompose(X, ranks=[4, 4, 2], t=2)
    >>> dec.info.rel_error < 1e-10
    True
    >>> dec.n_params < X.size
    True
    >>> by_eps = sttu_decompose(X + 1e-3 * rng.standard_normal(X.shape), None, t=2, eps=0.1)
    >>> by_eps.ranks
    (4, 4, 2)
    """
    if is_dask(tensor):  # chunk-wise passes, small objects on the client (numpy)
        from ._dask_prepare import refuse_in_memory_options
        from ._dask_sttu import sttu_decompose_dask

        refuse_in_memory_options("sttu_decompose", mask=mask)
        return sttu_decompose_dask(
            tensor, ranks, t, side=side, method=method, n_iter_max=n_iter_max, tol=tol,
            eps=eps, random_state=random_state, verbose=verbose, callback=callback,
        )  # fmt: skip
    # --- validation, before any array work -------------------------------------
    # Fitted in float64 whatever the input, cast back: in float32 the Gram route cannot
    # resolve the kept directions (its rounding level is 1e4·J·u·λ_1 with u = 6e-8),
    # so every subspace fell back to the SVD of the wide Z_n and a fit took 4-12x
    # longer than in float64; half precision has no eigh kernels at all.
    tensor, mask, _ = take_mask(tensor, mask)
    xp, x, out_dtype, _, scale = prepare_tensor(tensor, min_ndim=1)
    shape = tuple(x.shape)
    t, side, settings = check_sttu_arguments(
        shape, t, side, method, n_iter_max, tol, eps, random_state, verbose, callback
    )
    eps = settings.eps
    if mask is not None and eps is not None:
        raise ValueError("sttu_decompose: eps is not supported with a mask; give ranks")
    ranks = _check_ranks(ranks, eps, shape, t)
    level = logging.INFO if verbose else logging.DEBUG

    # --- structured HOSVD start, then HOOI ---------------------------------------
    prob = _Problem(
        xp, x, float(xp.linalg.vector_norm(x)), t, side, float(xp.finfo(x.dtype).eps), scale
    )
    # No one-thread guard here (unlike the ring fits): HOOI is a few large mode
    # products, which BLAS threads speed up (Indian Pines, ranks (16, 16, 8), 2 threads:
    # 0.037 s unguarded against 0.046 s on one thread).
    if mask is None:
        core, factors, info = _fit(prob, ranks, eps, method, n_iter_max, tol, callback, level)
    else:
        core, factors, info = fit_masked_sttu(prob, mask, ranks, n_iter_max, tol, callback, level)
        warn_unconverged(info, "sttu_decompose", n_iter_max, tol)
    (core,) = cast_cores(xp, [core], out_dtype, scale)
    factors = cast_cores(xp, factors, out_dtype)
    result = STTuTensor(core, factors, t, side)
    result.info = info
    return result


def _fit(prob, ranks, eps, method, n_iter_max, tol, callback, level):
    """HOSVD start, then HOOI unless the method, the callback or an exact start says no."""
    t0 = time.perf_counter()
    factors = _hosvd(prob, ranks, eps)
    core, _ = prob.project(prob.x, factors, range(prob.x.ndim))
    ranks_used = tuple(u.shape[1] * tn for u, tn in zip(factors, prob.t))
    info = FitInfo(method=method, ranks_used=ranks_used if ranks is None else None)
    info.errors.append(prob.rel_error(core, factors))
    info.times.append(time.perf_counter() - t0)
    logger.log(level, "sttu %s start: rel_error=%.3e", method, info.errors[0])
    stop = callback is not None and bool(
        callback(0, prob.decomposition(core, factors), info.errors[0])
    )
    if method == "hosvd":
        info.converged, info.stop_reason = True, "closed_form"
    elif info.errors[0] <= exact_level(prob.dtype_eps):
        info.converged, info.stop_reason = True, "exact"
    elif stop:
        info.stop_reason = "callback"
    else:
        bar = SweepBar(level == logging.INFO, n_iter_max, "sttu_decompose")
        try:
            core = _hooi(prob, factors, info, n_iter_max, tol, callback, level, t0, bar)
        finally:
            bar.close()
        warn_unconverged(info, "sttu_decompose", n_iter_max, tol, stacklevel=4)
    return core, factors, info


def _hosvd(prob, ranks, eps):
    """Structured HOSVD factors (list), ranks given or chosen from ``eps`` (see Notes)."""
    n_modes = prob.x.ndim
    if ranks is not None:
        return [prob.subspace(prob.x, n, ranks[n] // prob.t[n]) for n in range(n_modes)]
    # The bound is on the sum of the discarded energies: a mode that discards less
    # than its share passes the rest on to the modes after it.
    left, factors = (eps * prob.norm_x) ** 2, []
    for n in range(n_modes):
        u, dropped = prob.eps_subspace(n, left / (n_modes - n))
        left -= dropped
        factors.append(u)
    return factors


def _hooi(prob, factors, info, n_iter_max, tol, callback, level, t0, bar):
    """Structured HOOI sweeps, updating ``factors`` and ``info`` in place; returns the core.

    Sweeps alternate direction. Before a sweep over ``order``, ``tails[j]`` holds
    ``X`` projected on the modes ``order[j:]`` (``tails[N]`` is ``X``); the factor of
    ``order[i]`` is fitted to ``tails[i+1]`` projected on ``order[:i]`` (already
    updated). The last mode's projection chain yields the tails of the reversed
    order, and the reversed sweep's first mode would refit the same data, so it is
    skipped. A sweep thus costs about one full-size projection.
    """
    x, n_modes = prob.x, prob.x.ndim
    ranks = [u.shape[1] for u in factors]
    order = list(range(n_modes))
    tails = [None] * n_modes + [x]
    for j in range(n_modes - 1, 0, -1):
        tails[j], _ = prob.project(tails[j + 1], factors, [order[j]])
    skip_first = False
    for iteration in range(1, n_iter_max + 1):
        for i, n in enumerate(order):
            if i == 0 and skip_first:
                continue
            if i < n_modes - 1:
                y, _ = prob.project(tails[i + 1], factors, order[:i])
            else:
                y, steps = prob.project(x, factors, order[:i], keep=True)
            factors[n] = prob.subspace(y, n, ranks[n])
        core, _ = prob.project(y, factors, [order[-1]])
        # Tails of the reversed order: X projected on order[:N-j] is steps[N-j-1].
        order = order[::-1]
        tails = [None] + [steps[n_modes - j - 1] for j in range(1, n_modes)] + [x]
        skip_first = True

        err = prob.rel_error(core, factors)
        change = abs(info.errors[-1] - err)
        info.errors.append(err)
        info.times.append(time.perf_counter() - t0)
        info.n_iter = iteration
        bar.update(err)
        logger.log(level, "sttu hooi sweep %d: rel_error=%.3e, change=%.3e", iteration, err, change)
        stop = callback is not None and bool(
            callback(iteration, prob.decomposition(core, factors), err)
        )
        if err <= exact_level(prob.dtype_eps):
            info.converged, info.stop_reason = True, "exact"
        elif settled(info.errors, tol):
            info.converged, info.stop_reason = True, "tol"
        elif stop:
            info.stop_reason = "callback"
        if info.stop_reason:
            return core
    info.stop_reason = "n_iter_max"
    return core
