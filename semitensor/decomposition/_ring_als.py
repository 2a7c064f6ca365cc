"""Ring-ALS engine: fit a tensor ring of given ranks by alternating least squares.

Shared by the STT and STR fits (SPEC §4: both are fitted on their tensor-ring
equivalents). The engine knows nothing about STP: it fits
``X[i_0,…,i_{N−1}] ≈ tr(H_0(i_0) H_1(i_1) ⋯ H_{N−1}(i_{N−1}))`` with cores ``H_k`` of
shape ``(r_k, I_k, r_{k+1})`` and ``r_N = r_0``; the callers map the ring to their own
format through ``wrap``.

Algorithm (Zhao et al. 2016, with the DMRG two-site update of White 1992 as warm-up):

1. Start from a TR-SVD sweep (`tr_svd`), random cores, or given cores.
2. ``n_warmup`` two-core sweeps: for every bond ``(k, k+1)``, the ring bond
   ``(N−1, 0)`` included, solve the least-squares problem for the merged core and
   split it back by a truncated SVD, then re-solve the right piece exactly in the
   data metric. The merged solve can move rank across a bond, which single-core ALS
   cannot; this is what makes exact recovery reliable (measured on 200 random STT
   tensors each, 6×8×8×6 and 4^6, t=2, R=8, recovered below 1e-8: 168 and 182
   without warm-up, 185 and 195 with 2 sweeps, 197 and 198 with 5). If the
   warm-up ends worse than its start (it can on inexact data), ALS continues from
   the start.
3. One-core ALS sweeps until the error settles (`_settled`). Each core update is
   the exact least-squares solution, so the error never increases (up to
   rounding); the SVD split is not optimal in the data metric, so two-core sweeps
   are used only to escape bad starts, not to finish.

`fit_tensor_ring` adds the start (TR-SVD, random or given), restarts and the
keep-the-best logic on top of `fit_ring`; callers (STT, STR) only map cores.

Each update solves the normal equations ``M h = b`` where the Gram matrix ``M`` comes
from the small transfer matrices ``Σ_i H(i)⊗H(i)`` of the other cores and ``b`` is
the contraction of ``X`` with the other cores; ``X`` is contracted from the left
once per sweep (cached partial contractions ``L_k``) against right chains built
from the cores, so a sweep costs about ``4·|X|·r_0·r_1`` flops plus lower-order terms
instead of ``2·|X|·Σ_k r_k r_{k+1}``. A Cholesky solve is used; a singular or
indefinite ``M`` falls back to a least-squares solve.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import scipy.linalg

from ._report import FitInfo

__all__ = [
    "tr_svd",
    "random_ring",
    "ring_to_tensor",
    "fit_ring",
    "fit_tensor_ring",
    "DEFAULT_WARMUP",
]

#: Two-core (DMRG) sweeps run before the one-core ALS sweeps.
DEFAULT_WARMUP = 5

logger = logging.getLogger("semitensor.decomposition")

# Below this relative error the Gram-based error estimate (which squares the error)
# loses its digits to cancellation; the error is then computed from the full tensor.
_EXACT_CHECK = 1e-5
# Relative error treated as an exact fit (rounding level of the reconstruction).
_EXACT = 1e-13
# Relative size of the noise used to pad SVD bases that an unfolding cannot fill.
_PAD = 1e-3


def _leading_basis(a, k, rng):
    """Orthonormal basis of (at least an approximation of) the top-``k`` column space.

    Uses the eigendecomposition of the smaller Gram matrix (``A Aᵀ`` or ``AᵀA``),
    2-4x cheaper than an SVD; its accuracy is only lost for singular values below
    ``√ε·σ_max``, which do not matter for a start. Columns beyond the rank the
    unfolding can give are filled with small random noise (zeros leave ALS stuck).
    """
    m, n = a.shape
    q = min(k, m, n)
    if m <= n:
        w, v = np.linalg.eigh(a @ a.T)
        u = np.ascontiguousarray(v[:, ::-1][:, :q])
    else:
        w, v = np.linalg.eigh(a.T @ a)
        u, _ = np.linalg.qr(a @ v[:, ::-1][:, :q])
    if q < k:
        noise = rng.standard_normal((m, k - q)) * _PAD / math.sqrt(m)
        u = np.concatenate([u, noise], axis=1)
    return u


def tr_svd(tensor, ranks, rng):
    """One TR-SVD sweep (Zhao et al. 2016, Alg. 1) with the given ring ranks.

    The first unfolding is truncated to ``r_0·r_1`` and its basis split into
    ``(a_1, a_0)`` with ``a_0`` fastest (column ``a_1·r_0 + a_0``), which for an STT
    ring is exactly the first STT core; the rest is a TT-SVD sweep.

    Parameters
    ----------
    tensor : numpy.ndarray
    ranks : sequence of int, length N + 1, ``ranks[0] == ranks[N]``
    rng : numpy.random.Generator

    Returns
    -------
    list of numpy.ndarray
    """
    shape = tensor.shape
    n = len(shape)
    r0, r1 = ranks[0], ranks[1]
    a = tensor.reshape(shape[0], -1)
    u = _leading_basis(a, r0 * r1, rng)
    cores = [np.ascontiguousarray(u.reshape(shape[0], r1, r0).transpose(2, 0, 1))]
    rest = (u.T @ a).reshape(r1, r0, -1).transpose(0, 2, 1)  # (r1, I_1..I_{N-1}, r0)
    rest = np.ascontiguousarray(rest)
    for k in range(1, n - 1):
        a = rest.reshape(ranks[k] * shape[k], -1)
        u = _leading_basis(a, ranks[k + 1], rng)
        cores.append(u.reshape(ranks[k], shape[k], ranks[k + 1]))
        rest = u.T @ a
    cores.append(rest.reshape(ranks[n - 1], shape[n - 1], ranks[0]))
    return cores


def random_ring(shape, ranks, rng, scale=1.0):
    """Random normal ring cores, scaled so the ring has norm about ``scale``."""
    n = len(shape)
    cores = [rng.standard_normal((ranks[k], shape[k], ranks[k + 1])) for k in range(n)]
    per = (scale / math.sqrt(math.prod(shape) * math.prod(ranks[:-1]))) ** (1.0 / n)
    return [c * per for c in cores]


def ring_to_tensor(cores):
    """Full tensor of a ring (numpy), by left-to-right GEMMs and one final trace."""
    r0 = cores[0].shape[0]
    p = cores[0].reshape(r0, -1)  # (r0, I_0 r_1)
    for h in cores[1:-1]:
        p = p.reshape(-1, h.shape[0]) @ h.reshape(h.shape[0], -1)
    h = cores[-1]
    rn = h.shape[0]
    p = p.reshape(r0, -1, rn)  # (a0, J, a_{N-1})
    # X[J, i] = Σ_{a0, b} p[a0, J, b] h[b, i, a0]
    out = np.tensordot(p, h, axes=([0, 2], [2, 0]))
    return out.reshape(tuple(c.shape[1] for c in cores))


def _solve_spd(m, b):
    """Solve ``M Y = B`` for symmetric PSD ``M``: Cholesky, else least squares.

    The normal equations were 4.5-9x faster than a least-squares solve on the design
    matrix at equal accuracy; when ``M`` is singular to working precision (Cholesky
    fails, or its pivots span more than 1e14 in ``M``'s scale) a minimum-norm
    least-squares solve on ``M`` is used instead.
    """
    try:
        c, low = scipy.linalg.cho_factor(m, check_finite=False)
        d = np.abs(np.diag(c))
        if d.min() ** 2 > 1e-14 * d.max() ** 2:
            y = scipy.linalg.cho_solve((c, low), b, check_finite=False)
            if np.all(np.isfinite(y)):
                return y
    except np.linalg.LinAlgError:
        pass
    return scipy.linalg.lstsq(m, b, cond=1e-13, check_finite=False)[0]


class _Ring:
    """Working state of one fit: the tensor, its norm, the cores and the caches."""

    def __init__(self, tensor, cores):
        self.x = tensor
        self.shape = tensor.shape
        self.n = len(self.shape)
        self.norm_sq = float(np.vdot(tensor, tensor))
        self.cores = [np.ascontiguousarray(c) for c in cores]

    # -- caches built from the current cores ---------------------------------------
    def right_chains(self, cores=None, lowest=1):
        """``C[k][a_0, a_k, (i_k…i_{N−1})] = (H_k ⋯ H_{N−1})[a_k, ·, a_0]``, k ≥ lowest."""
        cores = self.cores if cores is None else cores
        n = len(cores)
        c = [None] * (n + 1)
        c[n - 1] = np.ascontiguousarray(cores[n - 1].transpose(2, 0, 1))
        for k in range(n - 2, lowest - 1, -1):
            h = cores[k]
            rk, ik, rk1 = h.shape
            nxt = c[k + 1]
            out = h.reshape(rk * ik, rk1) @ nxt  # (r0, r_k I_k, J)
            c[k] = out.reshape(nxt.shape[0], rk, -1)
        return c

    def right_grams(self, cores=None, lowest=1):
        """``GR[k][a_k, a_0, b_k, b_0]``: Gram of the chain ``H_k ⋯ H_{N−1}``; GR[N] = δδ."""
        cores = self.cores if cores is None else cores
        n = len(cores)
        g = [None] * (n + 1)
        g[n] = _eye_gram(cores[0].shape[0])
        for k in range(n - 1, lowest - 1, -1):
            g[k] = _gram_step_right(cores[k], g[k + 1])
        return g


def _gram_step_right(h, g):
    # g[a', x, b', y] with a', b' the right bonds of h
    t = np.tensordot(h, g, axes=([2], [0]))  # (a, i, x, b', y)
    out = np.tensordot(t, h, axes=([1, 3], [1, 2]))  # (a, x, y, b)
    return np.ascontiguousarray(out.transpose(0, 1, 3, 2))


def _gram_step_left(g, h):
    # g[x, a, y, b] with a, b the left bonds of h; result [x, a', y, b']
    t = np.tensordot(g, h, axes=([1], [0]))  # (x, y, b, i, a')
    out = np.tensordot(t, h, axes=([2, 3], [0, 1]))  # (x, y, a', b')
    return np.ascontiguousarray(out.transpose(0, 2, 1, 3))


def _block_gram(gl, gr):
    """``M[(a_k, a_e), (b_k, b_e)]`` from left and right Grams (``gl`` None: k = 0)."""
    if gl is None:
        # GR[a_e, a_0, b_e, b_0] with a_k = a_0
        m = gr.transpose(1, 0, 3, 2)
    else:
        # Σ_{x,y} GL[x, a, y, b] GR[c, x, d, y] -> [a, c, b, d]
        m = np.tensordot(gl, gr, axes=([0, 2], [1, 3])).transpose(0, 2, 1, 3)
    s = m.shape
    return m.reshape(s[0] * s[1], s[2] * s[3])


class _Sweeper:
    """Left-to-right sweeps of one- or two-core updates with cached contractions."""

    def __init__(self, ring):
        self.ring = ring

    def _rhs(self, k, w, left, chains):
        """``b[a_k, (i_k…i_{k+w−1}), a_{k+w}]``: X contracted with every other core."""
        ring = self.ring
        n = ring.n
        ib = math.prod(ring.shape[k : k + w])
        if k == 0:
            xm = ring.x.reshape(ib, -1)
            if w == n:
                raise AssertionError("a block cannot cover the whole ring")
            c = chains[w]  # (r0, r_w, J)
            out = np.matmul(xm[None], c.transpose(0, 2, 1))  # (r0, Ib, r_w)
            return out
        r0 = left.shape[0]
        rk = left.shape[1]
        if k + w == n:
            # left: (r0, r_k, Ib) -> b[a_k, Ib, a_0]
            return np.ascontiguousarray(left.reshape(r0, rk, ib).transpose(1, 2, 0))
        c = chains[k + w]
        lv = left.reshape(r0, rk * ib, -1)
        out = np.matmul(lv, c.transpose(0, 2, 1)).sum(axis=0)  # (r_k Ib, r_e)
        return out.reshape(rk, ib, -1)

    def _solve(self, b, gram):
        """Least-squares block from rhs ``b (r_k, Ib, r_e)``; returns block, <X,X̂>, ‖X̂‖²."""
        rk, ib, re = b.shape
        bm = b.transpose(0, 2, 1).reshape(rk * re, ib)
        y = _solve_spd(gram, bm)
        inner = float(np.vdot(bm, y))
        fit_sq = float(np.vdot(y, gram @ y))
        block = np.ascontiguousarray(y.reshape(rk, re, ib).transpose(0, 2, 1))
        return block, inner, fit_sq

    def _advance(self, k, left, h):
        """``L_{k+1}`` from ``L_k`` (``None`` for k = 0) and the new core ``H_k``."""
        ring = self.ring
        rk, ik, rk1 = h.shape
        if k == 0:
            xm = ring.x.reshape(ik, -1)
            out = np.tensordot(h, xm, axes=([1], [0]))  # (r0, r1, J)
            return out
        r0 = left.shape[0]
        lv = left.reshape(r0, rk * ik, -1)
        return np.matmul(h.reshape(rk * ik, rk1).T[None], lv)  # (r0, r_{k+1}, J)

    def _rel(self, inner, fit_sq):
        ring = self.ring
        sq = ring.norm_sq - 2.0 * inner + fit_sq
        return math.sqrt(max(sq, 0.0) / ring.norm_sq)

    def one_core_sweep(self):
        """One ALS sweep over all cores; returns the error estimate after it."""
        ring = self.ring
        n = ring.n
        chains = ring.right_chains()
        grams = ring.right_grams()
        left, gl = None, None
        rel = float("nan")
        for k in range(n):
            b = self._rhs(k, 1, left, chains)
            gram = _block_gram(gl, grams[k + 1])
            h, inner, fit_sq = self._solve(b, gram)
            ring.cores[k] = h
            if k == n - 1:
                rel = self._rel(inner, fit_sq)
                break
            left = self._advance(k, left, h)
            gl = _gram_step_left(_eye_gram(h.shape[0]) if gl is None else gl, h)
        return rel

    def two_core_sweep(self, rng):
        """One DMRG-style sweep over all bonds, the ring bond included."""
        ring = self.ring
        n = ring.n
        chains = ring.right_chains()
        grams = ring.right_grams()
        left, gl = None, None
        for k in range(n - 1):
            b = self._rhs(k, 2, left, chains)
            gram = _block_gram(gl, grams[k + 2])
            block, _, _ = self._solve(b, gram)
            hk, hk1, _ = _split_in_metric(
                block, b, gram, ring.shape[k], ring.cores[k].shape[2], rng
            )
            ring.cores[k], ring.cores[k + 1] = hk, hk1
            left = self._advance(k, left, hk)
            gl = _gram_step_left(_eye_gram(hk.shape[0]) if gl is None else gl, hk)
        return self.ring_bond_step(rng)

    def ring_bond_step(self, rng):
        """Two-core update of the ring bond ``(N−1, 0)``; returns the error after it."""
        ring = self.ring
        # Rotate so the block is at the front.
        rot = [ring.cores[-1], *ring.cores[:-1]]
        x_rot = np.ascontiguousarray(np.moveaxis(ring.x, -1, 0))
        sub = _Sweeper(_RotatedView(x_rot, rot))
        chains = ring.right_chains(rot, lowest=2)
        grams = ring.right_grams(rot, lowest=2)
        b = sub._rhs(0, 2, None, chains)
        gram = _block_gram(None, grams[2])
        block, _, _ = sub._solve(b, gram)
        hl, hr, rel = _split_in_metric(block, b, gram, ring.shape[-1], ring.cores[0].shape[0], rng)
        ring.cores[-1], ring.cores[0] = hl, hr
        return self._rel(*rel)


class _RotatedView:
    def __init__(self, x, cores):
        self.x = x
        self.shape = x.shape
        self.n = len(x.shape)
        self.cores = cores


def _eye_gram(r0):
    eye = np.eye(r0)
    return np.einsum("ac,bd->acbd", eye, eye)


def _settled(errors, tol):
    """True when the error is predicted to change by less than ``tol`` from now on.

    With the last two decreases ``d_1, d_2`` and the linear-convergence rate
    ``ρ = d_2/d_1``, the remaining decrease is about ``d_2·ρ/(1−ρ)``; the test is
    ``d_2·min(1/(1−ρ), 10) < tol``, so a fit converging at rate 0.6 does not stop at
    ``2.5·tol`` above its limit, and a stalled one (ρ → 1) is stopped at ``tol/10``.
    """
    d2 = errors[-2] - errors[-1]
    if abs(d2) >= tol:
        return False
    factor = 1.0
    if len(errors) >= 3:
        d1 = errors[-3] - errors[-2]
        if d1 > 0 and d2 > 0:
            rho = d2 / d1
            factor = 10.0 if rho >= 0.9 else 1.0 / (1.0 - rho)
    return abs(d2) * factor < tol


def _split_in_metric(block, b, gram, i_left, rank, rng):
    """Rank-``rank`` split of a merged block, the right piece re-solved in the data metric.

    ``block`` is the least-squares solution ``W`` of ``M w = b``. The SVD split of
    ``W`` is optimal in the Euclidean metric, not in the metric ``M`` of the data,
    and can be much worse there when ``M`` is ill-conditioned. Keeping the SVD's
    orthonormal left piece ``A``, the right piece is re-solved exactly in ``M``
    (never worse than the SVD's). Alternating further (re-solving ``A`` too) was
    measured to hurt exact recovery: ``A`` then adapts to the current, still wrong,
    environment instead of carrying the dominant subspace of ``W``.

    Returns ``(left, right, (inner, fit_sq))``: the pieces and, for the error
    estimate, ``<b, w>`` and ``wᵀMw`` of the split block.
    """
    ra, iab, rc = block.shape
    ib = iab // i_left
    # Left piece: the dominant column space of W as a (r_a·I_a) × (I_b·r_c) matrix.
    a = _leading_basis(block.reshape(ra * i_left, ib * rc), rank, rng).reshape(ra, i_left, rank)
    m4 = gram.reshape(ra, rc, ra, rc)
    b4 = b.reshape(ra, i_left, ib, rc)
    # Gram_B[(q,c),(q',c')] = Σ A[a,i,q] A[a',i,q'] M[a,c,a',c']
    aa = np.tensordot(a, a, axes=([1], [1]))  # (a, q, a', q')
    gb = np.tensordot(aa, m4, axes=([0, 2], [0, 2])).transpose(0, 2, 1, 3)  # (q, c, q', c')
    gb = gb.reshape(rank * rc, rank * rc)
    rhs = np.tensordot(a, b4, axes=([0, 1], [0, 1])).transpose(0, 2, 1)  # (q, c, j)
    yb = _solve_spd(gb, rhs.reshape(rank * rc, ib))
    right = np.ascontiguousarray(yb.reshape(rank, rc, ib).transpose(0, 2, 1))
    kept = (a.reshape(-1, rank) @ right.reshape(rank, -1)).reshape(ra, iab, rc)
    y = kept.transpose(0, 2, 1).reshape(ra * rc, iab)
    bm = b.transpose(0, 2, 1).reshape(ra * rc, iab)
    return a, right, (float(np.vdot(bm, y)), float(np.vdot(y, gram @ y)))


def _exact_error(ring):
    diff = ring_to_tensor(ring.cores) - ring.x
    return math.sqrt(float(np.vdot(diff, diff)) / ring.norm_sq)


def fit_ring(
    tensor,
    cores,
    *,
    n_iter_max=100,
    tol=1e-8,
    n_warmup=DEFAULT_WARMUP,
    rng=None,
    callback=None,
    wrap=None,
    verbose=False,
    name="ring ALS",
):
    """Fit a tensor ring to ``tensor`` from starting ``cores`` by (two-core, then one-core) ALS.

    Parameters
    ----------
    tensor : numpy.ndarray, float64
        The data, order ``N >= 2``; not modified.
    cores : list of numpy.ndarray
        Starting cores ``H_k`` of shape ``(r_k, I_k, r_{k+1})``, ``r_N = r_0``; not
        modified (copies are updated).
    n_iter_max : int
        Maximum number of sweeps, warm-up sweeps included.
    tol : float
        Stop when the relative error changes by less than ``tol`` over a one-core
        sweep (warm-up sweeps never stop the fit, except by the callback).
    n_warmup : int
        Number of two-core (DMRG) sweeps before the one-core sweeps (0 for none;
        ignored for ``N = 2``).
    rng : numpy.random.Generator
        For the noise that pads rank-deficient splits.
    callback : callable, optional
        ``callback(iteration, wrap(cores), rel_error)`` after the start (iteration 0)
        and after each sweep; returning True stops the fit.
    wrap : callable, optional
        Maps a list of ring cores to the object handed to ``callback``.
    verbose : bool
        Log one line per sweep at INFO level (logger ``semitensor.decomposition``).
    name : str
        Label of the log lines.

    Returns
    -------
    cores : list of numpy.ndarray
    info : FitInfo
        ``errors[0]`` is the error of the start, then one entry per sweep.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    ring = _Ring(tensor, cores)
    sweeper = _Sweeper(ring)
    level = logging.INFO if verbose else logging.DEBUG
    err = _exact_error(ring)
    errors = [err]
    info = FitInfo(method="als", errors=errors)
    if callback is not None and callback(0, wrap(ring.cores) if wrap else ring.cores, err):
        info.stop_reason = "callback"
        return ring.cores, info
    if err <= _EXACT:
        info.converged, info.stop_reason = True, "exact"
        return ring.cores, info
    n_warm = n_warmup if ring.n > 2 else 0
    start = list(ring.cores)  # sweeps replace cores, never write into them
    info.stop_reason = "n_iter_max"
    for it in range(1, n_iter_max + 1):
        warm = it <= n_warm
        err = sweeper.two_core_sweep(rng) if warm else sweeper.one_core_sweep()
        if err < _EXACT_CHECK:
            err = _exact_error(ring)
        kind = "two-core" if warm else "one-core"
        if it == n_warm and err > errors[0]:
            # The warm-up ended worse than its start (on inexact data the SVD split
            # is made in the wrong metric): continue from the start instead.
            ring.cores = list(start)
            err, kind = errors[0], "two-core, worse than the start: reverted to it"
        errors.append(err)
        info.n_iter = it
        delta = errors[-2] - err
        logger.log(
            level,
            "%s sweep %d (%s): relative error %.6e, decrease %.3e",
            name,
            it,
            kind,
            err,
            delta,
        )
        if callback is not None and callback(it, wrap(ring.cores) if wrap else ring.cores, err):
            info.stop_reason = "callback"
            break
        if err <= _EXACT:
            info.converged, info.stop_reason = True, "exact"
            break
        if not warm and _settled(errors, tol):
            info.converged, info.stop_reason = True, "tol"
            break
    return ring.cores, info


def fit_tensor_ring(
    tensor,
    ranks,
    *,
    method="als",
    init="svd",
    n_iter_max=100,
    tol=1e-8,
    n_warmup=DEFAULT_WARMUP,
    n_restarts=1,
    rng,
    callback=None,
    wrap=None,
    verbose=False,
    name="ring ALS",
):
    """Fit a tensor ring of ranks ``ranks`` to ``tensor``: start, ALS, restarts.

    Parameters
    ----------
    tensor : numpy.ndarray, float64, order N >= 2
        Not modified.
    ranks : sequence of int, length N + 1, ``ranks[0] == ranks[N]``
    method : {"als", "svd"}
        ``"svd"`` returns the TR-SVD start (``init`` must be ``"svd"``).
    init : {"svd", "random"} or list of numpy.ndarray
        Start of the first fit; later restarts start from random cores.
    n_iter_max, tol, n_warmup, callback, wrap, verbose, name
        As `fit_ring`.
    n_restarts : int
        Number of fits; the one with the smallest final error is returned.
    rng : numpy.random.Generator
        Every random draw (random starts, padding noise).

    Returns
    -------
    cores : list of numpy.ndarray
    info : FitInfo
        Of the best fit. The result is never worse than that fit's start (the
        warm-up is not monotone): if it were, the start is returned and its error
        appended to ``info.errors``.
    """
    norm = float(np.linalg.norm(tensor))
    best = None
    for restart in range(n_restarts):
        if restart == 0 and not isinstance(init, str):
            start = [np.array(c, dtype=np.float64) for c in init]
        elif restart == 0 and init == "svd":
            start = tr_svd(tensor, ranks, rng)
        else:
            start = random_ring(tensor.shape, ranks, rng, scale=norm)
        if method == "svd":
            err = _exact_error(_Ring(tensor, start))
            info = FitInfo(method="svd", converged=True, stop_reason="closed_form", errors=[err])
            return start, info
        cores, info = fit_ring(
            tensor,
            start,
            n_iter_max=n_iter_max,
            tol=tol,
            n_warmup=n_warmup,
            rng=rng,
            callback=callback,
            wrap=wrap,
            verbose=verbose,
            name=name,
        )
        if info.errors[0] < info.rel_error:
            cores = start
            info.errors.append(info.errors[0])
        if best is None or info.rel_error < best[1].rel_error:
            best = (cores, info)
        if info.stop_reason == "callback":
            break
    return best
