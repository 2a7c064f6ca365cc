"""Rank selection by a relative error target ``eps`` for the ring fits (STT, STR)."""

from __future__ import annotations

import math
import warnings

import array_api_compat

from ..exceptions import ConvergenceWarning
from ._prepare import frobenius_norm

__all__ = [
    "tt_svd_ranks",
    "ring_rank_floor",
    "grow_until_eps",
    "unfolding_caps",
    "check_bonds_useful",
]

# Relative growth of the bonds per refit of the eps rank search.
_GROWTH = 0.2


def tt_svd_ranks(x, eps, t):
    """TT-SVD ranks at accuracy ``eps`` (Oseledets 2011), rounded up to multiples of t.

    Runs in the tensor's library and on its device; each rank is one scalar read.
    """
    xp = array_api_compat.array_namespace(x)
    shape = x.shape
    n = len(shape)
    delta_sq = (eps * frobenius_norm(xp, x)) ** 2 / (n - 1)
    ranks = []
    rest = xp.reshape(x, (shape[0], -1))
    r_prev = 1
    for k in range(n - 1):
        a = xp.reshape(rest, (r_prev * shape[k], -1))
        _, s, vt = xp.linalg.svd(a, full_matrices=False)
        # tail[j] = Σ_{i≥j} s_i², non-increasing: the count of tail >= δ² is the rank.
        tail = xp.flip(xp.cumulative_sum(xp.flip(s**2)))
        r = int(xp.sum(xp.astype(tail >= delta_sq, xp.int64))) if s.shape[0] else 1
        r = max(1, min(r, s.shape[0]))
        ranks.append(r)
        rest = s[:r, None] * vt[:r, :]
        r_prev = r
    return [t * math.ceil(r / t) for r in ranks]


def ring_rank_floor(x, eps):
    """Least uniform tensor-ring rank ``q`` that can reach ``eps``: ``⌈√ρ⌉``, ``ρ = max_k ρ_k``.

    ``ρ_k`` is the least rank within ``eps·‖X‖`` of the unfolding that cuts the modes
    after ``k`` (Eckart-Young, from its singular values). A ring of uniform rank ``q``
    has every such unfolding of rank at most ``q_0·q_k = q²``, so no ring below this
    ``q`` meets ``eps``; the STR search starts here instead of at 1 (on china.jpg at
    ``eps = 0.05`` the search from 1 made 10 fits to reach ``q = 15``).
    """
    xp = array_api_compat.array_namespace(x)
    shape = tuple(x.shape)
    budget = (eps * frobenius_norm(xp, x)) ** 2
    rho = 1
    for k in range(1, len(shape)):
        s = xp.linalg.svdvals(xp.reshape(x, (math.prod(shape[:k]), -1)))
        tail = xp.flip(xp.cumulative_sum(xp.flip(s**2)))  # tail[j] = Σ_{i≥j} s_i²
        rho = max(rho, int(xp.sum(xp.astype(tail > budget, xp.int64))))
    return max(1, math.isqrt(rho - 1) + 1)


def grow_until_eps(fit, bonds, caps, step, n_params, full_size, eps, fname):
    """Grow the bonds (by about a fifth, in steps of ``step``) until the error is at most ``eps``.

    ``step`` is an int, or one per bond (a ``t`` per core: the lcm of the ``t`` of the
    cores a bond joins).

    ``fit(bonds, previous) -> (ring, info)`` fits at ``bonds``, warm-started from the
    ``ring`` of the previous, smaller bonds (``previous`` is None at first) and
    stopping as soon as the error reaches ``eps``; ``n_params(bonds)`` counts the
    parameters. Stops with a ConvergenceWarning that says why when every bond is at
    its cap or the next ranks would store more numbers than the tensor. Returns
    ``(ring, info, bonds)`` with ``info.ranks_used`` set.
    """
    bonds = [min(r, c) for r, c in zip(bonds, caps)]
    steps = list(step) if isinstance(step, (list, tuple)) else [step] * len(bonds)
    previous = None
    while True:
        ring, info = fit(bonds, previous)
        if info.rel_error <= eps or info.stop_reason == "callback":
            break
        # Grow by about a fifth (at least one step of t): from t to R in O(log R) refits
        # instead of R/t (measured: china.jpg's STR at eps = 0.05 needed 11 refits).
        grown = [
            min(r + m * max(1, math.ceil(_GROWTH * r / m)), c)
            for r, c, m in zip(bonds, caps, steps)
        ]
        if n_params(grown) > full_size:  # the fifth overshoots the budget: try one step
            grown = [min(r + m, c) for r, c, m in zip(bonds, caps, steps)]
        reason = None
        if grown == bonds:
            reason = f"every bond reached its cap {caps} (t times the unfolding sizes)"
        elif n_params(grown) > full_size:
            reason = (
                f"the next ranks {grown} would store more parameters than the data has "
                f"(observed) entries ({full_size})"
            )
        if reason is not None:
            warnings.warn(
                f"{fname} did not reach eps={eps}: relative error {info.rel_error:.3e} "
                f"at ranks {bonds}; stopped because {reason}",
                ConvergenceWarning,
                stacklevel=3,
            )
            break
        bonds, previous = grown, ring
    info.ranks_used = tuple(bonds)
    return ring, info, bonds


def unfolding_caps(shape, t, ring=False):
    """Largest useful bond per position: ``t`` times the rank bound of the unfolding.

    An STT of bonds ``R`` is the ring ``(t, R_1/t, …, t)``: its ``t`` ring index rides
    along the train, so the stored bond ``R_k/t`` alone must carry the unfolding's
    rank ``ρ_k``, and ``R_k`` can usefully grow to ``t·ρ_k`` (capping it at ``ρ_k``
    left exact STTs with ``R_1 > I_1`` out of reach). A ring's bonds share each cut
    between two of them (``r_0·r_k`` against the unfolding rank), so no single bond has
    such a bound: with ``ring=True`` all ``N`` bonds get the largest train cap. In both
    cases the parameter count stops the growth first when the cap is generous.
    """
    n = len(shape)
    caps = [t * min(math.prod(shape[:k]), math.prod(shape[k:])) for k in range(1, n)]
    if ring:
        caps = [max(caps)] * n
    return caps


def check_bonds_useful(bonds, shape, t, ring=False):
    """Refuse bonds above `unfolding_caps`, before any work.

    Larger bonds cannot lower the error, and their Gram matrices grow as the fourth
    power of the bond (``ranks=2000`` on a 192-entry tensor asked for 7.3 TiB).
    """
    if bonds is None:
        return
    caps = unfolding_caps(shape, t, ring=ring)
    for k, (r, cap) in enumerate(zip(bonds, caps)):
        if r > cap:
            rule = "the largest train bound" if ring else "the unfolding's rank bound"
            raise ValueError(
                f"ranks[{k}] = {r} exceeds {cap}, the largest useful bond there for a tensor "
                f"of shape {tuple(shape)} (t = {t} times {rule}); larger bonds cannot lower "
                "the error"
            )
