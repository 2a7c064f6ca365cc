"""Fitting a semi-tensor train (STT, SPEC §4): `stt_decompose`.

An STT with a uniform ``t`` is exactly a tensor ring of ranks
``(t, R_1/t, …, R_{N−1}/t, t)``, so the fit runs the shared ring-ALS engine
(`semitensor.decomposition._ring_fit`) on that ring and maps the result back.
"""

from __future__ import annotations

import math
from dataclasses import replace

import array_api_compat

from .._kernels.dask_blocks import is_dask
from .._validation import check_side
from ..formats.chain import ring_to_stt, stt_core_shapes, stt_ring_ranks, stt_to_ring
from ..formats.stt import STTTensor
from ._masked_fit import MaskedData, take_mask
from ._per_core import per_core_t, refuse_per_core, stt_per_core
from ._prepare import (
    cast_cores,
    check_bond_list,
    check_init,
    check_settings,
    check_uniform_t,
    frobenius_norm,
    like_tensor,
    prepare_tensor,
)
from ._rank_search import check_bonds_useful, grow_until_eps, tt_svd_ranks, unfolding_caps
from ._ring_fit import fit_tensor_ring
from ._starts import grow_ring
from ._stopping import warn_unconverged
from .fitinfo import FitInfo

__all__ = ["stt_decompose"]


def _fit_fixed(x, bonds, t, side, settings, wrap, previous=None, masked=None):
    """Fit at fixed bonds; returns ``(ring, FitInfo)`` in the tensor's library.

    ``ring`` is the STT's tensor ring (`~semitensor.formats.chain.stt_to_ring`); a
    ``previous`` ring of smaller bonds warm-starts the fit (the eps rank search).
    ``masked`` (a `_masked_fit.MaskedData`): fit the observed entries only.
    """
    if masked is not None:
        ranks = stt_ring_ranks(bonds, t)
        if previous is not None:
            settings = replace(settings, init=grow_ring(previous, ranks, settings.rng))
        return masked.fit(ranks, settings, wrap=wrap)
    if x.ndim == 2:
        cores, info = _fit_matrix(x, bonds[0], settings.method)
        cb = settings.callback
        if cb is not None and cb(0, wrap(cores), info.rel_error):
            info.stop_reason = "callback"
        return cores, info
    ranks = stt_ring_ranks(bonds, t)
    if previous is not None:
        settings = replace(settings, init=grow_ring(previous, ranks, settings.rng))
    return fit_tensor_ring(x, ranks, settings, wrap=wrap)


def _fit_matrix(x, r, method):
    """A two-core STT is a rank-R_1 matrix factorisation: the truncated SVD is optimal.

    Singular vector signs are fixed (largest entry of each left vector positive), so
    every backend returns the same cores.
    """
    xp = array_api_compat.array_namespace(x)
    m, n = x.shape
    u, s, vt = xp.linalg.svd(x, full_matrices=False)
    # r <= min(m, n): larger bonds are refused before the fit (check_bonds_useful).
    u, vt = u[:, :r], vt[:r, :]
    top = xp.argmax(xp.abs(u), axis=0, keepdims=True)
    flip = xp.take_along_axis(u, top, axis=0) < 0  # (1, r)
    g1 = xp.where(flip, -u, u) * s[:r]
    g2 = xp.where(xp.permute_dims(flip, (1, 0)), -vt, vt)
    err = math.sqrt(float(xp.sum(s[r:] ** 2))) / frobenius_norm(xp, s)
    cores = [xp.reshape(g1, (1, m, r)), xp.reshape(g2, (r, n, 1))]
    return cores, FitInfo(method=method, converged=True, stop_reason="closed_form", errors=[err])


