"""STT and STR fits with a ``t`` per core (`_structured`): the parts the two share.

`~semitensor.decomposition.stt.stt_decompose` and
`~semitensor.decomposition.str.str_decompose` fit a uniform ``t`` on the smaller ring
of SPEC §4; with different ``t_k`` no such ring exists and they come here: a one-core
ALS on the full-bond ring with structured cores. What that engine cannot do is
refused with a message that says so: the two-core warm-up (an int ``warmup`` above
0; ``"auto"`` runs none), masks and dask arrays. An ``eps`` search grows each bond in
multiples of the ``t`` of the cores it joins, each refit from its own SVD start.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import replace

from .._validation import check_rank_list, check_t
from ..formats.str import STRTensor, ring_order
from ..formats.stt import STTTensor
from ._linalg import on
from ._prepare import cast_cores, check_init, check_ranks_or_eps, frobenius_norm, like_tensor
from ._rank_search import (
    check_bonds_useful,
    grow_until_eps,
    ring_rank_floor,
    tt_svd_ranks,
    unfolding_caps,
)
from ._ring_fit import fit_tensor_ring
from ._stopping import warn_unconverged
from .fitinfo import FitInfo

__all__ = ["per_core_t", "refuse_per_core", "bond_multiples", "stt_per_core", "str_per_core"]


def per_core_t(t, count, what):
    """``t`` as a tuple of ``count`` ints when it varies, else None (the uniform route)."""
    if isinstance(t, numbers.Integral) or count == 0:
        return None
    ts = check_t(t, count, what)
    return ts if len(set(ts)) > 1 else None


def refuse_per_core(fname, ts, *, mask, validation_mask, warmup):
    """ValueError for the options a per-core ``t`` fit does not take (see the module)."""
    given = [
        ("mask", mask is not None),
        ("validation_mask", validation_mask is not None),
        (f"warmup={warmup!r} (the two-core sweeps break G ⊗ I_t)",
         not isinstance(warmup, str) and warmup != 0),
    ]  # fmt: skip
    names = [name for name, present in given if present]
    if names:
        raise ValueError(
            f"{fname} with a t per core (t={list(ts)}) fits by one-core ALS on the full "
            f"bonds and does not take {', '.join(names)}; give one t for every core to use "
            "them"
        )


def bond_multiples(ts, cyclic):
    """What each bond must be a multiple of: the lcm of the ``t`` of the cores it joins.

    ``ts`` lists one factor per core in chain order (1 for a full core); bond ``k``
    joins core ``k − 1`` and core ``k`` (``cyclic``: bond 0 joins the last and the
    first; else the bonds are ``1..N−1``).
    """
    n = len(ts)
    lo = 0 if cyclic else 1
    return [math.lcm(ts[k - 1], ts[k]) for k in range(lo, n)]


def check_per_core_bonds(ranks, ts, cyclic, what):
    """Validated bonds for a per-core ``t`` (each a multiple of `bond_multiples`)."""
    mult = bond_multiples(ts, cyclic)
    bonds = check_rank_list(ranks, len(mult), what)
    lo = 0 if cyclic else 1
    for j, (r, m) in enumerate(zip(bonds, mult)):
        k = j + lo
        if r % m:
            raise ValueError(
                f"ranks[{j}] = {r} joins cores with t = {ts[k - 1]} and {ts[k]}, so it must "
                f"be a multiple of their lcm, {m}"
            )
    return bonds


def _mode_t(t, n, m):
    """The ``t`` per mode of an STR whose full core is ``m`` (1 there).

    ``t`` lists every mode (``N`` entries, the full core's unused) or the ``N − 1``
    cores other than the full one.
    """
    if len(t) == n:
        return [1 if k == m else t[k] for k in range(n)]
    rest = iter(t)
    return [1 if k == m else next(rest) for k in range(n)]


def str_modes(t, n, full_core, bonds, shape, fname):
    """``(full_core, t per mode)`` of a per-core STR fit.

    ``t`` lists the cores other than the full one (``N − 1`` entries, ``full_core``
    given) or every mode (``N``, the full core's entry unused); ``full_core=None``
    (``"auto"``) takes the mode whose full core has the fewest parameters among those
    the bonds allow. ``bonds`` may be a function of the placement (an ``eps`` search's
    first bonds).
    """
    bonds_for = bonds if callable(bonds) else (lambda m: bonds)
    if len(t) == n - 1:
        if full_core is None:
            raise ValueError(
                f"{fname}: a t per core ({n - 1} entries, the cores other than the full "
                "one) needs full_core given; or give one t per mode (N entries) with "
                "full_core='auto'"
            )
        return full_core, _mode_t(t, n, full_core)
    candidates = [full_core] if full_core is not None else range(n)
    best = None
    for m in candidates:
        ts = _mode_t(t, n, m)
        bonds = bonds_for(m)
        if any(bonds[k] % math.lcm(ts[k - 1], ts[k]) for k in range(n)):
            continue
        params = sum(bonds[k] * shape[k] * bonds[(k + 1) % n] // ts[k] ** 2 for k in range(n))
        if best is None or params < best[0]:
            best = (params, m)
    if best is None:
        raise ValueError(
            f"{fname}: ranks {list(bonds)} suit no placement of the full core with "
            f"t={list(t)}: each bond must be a multiple of the t of the cores it joins"
        )
    return best[1], _mode_t(t, n, best[1])


def _fit(xp, x, ranks, ts, side, settings, wrap):
    """The structured ring fit, or zeros for a zero tensor; returns ``(cores, info)``."""
    if frobenius_norm(xp, x) == 0.0:
        n = len(ts)
        shapes = [(ranks[k] // ts[k], x.shape[k], ranks[k + 1] // ts[k]) for k in range(n)]
        zeros = [xp.zeros(s, **on(x)) for s in shapes]
        info = FitInfo(method=settings.method, converged=True, stop_reason="exact", errors=[0.0])
        return zeros, info
    return fit_tensor_ring(x, ranks, settings, wrap=wrap, structure=(tuple(ts), side))


def stt_per_core(prepared, ranks, ts, side, settings, init):
    """`stt_decompose` with a ``t`` per interior core: the STT is its structured ring.

    Its ring has the full bonds ``(1, R_1, …, R_{N−1}, 1)`` and the STT's own cores.
    """
    xp, x, out_dtype, _, scale = prepared
    n, shape = x.ndim, tuple(x.shape)
    chain_t = (1, *ts, 1)
    what = f"bond sizes R_1..R_{n - 1}"
    bonds = check_ranks_or_eps(ranks, settings.eps, n - 1, what)
    if bonds is not None:
        bonds = check_per_core_bonds(bonds, chain_t, False, what)
        check_bonds_useful(bonds, shape, max(ts))
    check_init(init, STTTensor, settings, shape=shape, bonds=bonds, t=ts, side=side)
    if isinstance(init, STTTensor):
        settings = replace(settings, init=like_tensor(init.cores, x))

    def wrap(cores):
        return STTTensor(cast_cores(xp, cores, out_dtype, scale), ts, side)

    if bonds is None:
        cores, info = _eps_search(xp, x, chain_t, side, settings, wrap)
    else:
        cores, info = _fit(xp, x, [1, *bonds, 1], chain_t, side, settings, wrap)
    warn_unconverged(info, "stt_decompose", settings.n_iter_max, settings.tol, stacklevel=4)
    result = wrap(cores)
    result.info = info
    return result


def _eps_search(xp, x, chain_t, side, settings, wrap):
    """The STT bonds grown from TT-SVD's until the error is at most ``eps``.

    As the uniform search (`grow_until_eps`), in steps of each bond's `bond_multiples`,
    but each refit starts from its own structured SVD sweep: padding the previous
    cores (`_starts.grow_ring`) embeds the old bonds consistently only where the
    cores on both sides split them the same way.
    """
    shape, eps = tuple(x.shape), settings.eps
    mult = bond_multiples(chain_t, False)
    caps = [max(m, c // m * m) for c, m in zip(unfolding_caps(shape, max(chain_t)), mult)]
    start = [m * math.ceil(r / m) for r, m in zip(tt_svd_ranks(x, eps, 1), mult)]
    search = replace(settings, stop_at=eps)

    def n_params(bonds):
        b = [1, *bonds, 1]
        return sum(b[k] * size * b[k + 1] // chain_t[k] ** 2 for k, size in enumerate(shape))

    def fit(bonds, previous):
        return _fit(xp, x, [1, *bonds, 1], chain_t, side, search, wrap)

    cores, info, _ = grow_until_eps(
        fit, start, caps, mult, n_params, math.prod(shape), eps, "stt_decompose"
    )
    return cores, info


def str_per_core(prepared, ranks, t, side, settings, init, full_core):
    """`str_decompose` with a ``t`` per core: the fit runs on the ring from the full core.

    The tensor's modes are rotated so that the full core comes first (`ring_order`);
    the ring has the full bonds and the STR's own cores in that order.
    """
    xp, x, out_dtype, _, scale = prepared
    n, shape = x.ndim, tuple(x.shape)
    what = f"bond sizes R_0..R_{n - 1}"
    bonds = check_ranks_or_eps(ranks, settings.eps, n, what)
    if bonds is None:  # eps: from the ring floor ⌈√ρ⌉, in multiples of each bond's lcm
        q = ring_rank_floor(x, settings.eps)

        def first_bonds(m):
            return [u * math.ceil(q / u) for u in bond_multiples(_mode_t(t, n, m), True)]

        m, mode_t = str_modes(t, n, full_core, first_bonds, shape, "str_decompose")
    else:
        m, mode_t = str_modes(t, n, full_core, bonds, shape, "str_decompose")
    if bonds is not None:
        check_per_core_bonds(bonds, mode_t, True, what)
        check_bonds_useful(bonds, shape, max(mode_t), ring=True)
    ts = tuple(mode_t[k] for k in range(n) if k != m)
    check_init(init, STRTensor, settings, shape=shape, bonds=bonds, t=ts, side=side)
    order = ring_order(m, n)
    if isinstance(init, STRTensor):
        if init.full_core != m:
            raise ValueError(f"init has full_core={init.full_core}; the fit places it on {m}")
        settings = replace(settings, init=like_tensor([init.cores[k] for k in order], x))
    xr = xp.permute_dims(x, order) if m else x

    def wrap(chain):
        cores = [None] * n
        for j, k in enumerate(order):
            cores[k] = chain[j]
        return STRTensor(cast_cores(xp, cores, out_dtype, scale), ts, side, m)

    chain_t = [mode_t[k] for k in order]

    def fit(bonds, previous=None, settings=settings):
        ranks = [bonds[k] for k in order] + [bonds[m]]
        return _fit(xp, xr, ranks, chain_t, side, settings, wrap)

    if bonds is not None:
        chain, info = fit(bonds)
    else:
        mult = bond_multiples(mode_t, True)
        caps = unfolding_caps(shape, max(mode_t), ring=True)
        caps = [max(u, c // u * u) for c, u in zip(caps, mult)]

        def n_params(b):
            return sum(b[k] * shape[k] * b[(k + 1) % n] // mode_t[k] ** 2 for k in range(n))

        search = replace(settings, stop_at=settings.eps)
        chain, info, _ = grow_until_eps(
            lambda b, previous: fit(b, settings=search), first_bonds(m), caps, mult,
            n_params, math.prod(shape), settings.eps, "str_decompose",
        )  # fmt: skip
    warn_unconverged(info, "str_decompose", settings.n_iter_max, settings.tol, stacklevel=4)
    result = wrap(chain)
    result.info = info
    return result
