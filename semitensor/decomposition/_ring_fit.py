"""Driver of the ring fits (STT, STR): start, warm-up, one-core sweeps, restarts.

Algorithm (Zhao et al. 2016, with the DMRG two-site update of White 1992 as warm-up):

1. Start from a TR-SVD sweep (`_starts.tr_svd`), random cores, or given cores.
2. ``n_warmup`` two-core sweeps over every bond, the ring bond included (measured on
   200 random STT tensors each, 6×8×8×6 and 4^6, t=2, R=8, recovered below 1e-8:
   168 and 182 without warm-up, 185 and 195 with 2 sweeps, 197 and 198 with 5). If
   the warm-up ends worse than its start (it can on inexact data), ALS continues
   from the start.
3. One-core ALS sweeps until the error settles (`_stopping.settled`). Each core
   update is the exact least-squares solution, so the error never increases (up to
   rounding).

The callers map the ring to their own format through ``wrap``; random draws come
from the settings' numpy Generator and are copied to the device, so a seed gives
the same fit on every backend.
"""

from __future__ import annotations

import logging
import math
import time

import array_api_compat

from ._linalg import contig, small_blas, vdot
from ._prepare import like_tensor
from ._progress import SweepBar
from ._ring_als import Ring, Sweeper, exact_error, largest_merged_block, two_core_cost_ratio
from ._starts import balanced_start, random_ring, tr_svd
from ._stopping import exact_level, logger, out_of_reach, settled, stopped_early
from ._structured import StructuredRing, StructuredSweeper, structured_tr_svd
from .fitinfo import FitInfo

__all__ = ["fit_ring", "fit_tensor_ring", "DEFAULT_WARMUP"]

#: Two-core (DMRG) sweeps run before the one-core ALS sweeps.
DEFAULT_WARMUP = 5

# Below this relative error the Gram-based error estimate (which squares the error)
# loses its digits to cancellation; the error is then computed from the full tensor.
_EXACT_CHECK = 1e-5
# The ring fits run in float64.
_EXACT = exact_level(2.0**-52)
# The automatic warm-up is abandoned when an error exceeds this multiple of the start's.
_ABANDON = 2.0
# The automatic warm-up runs where a two-core sweep costs at most this many one-core ones.
_COST_RATIO = 12.0
# ... or where a two-core sweep costs at most this many flops (a few milliseconds).
_CHEAP_FLOPS = 2e7
# Working sets below this many float64 entries (32 MB) never block the warm-up.
_SMALL_WORK = 1 << 22
# One-core sweeps between the end of the auto warm-up and its one retry.
_RETRY_AFTER = 10