def stt_decompose(
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
):
    """Semi-tensor train (STT) decomposition of a tensor (SPEC §4).

    Parameters
    ----------
    tensor : array, shape (I_1, ..., I_N), N >= 2
        numpy array or torch tensor, finite; not modified.
        A dask array is fitted chunk by chunk, results in numpy (see the guide's
        "Large tensors" page for what differs).
    ranks : int, list of N-1 int, or None
        The bond sizes ``R_1, …, R_{N−1}`` of the STT (an int for all bonds), each a
        positive multiple of ``t`` when ``N > 2``. ``None``: chosen from ``eps``.
    t : int or list of int, default 2
        The STP factor of the interior cores: one for all, or a list of ``N − 2``
        (one per interior core; each bond is then a multiple of the ``t`` of the
        cores it joins, and the fit is one-core ALS without warm-up: see Notes).
        Ignored when ``N = 2``.
    side : {"left", "right"}, default "left"
    method : {"als", "svd"}, default "als"
        ``"als"``: alternating least squares on the tensor-ring equivalent; ``"svd"``:
        the one-pass TR-SVD sweep only (fast, approximate, not optimal).
    init : {"svd", "random"} or STTTensor, default "svd"
        Start of the ALS. An STTTensor must have the shape, ranks, ``t`` and side of
        the fit.
    n_iter_max : int, default 100
        Maximum number of sweeps (the two-core warm-up sweeps included).
    tol : float, default 1e-3
        Stop when the error is predicted to fall by less than ``tol`` times itself
        over the remaining sweeps (the rule shared by all fits: see Notes).
    eps : float in (0, 1), optional
        Target relative error when ``ranks`` is None: the bonds grow in multiples of
        ``t`` until the error is at most ``eps``.
    n_restarts : int, default 1
        Number of fits (the first from ``init``, the others from random cores);
        the best is kept.
    warmup : "auto" or int, default "auto"
        Two-core (DMRG) sweeps before the one-core sweeps: an int runs exactly that
        many (0 turns the warm-up off); ``"auto"`` runs up to 5 and abandons them,
        back to the start, as soon as an error exceeds twice the start's, and
        retries them once from the state of 10 one-core sweeps (see Notes).
    linesearch : bool, default False
        After each one-core sweep from ``H`` to ``H'``, try ``H + s(H' − H)`` with
        ``s = k^(1/3)`` at the ``k``-th sweep (Bro's extrapolation, as TensorLy's
        ``parafac(linesearch=True)``) and keep it when its error is lower; about a
        third of a sweep more per sweep (see Notes). Not on dask arrays; masked
        fits extrapolate their own way.
    random_state : None, int or numpy.random.Generator
        Seeds every random draw (random starts, padding noise).
    verbose : bool, default False
        Log one line per sweep at INFO level on the ``semitensor.decomposition``
        logger (configure `logging` to see them), and show a tqdm progress bar on
        stderr when it is a terminal.
    callback : callable, optional
        ``callback(iteration, stt, rel_error)`` after the start (iteration 0) and
        after every sweep; returning True stops the fit (``stop_reason="callback"``).
    mask : bool array of the tensor's shape, optional
        True at the observed entries: the fit minimises the error on those only
        (exact masked least squares per core slice; EM sweeps, measured faster at
        the same error, when at most 20% are missing; see docs/missing.md); the values
        elsewhere are never read, and may be NaN (``mask=np.isfinite(X)``). A
        `numpy.ma` tensor gives its own mask. ``info.errors`` and ``eps`` then refer
        to the observed entries.
    validation_mask : bool array of the tensor's shape, optional
        Observed entries held out of the fit: ``info.held_out_errors`` records their
        relative error per sweep, the fit stops when it has not improved for 5
        sweeps and returns the state where it was least.

    Returns
    -------
    STTTensor
        Same library, device and floating dtype as ``tensor`` (float64 for integer
        input). ``result.info`` is a `~semitensor.decomposition.fitinfo.FitInfo`:
        iterations, stop reason, relative error after the start and after each
        sweep, and the ranks used when ``eps`` chose them.

    Raises
    ------
    TypeError
        For arguments of the wrong kind.
    ValueError
        For an order below 2, NaN/Inf entries, ranks that ``t`` does not divide,
        both or neither of ``ranks`` and ``eps``, an ``init`` that does not match,
        ``method="svd"`` with an ``init`` other than "svd", or a ``t`` per core with
        a mask, an int ``warmup`` above 0 or a dask array.

    Warns
    -----
    ConvergenceWarning
        When ALS stops at ``n_iter_max`` before meeting ``tol``, or when ``eps`` is
        not reached (the message says why the ranks stopped growing).

    Notes
    -----
    **Algorithm.** With a uniform ``t`` an STT is exactly a tensor ring of ranks
    ``(t, R_1/t, …, R_{N−1}/t, t)`` (SPEC §4). The ring is started by a TR-SVD
    sweep (rank deficits padded with small noise), improved by a few two-core
    (DMRG) sweeps that solve for two merged neighbouring cores and split them by a
    truncated SVD, on every bond including the ring bond, and finished by one-core
    ALS: each core update is the exact least-squares solution from the normal
    equations, built from small Gram matrices without forming the design matrix
    (Cholesky, falling back to a least-squares solve when singular).

    **Backend and dtype.** The fit runs in the input's library and on its device
    (a CUDA tensor is fitted on the GPU; only scalars such as the errors are read
    on the host inside the loop), always in float64: a float32 fit loses too many
    digits in the normal equations and the error estimate (measured: float32 ALS
    stopped early, at relative errors up to 3.4e-4, on 4 of 16 exact rings that
    float64 fits below 4e-9). The cores are then cast to the input's floating
    dtype. The random draws come from ``random_state`` (numpy) on every backend and
    singular-vector signs are fixed, so numpy and torch give the same cores up to
    rounding; on ill-conditioned fits that rounding is amplified (the fit of a
    numpy tensor can move by 1e-7 when its entries move by 1e-16), and so is the
    difference between backends.

    **What is guaranteed.** Every one-core sweep does not increase the error (up to
    rounding); the result is never worse than its start (if the two-core warm-up
    ends above the start's error, ALS continues from the start instead); the
    history, its times, the number of sweeps and the stop reason are recorded in
    ``info``. The two-core warm-up sweeps themselves can raise the error (their SVD
    split is not made in the data's metric): ``info.errors`` and the callback see
    those sweeps too, so a callback that stops during the warm-up may get a worse
    state than the start.

    **Stopping** (the same rule in every fit of the library). With ``d`` the last
    decrease of the relative error ``e`` and ``ρ`` the ratio of the last two
    decreases, the fit stops when ``d·min(1/(1−ρ), 10) < tol·e``: the predicted
    remaining decrease is below ``tol`` times the error. Relative to the error, the
    rule stops real-data fits once they have settled (measured with ``tol=1e-4``:
    Kinetic and COVID-19 STT fits stopped at sweeps 183 and 117 within 0.1% of their
    300-sweep errors; the default ``1e-3`` halved the fits that ran to
    ``n_iter_max`` on the real tensors of ``benchmarks/bench_fits.py``, 19 to 9 of
    36, at no cost in time to TensorLy's error), while a fit converging to an exact
    decomposition keeps a decrease proportional to its error and runs to
    ``"exact"`` (rounding level, 2.2e-13 in float64). The former absolute test
    ``d < tol`` ran 23 of 28 default fits on real tensors to ``n_iter_max``.

    **Warm-up.** From the TR-SVD start, two-core sweeps on exact data first raise
    the error (at most 1.3× the start's, measured on 6×8×8×6 STTs) and then cut it
    by orders of magnitude; on real data they raise it 3-14× and end above the
    start, so they were reverted in 25 of 28 fits after costing 30-80 one-core
    sweeps each. ``warmup="auto"`` abandons them (back to the start) as soon as the
    error after a bond update exceeds twice the start's: on real tensors that
    usually costs one merged bond update.

    **Line search.** ``linesearch=True`` extrapolates each one-core sweep (see the
    parameter); the stopping rule then reads every other error, whose decreases stay
    regular. Measured on 20 default fits (Indian Pines, Kinetic, COVID-19, a smooth
    16⁴ tensor and MLP weights; STT and STR, ``t = 2``, ``R = 8, 16``; one thread,
    shared machine): the time to within 1% of the better final error was shorter in
    16 (up to 2.2x), the final error lower in 18 (by up to 6.5%, COVID-19 STR R=16),
    ``ConvergenceWarning`` 6 times instead of 9; fits that end near ``1e-6`` or
    below gain nothing (the trial's error estimate cancels there). It is off by
    default because it amplifies rounding along the trajectory: numpy and torch
    then agree to about ``1e-8`` in the reconstruction instead of ``1e-12``.

    **Exact recovery (empirical, not a theorem).** A TR-SVD sweep alone is not
    exact, and plain one-core ALS from it stalls on a sizeable fraction of
    starts. The two-core warm-up can move rank across bonds, which one-core ALS
    cannot. Measured on tensors built from random STTs (6×8×8×6 and 4×4×4×4×4×4,
    ``t=2``, ``R=8``, 200 seeds each, relative error below 1e-8): without
    warm-up 168 and 182; with 2 warm-up sweeps 185 and 195; with 5, 197 and
    198; with 5 and ``n_restarts=3``, 200 and 200. With the defaults
    (``warmup="auto"``, with its retry): 100 of 100 seeds each on 6×8×8×6,
    7×9×8×6 and 4^6, and for STR 100 of 100 on 6×8×8×6 and 7×9×8×6 (98 without
    the retry). Harder: with ``N = 4`` and ``R_1 > I_1`` (e.g. 4×6×6×4, ``R=8``)
    recovery is unreliable (5 of 30).

    **A t per core.** With different ``t_k`` the STT is no smaller ring; it is the
    train of the full bonds ``R_k`` with cores ``G_k ⊗ I_{t_k}``, and the fit runs
    one-core ALS on it with every update projected on that structure (exact least
    squares per core, the error never rises; ``G ⊗ I`` is never formed). The
    two-core warm-up would break the structure, so there is none, and recovery of
    exact instances is much less reliable than with one ``t``. Measured on 20
    seeds, recovered with one fit and with ``n_restarts=5``: 6×8×8×6 at ``R = 4``,
    ``t = (2, 1)``: 14 and 20; 4×5×6×5×4 at ``R = (4, 8, 8, 4)``, ``t = (2, 4, 2)``:
    9 and 20; 6×9×8×6 at ``R = 6``, ``t = (3, 2)``: 0 and 0. Use ``n_restarts``.
    With ``eps`` the bonds grow from TT-SVD's in multiples of the ``t`` of the cores
    they join, each refit from its own SVD start.

    Cost per one-core sweep: about ``4·|X|·R_1`` flops plus lower-order terms
    (the tensor is contracted once from the left per sweep).

    References
    ----------
    .. [1] Q. Zhao, G. Zhou, S. Xie, L. Zhang, A. Cichocki, "Tensor Ring
       Decomposition", arXiv:1606.05535, 2016.
    .. [2] S. R. White, "Density matrix formulation for quantum renormalization
       groups", Phys. Rev. Lett. 69, 1992 (the two-site update).
    .. [3] I. V. Oseledets, "Tensor-Train Decomposition", SIAM J. Sci. Comput.
       33(5), 2011 (the eps-truncated TT-SVD used to start the rank search).

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor.formats.stt import STTTensor
    >>> rng = np.random.default_rng(0)
    >>> shapes = [(1, 4, 4), (2, 4, 2), (2, 4, 2), (4, 4, 1)]
    >>> x = STTTensor([rng.standard_normal(s) for s in shapes], t=2).to_tensor()
    >>> fit = stt_decompose(x, ranks=4, t=2, random_state=0)
    >>> fit.ranks, bool(fit.info.rel_error < 1e-8)
    ((4, 4, 4), True)
    """
    if is_dask(tensor):  # chunk-wise passes, small objects on the client (numpy)
        from ._dask_chains import stt_decompose_dask
        from ._dask_prepare import refuse_in_memory_options

        refuse_in_memory_options(
            "stt_decompose", mask=mask, validation_mask=validation_mask, linesearch=linesearch
        )
        return stt_decompose_dask(
            tensor, ranks, t, side=side, init=init, method=method, n_iter_max=n_iter_max,
            tol=tol, eps=eps, n_restarts=n_restarts, warmup=warmup,
            random_state=random_state, verbose=verbose, callback=callback,
        )  # fmt: skip
    tensor, mask, held = take_mask(tensor, mask, validation_mask)
    xp, x, out_dtype, device, scale = prepare_tensor(tensor)
    n = x.ndim
    per_core = per_core_t(t, max(n - 2, 0), "interior core")
    if per_core is None:
        t = check_uniform_t(t, max(n - 2, 0), "interior core", "stt_decompose")
    t_fit = 1 if n == 2 else t  # two cores: no interior core, t plays no part
    side = check_side(side)
    settings = check_settings(
        "stt_decompose",
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
        refuse_per_core("stt_decompose", per_core, mask=mask, validation_mask=held, warmup=warmup)
        prepared = (xp, x, out_dtype, device, scale)
        return stt_per_core(prepared, ranks, per_core, side, settings, init)
    bonds = check_bond_list(ranks, n - 1, t_fit, settings.eps, f"bond sizes R_1..R_{n - 1}")
    check_bonds_useful(bonds, tuple(x.shape), t_fit)
    shape = tuple(x.shape)
    check_init(init, STTTensor, settings, shape=shape, bonds=bonds, t=(t,) * (n - 2), side=side)
    if isinstance(init, STTTensor):
        settings = replace(settings, init=stt_to_ring(like_tensor(init.cores, x), t_fit, side))
    else:
        settings = replace(settings, init=init)

    def to_out(cores):
        return STTTensor(cast_cores(xp, cores, out_dtype, scale), t, side)

    def wrap(ring):
        return to_out(ring_to_stt(ring, t_fit, side))

    if frobenius_norm(xp, x) == 0.0:
        bonds = bonds or [t_fit] * (n - 1)
        shapes = stt_core_shapes(shape, bonds, t_fit)
        result = STTTensor([xp.zeros(s, dtype=out_dtype, device=device) for s in shapes], t, side)
        result.info = FitInfo(method=method, converged=True, stop_reason="exact", errors=[0.0])
        return result
    masked = None if mask is None else MaskedData(x, mask, held)
    if bonds is not None:
        ring, info = _fit_fixed(x, bonds, t_fit, side, settings, wrap, masked=masked)
    else:
        search = replace(settings, stop_at=settings.eps)
        ring, info, bonds = grow_until_eps(
            lambda b, previous: _fit_fixed(x, b, t_fit, side, search, wrap, previous, masked),
            tt_svd_ranks(x, settings.eps, t_fit) if masked is None else [t_fit] * (n - 1),
            unfolding_caps(shape, t_fit),
            t_fit,
            lambda b: sum(math.prod(s) for s in stt_core_shapes(shape, b, t_fit)),
            math.prod(shape) if masked is None else masked.samples.size,
            settings.eps,
            "stt_decompose",
        )
    warn_unconverged(info, "stt_decompose", settings.n_iter_max, settings.tol)
    result = wrap(ring)
    result.info = info
    return result