class _Warmup:
    """When the fit runs a two-core sweep instead of a one-core sweep.

    An int ``n``: exactly ``n`` two-core sweeps first (0: none). ``"auto"`` (the
    default): up to `DEFAULT_WARMUP` two-core sweeps first, and once more later
    (`ended`), where they can pay:

    * only where a two-core sweep costs at most `_COST_RATIO` one-core sweeps by the
      flop model `two_core_cost_ratio` (3-9 on the small exact problems where the
      warm-up makes recovery reliable; 60-110 on Indian Pines and china.jpg, where
      one-core sweeps reach the same error many times sooner), or at most
      `_CHEAP_FLOPS` flops (milliseconds: a 4×4×4 STT at R = 4 needs the warm-up to
      reach rounding level in 39 sweeps, and one-core sweeps alone take over 100);
    * only where its merged blocks fit next to the data (`_warmup_fits`: with a short
      mode and large ranks they are many times the tensor, 19-33× on china.jpg);
    * abandoned as soon as an error after a bond update exceeds `_ABANDON` times the
      best error so far: measured on random exact STTs (6×8×8×6, t = 2, R = 8) the
      warm-up's errors rise to at most 1.3× before falling by orders of magnitude;
      on real tensors (Indian Pines, china.jpg, Kinetic) they rise 3-14× and the
      warm-up was reverted in 25 of 28 fits.

    Whatever the mode, a warm-up that ends above the best state it passed returns to
    that state. The choice depends on shapes and ranks only, never on timings, so a
    seed gives the same fit on every machine.
    """

    def __init__(self, mode, shape, ranks):
        self.auto = mode == "auto"
        self.left = DEFAULT_WARMUP if self.auto else mode
        flops, ratio = two_core_cost_ratio(shape, ranks)
        if self.auto and not (
            _warmup_fits(shape, ranks) and (ratio <= _COST_RATIO or flops <= _CHEAP_FLOPS)
        ):
            self.left = 0
        self.best = None  # (error, cores) of the best state since the warm-up began
        self.retry_at = None  # the sweep of the one retry (auto mode), once scheduled
        self.retried = False

    def remember(self, err, cores):
        if self.best is None or err < self.best[0]:
            self.best = (err, list(cores))

    def ended(self, it):
        """The warm-up is over: in auto mode, retry it once, later, from ALS's state.

        From the TR-SVD start the two-core sweeps sometimes lead nowhere (measured on
        random exact STRs, 6×8×8×6, t = 2, R = 8: seeds 25 and 68 of 100, which
        one-core ALS then left at errors 0.17 and 0.26); the same five sweeps run from
        the state of 10 one-core sweeps recover both to rounding level. So the retry
        comes `_RETRY_AFTER` one-core sweeps later, or when ALS settles before that;
        on real data it is abandoned like the first (`_ABANDON`), after one bond.
        """
        if self.auto and not self.retried:
            self.retry_at = it + _RETRY_AFTER

    def retry(self, it, settled_now):
        """Whether to start the retry's two-core sweeps now (then they are scheduled)."""
        if self.retry_at is None or self.retried or not (settled_now or it >= self.retry_at):
            return False
        self.retried, self.left, self.best = True, DEFAULT_WARMUP, None
        return True


def _warmup_fits(shape, ranks):
    """Whether a two-core sweep's working set (about six merged blocks) is affordable.

    Affordable: at most the tensor's size, or under 32 MB of float64 (below that the
    memory does not matter, and small exact problems are where the warm-up pays).
    """
    work = 6 * largest_merged_block(shape, ranks)
    return work <= max(math.prod(shape), _SMALL_WORK)


def _ring_of(tensor, cores, structure):
    """The ring state and its sweeper: plain, or structured (per-core ``t``)."""
    if structure is None:
        ring = Ring(tensor, cores)
        return ring, Sweeper(ring)
    ring = StructuredRing(tensor, cores, *structure)
    return ring, StructuredSweeper(ring)


def fit_ring(tensor, cores, settings, *, wrap=None, structure=None):
    """Fit a tensor ring to ``tensor`` from starting ``cores`` (one- and two-core ALS).

    Parameters
    ----------
    tensor : array (numpy, torch, ...), real floating, order ``N >= 2``
        Not modified. The fit runs in its library, on its device and in its dtype.
    cores : list of arrays
        Starting cores ``H_k`` of shape ``(r_k, I_k, r_{k+1})``, ``r_N = r_0``, in the
        tensor's library, device and dtype; not modified (sweeps replace cores).
    settings : FitSettings
        ``n_iter_max`` (two-core sweeps included), ``tol``, ``warmup`` (when two-core
        sweeps run, see `_Warmup`; ignored for N = 2), ``rng``, ``callback``,
        ``verbose`` and ``name`` are used.
    wrap : callable, optional
        Maps a list of ring cores to the object handed to the callback.
    structure : (ts, side), optional
        The cores are the compact ``G_k`` of ``G_k ⊗ I_{ts[k]}`` (`_structured`):
        one-core sweeps only.

    Returns
    -------
    cores : list of arrays
    info : FitInfo
        ``errors[0]`` is the error of the start, then one entry per sweep;
        ``times`` the seconds at which each was recorded.
    """
    s = settings
    clock = time.perf_counter
    t0 = clock()
    ring, sweeper = _ring_of(tensor, cores, structure)
    level = logging.INFO if s.verbose else logging.DEBUG
    # The start's error from the Gram estimate (a third of a sweep, and its chains
    # start the first sweep) unless it is small enough to cancel: the reconstruction
    # took 0.43 s of a 1.6 s eps search on china.jpg at ring ranks 16.
    err, known = sweeper.error_of(ring.cores)
    if err < _EXACT_CHECK:
        err, known = exact_error(ring), None
    info = FitInfo(method="als", errors=[err], times=[clock() - t0])

    def stop_by_callback(it, err):
        if s.callback is None:
            return False
        # The callback gets copies: editing what it is handed cannot touch the fit.
        copies = [ring.xp.asarray(c, copy=True) for c in ring.cores]
        return s.callback(it, wrap(copies) if wrap else copies, err)

    if stop_by_callback(0, err):
        info.stop_reason = "callback"
        return ring.cores, info
    if err <= _EXACT:
        info.converged, info.stop_reason = True, "exact"
        return ring.cores, info
    bar = SweepBar(s.verbose, s.n_iter_max, s.name)
    try:
        return _sweeps(ring, sweeper, s, info, stop_by_callback, bar, level, clock, t0, known)
    finally:
        bar.close()


def _sweeps(ring, sweeper, s, info, stop_by_callback, bar, level, clock, t0, chains):
    """The sweeps of `fit_ring` after its start, until a stopping rule holds."""
    errors = info.errors
    ranks = [c.shape[0] for c in ring.cores] + [ring.cores[0].shape[0]]
    two_core = ring.n > 2 and not isinstance(sweeper, StructuredSweeper)
    policy = _Warmup(s.warmup if two_core else 0, ring.shape, ranks)
    # An eps search refits at growing ranks from warm starts: no retry there.
    policy.retried = s.stop_at is not None
    info.stop_reason = "n_iter_max"
    one_core, since_two = 0, 2
    for it in range(1, s.n_iter_max + 1):
        two = policy.left > 0
        if two:
            chains = None
            policy.remember(errors[-1], ring.cores)
            policy.left -= 1
            info.two_core_sweeps += 1
            info.two_core_at.append(it)
            abandon = _ABANDON * policy.best[0] if policy.auto else None
            err = sweeper.two_core_sweep(s.rng, abort_above=abandon)
            if err is None or (abandon is not None and err > abandon):
                policy.left = 0  # it cannot pay (see _Warmup)
                err = math.inf
            if err < _EXACT_CHECK:
                err = exact_error(ring)
            kind = "two-core"
            if policy.left == 0 and err > policy.best[0]:
                # The warm-up ended above the best state it passed (its SVD split is
                # made in the wrong metric): continue from that state instead.
                err, ring.cores = policy.best[0], list(policy.best[1])
                kind = "two-core, worse than before: reverted"
            if policy.left == 0:
                policy.ended(it)
        else:
            before = list(ring.cores)
            err = sweeper.one_core_sweep(chains)
            chains = None
            one_core += 1
            kind = "one-core"
            if s.extrapolate and one_core > 1 and err >= _EXACT_CHECK:
                err, chains, kind = _extrapolate(sweeper, before, err, one_core ** (1 / 3))
            if err < _EXACT_CHECK:
                err = exact_error(ring)
        errors.append(err)
        info.times.append(clock() - t0)
        info.n_iter = it
        bar.update(err)
        logger.log(
            level,
            "%s sweep %d (%s): relative error %.6e, decrease %.3e",
            s.name,
            it,
            kind,
            err,
            errors[-2] - err,
        )
        if stopped_early(info, it, err, stop_by_callback, _EXACT, s.stop_at):
            break
        if two:
            since_two = 0
            continue
        since_two += 1
        # The rule reads rates of one-core decreases only (two after a two-core sweep).
        done = since_two >= 2 and settled(_settle_view(errors, s.extrapolate), s.tol)
        if policy.retry(it, done):
            continue
        if done or (s.stop_at is not None and out_of_reach(errors, s.stop_at)):
            info.converged, info.stop_reason = True, "tol"
            break
    return ring.cores, info


def _settle_view(errors, extrapolate):
    """The errors the stopping rule reads: every other one when sweeps extrapolate.

    An extrapolated sweep's decrease alternates with plain ones, so the rate of two
    successive decreases is noise (read as settled, fits stopped 0.3-0.9% above
    their error at 100 sweeps); over two sweeps it is smooth again.
    """
    if not extrapolate or len(errors) < 5:
        return errors
    return errors[::-2][::-1]


def _extrapolate(sweeper, before, err, step):
    """Bro's line search: try ``H + step·(H' − H)`` after a sweep from ``H`` to ``H'``.

    Kept when its error is lower (so no sweep raises the error); returns ``(error,
    chains, kind)`` with the trial's right chains when it is kept (the next sweep
    starts from them) and None otherwise.
    """
    ring = sweeper.ring
    trial = [h + step * (new - h) for h, new in zip(before, ring.cores)]
    trial_err, chains = sweeper.error_of(trial)
    if trial_err < err:
        ring.cores = trial
        return trial_err, chains, "one-core, extrapolated"
    return err, None, "one-core"


def fit_tensor_ring(tensor, ranks, settings, *, wrap=None, structure=None):
    """Fit a tensor ring of ranks ``ranks`` to ``tensor``: start, ALS, restarts.

    Parameters
    ----------
    tensor : array (numpy, torch, ...), real floating, order N >= 2
        Not modified.
    ranks : sequence of int, length N + 1, ``ranks[0] == ranks[N]``
    settings : FitSettings
        ``method`` (``"svd"`` returns the TR-SVD start), ``init`` (``"svd"``,
        ``"random"`` or a list of ring cores, used by the first fit; later restarts
        start from random cores), ``n_restarts`` and what `fit_ring` uses.
    wrap, structure
        As `fit_ring` (``ranks`` are then the full bonds).

    Returns
    -------
    cores : list of arrays
        In the tensor's library, device and dtype.
    info : FitInfo
        Of the best fit. Its result is never worse than its start: one-core sweeps
        never raise the error, and a warm-up that ends above the best state it passed
        returns to that state (`fit_ring`), so ``len(info.errors) == info.n_iter + 1``.
    """
    with small_blas(tensor):
        return _fit_tensor_ring(tensor, ranks, settings, wrap, structure)


def _fit_tensor_ring(tensor, ranks, settings, wrap, structure):
    s = settings
    xp = array_api_compat.array_namespace(tensor)
    tensor = contig(tensor)
    norm = vdot(xp, tensor, tensor) ** 0.5
    best = None
    for restart in range(s.n_restarts):
        if restart == 0 and not isinstance(s.init, str):
            start = balanced_start(like_tensor(s.init, tensor), norm)
        elif restart == 0 and s.init == "svd":
            if structure is None:
                start = tr_svd(tensor, ranks, s.rng)
            else:
                start = structured_tr_svd(tensor, ranks, *structure, s.rng)
        elif structure is None:
            start = random_ring(tensor.shape, ranks, s.rng, scale=norm, like=tensor)
        else:
            start = random_ring(tensor.shape, ranks, s.rng, norm, tensor, ts=structure[0])
        if s.method == "svd":
            err = exact_error(_ring_of(tensor, start, structure)[0])
            info = FitInfo(method="svd", converged=True, stop_reason="closed_form", errors=[err])
            return start, info
        cores, info = fit_ring(tensor, start, s, wrap=wrap, structure=structure)
        if best is None or info.rel_error < best[1].rel_error:
            best = (cores, info)
        if info.stop_reason == "callback":
            break
    return best
