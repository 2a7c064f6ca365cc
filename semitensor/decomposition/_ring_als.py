"""Ring-ALS sweeps: the one-core and two-core updates of a tensor ring, with caches.

The engine knows nothing about STP: it fits
``X[i_0,…,i_{N−1}] ≈ tr(H_0(i_0) H_1(i_1) ⋯ H_{N−1}(i_{N−1}))`` with cores ``H_k`` of
shape ``(r_k, I_k, r_{k+1})`` and ``r_N = r_0`` (SPEC §4: STT and STR are fitted on
their tensor-ring equivalents; `_ring_fit` drives these sweeps for them).

Each update solves the normal equations ``M h = b`` where the Gram matrix ``M`` comes
from the small transfer matrices ``Σ_i H(i)⊗H(i)`` of the other cores and ``b`` is
the contraction of ``X`` with the other cores; ``X`` is contracted from the left
once per sweep (cached partial contractions ``L_k``) against right chains built
from the cores, so a sweep costs about ``4·|X|·r_0·r_1`` flops plus lower-order terms
instead of ``2·|X|·Σ_k r_k r_{k+1}``. A Cholesky solve is used; a singular or
indefinite ``M`` falls back to a least-squares solve (`_linalg.solve_spd`).

A two-core (DMRG, White 1992) update solves for two merged neighbouring cores and
splits them by a truncated SVD whose right piece is re-solved in the data metric
(`split_in_metric`); it can move rank across a bond, which one-core ALS cannot.

Every array operation goes through the array-api-compat namespace of the tensor
(numpy, torch on any device); nothing of array size leaves the device inside a
sweep: only scalars (errors, the Cholesky checks) are read on the host.
"""

from __future__ import annotations

import math

import array_api_compat

from ._linalg import contig, leading_basis, on, solve_spd, vdot
from ._starts import ring_to_tensor

__all__ = ["Ring", "Sweeper", "exact_error", "largest_merged_block", "two_core_cost_ratio"]


class Ring:
    """Working state of one fit: the tensor, its norm, the cores and the caches."""

    def __init__(self, tensor, cores):
        self.xp = array_api_compat.array_namespace(tensor)
        self.x = contig(tensor)
        self.shape = tuple(tensor.shape)
        self.n = len(self.shape)
        self.norm_sq = vdot(self.xp, self.x, self.x)
        self.cores = [contig(c) for c in cores]

    def to_tensor(self, cores):
        """The full tensor of ``cores`` (used by `exact_error`)."""
        return ring_to_tensor(cores)

    # -- caches built from the current cores ---------------------------------------
    def right_chains(self, cores=None, lowest=1):
        """``C[k][a_0, a_k, (i_k…i_{N−1})] = (H_k ⋯ H_{N−1})[a_k, ·, a_0]``, k ≥ lowest."""
        xp = self.xp
        cores = self.cores if cores is None else cores
        n = len(cores)
        c = [None] * (n + 1)
        c[n - 1] = contig(xp.permute_dims(cores[n - 1], (2, 0, 1)))
        for k in range(n - 2, lowest - 1, -1):
            h = cores[k]
            rk, ik, rk1 = h.shape
            nxt = c[k + 1]
            out = xp.reshape(h, (rk * ik, rk1)) @ nxt  # (r0, r_k I_k, J)
            c[k] = xp.reshape(out, (nxt.shape[0], rk, -1))
        return c

    def right_grams(self, cores=None, lowest=1):
        """``GR[k][a_k, a_0, b_k, b_0]``: Gram of the chain ``H_k ⋯ H_{N−1}``; GR[N] = δδ."""
        xp = self.xp
        cores = self.cores if cores is None else cores
        n = len(cores)
        g = [None] * (n + 1)
        g[n] = _eye_gram(xp, cores[0])
        for k in range(n - 1, lowest - 1, -1):
            g[k] = self._gram_step(k, cores[k], g[k + 1])
        return g

    def _gram_step(self, k, core, gram):
        """One step of `right_grams` through core ``k`` (structured rings override it)."""
        return _gram_step_right(self.xp, core, gram)


def _transfer(xp, h):
    """``E[a, b, a', b'] = Σ_i H[a, i, a'] H[b, i, b']``: one GEMM over the mode index.

    The Gram steps below contract through it: ``I·(r r')²`` multiply-adds for the
    transfer matrix plus ``r_0² (r r')²`` for the step, where contracting the Gram with
    the core twice cost ``2·r_0²·r·I·r'·(r + r')`` and copied an ``r_0²·r·I·r'`` array
    (measured on the COVID-19 tensor, 438×6×11 at ring ranks 4: 55% of a sweep).
    """
    r, size, q = h.shape
    m = xp.reshape(xp.permute_dims(h, (0, 2, 1)), (r * q, size))
    e = xp.reshape(m @ xp.matrix_transpose(m), (r, q, r, q))
    return xp.permute_dims(e, (0, 2, 1, 3))  # (a, b, a', b')


def _gram_step_right(xp, h, g):
    # g[a', x, b', y] with a', b' the right bonds of h; result [a, x, b, y]
    r, _, q = h.shape
    x0 = g.shape[1]
    e = xp.reshape(_transfer(xp, h), (r * r, q * q))
    gm = xp.reshape(xp.permute_dims(g, (0, 2, 1, 3)), (q * q, x0 * x0))
    out = xp.reshape(e @ gm, (r, r, x0, x0))  # (a, b, x, y)
    return contig(xp.permute_dims(out, (0, 2, 1, 3)))


def _gram_step_left(xp, g, h):
    # g[x, a, y, b] with a, b the left bonds of h; result [x, a', y, b']
    r, _, q = h.shape
    x0 = g.shape[0]
    e = xp.reshape(_transfer(xp, h), (r * r, q * q))
    gm = xp.reshape(xp.permute_dims(g, (0, 2, 1, 3)), (x0 * x0, r * r))
    out = xp.reshape(gm @ e, (x0, x0, q, q))  # (x, y, a', b')
    return contig(xp.permute_dims(out, (0, 2, 1, 3)))


def _block_gram(xp, gl, gr):
    """``M[(a_k, a_e), (b_k, b_e)]`` from left and right Grams (``gl`` None: k = 0)."""
    if gl is None:
        # GR[a_e, a_0, b_e, b_0] with a_k = a_0
        m = xp.permute_dims(gr, (1, 0, 3, 2))
    else:
        # Σ_{x,y} GL[x, a, y, b] GR[c, x, d, y] -> [a, c, b, d]
        m = xp.permute_dims(xp.tensordot(gl, gr, axes=([0, 2], [1, 3])), (0, 2, 1, 3))
    s = m.shape
    return xp.reshape(m, (s[0] * s[1], s[2] * s[3]))


def _eye_gram(xp, like):
    """``δ_ac δ_bd`` as ``[a, c, b, d]`` for the left bond of core ``like``."""
    r0 = like.shape[0]
    eye = xp.eye(r0, **on(like))
    return xp.reshape(eye, (r0, r0, 1, 1)) * xp.reshape(eye, (1, 1, r0, r0))


class Sweeper:
    """Left-to-right sweeps of one- or two-core updates with cached contractions."""

    def __init__(self, ring):
        self.ring = ring
        self.xp = ring.xp

    def _rhs(self, k, w, left, chains):
        """``b[a_k, (i_k…i_{k+w−1}), a_{k+w}]``: X contracted with every other core."""
        xp = self.xp
        ring = self.ring
        n = ring.n
        ib = math.prod(ring.shape[k : k + w])
        if k == 0:
            xm = xp.reshape(ring.x, (ib, -1))
            if w == n:
                raise AssertionError("a block cannot cover the whole ring")
            c = chains[w]  # (r0, r_w, J)
            return xp.matmul(xm[None, ...], xp.permute_dims(c, (0, 2, 1)))  # (r0, Ib, r_w)
        r0 = left.shape[0]
        rk = left.shape[1]
        if k + w == n:
            # left: (r0, r_k, Ib) -> b[a_k, Ib, a_0]
            return contig(xp.permute_dims(xp.reshape(left, (r0, rk, ib)), (1, 2, 0)))
        c = chains[k + w]
        lv = xp.reshape(left, (r0, rk * ib, -1))
        out = xp.sum(xp.matmul(lv, xp.permute_dims(c, (0, 2, 1))), axis=0)  # (r_k Ib, r_e)
        return xp.reshape(out, (rk, ib, -1))

    def _solve(self, b, gram, error=False):
        """Least-squares block from rhs ``b (r_k, Ib, r_e)``.

        Returns the block and, with ``error=True``, ``(<X,X̂>, ‖X̂‖²)`` for the error
        estimate (two scalar reads; None otherwise).
        """
        xp = self.xp
        rk, ib, re = b.shape
        bm = xp.reshape(xp.permute_dims(b, (0, 2, 1)), (rk * re, ib))
        y = solve_spd(gram, bm)
        block = contig(xp.permute_dims(xp.reshape(y, (rk, re, ib)), (0, 2, 1)))
        if not error:
            return block, None
        return block, (vdot(xp, bm, y), vdot(xp, y, gram @ y))

    def _advance(self, k, left, h):
        """``L_{k+1}`` from ``L_k`` (``None`` for k = 0) and the new core ``H_k``."""
        xp = self.xp
        ring = self.ring
        rk, ik, rk1 = h.shape
        if k == 0:
            xm = xp.reshape(ring.x, (ik, -1))
            return xp.tensordot(h, xm, axes=([1], [0]))  # (r0, r1, J)
        r0 = left.shape[0]
        lv = xp.reshape(left, (r0, rk * ik, -1))
        return xp.matmul(xp.reshape(h, (rk * ik, rk1)).T[None, ...], lv)  # (r0, r_{k+1}, J)

    def _rel(self, inner, fit_sq):
        ring = self.ring
        sq = ring.norm_sq - 2.0 * inner + fit_sq
        return math.sqrt(max(sq, 0.0) / ring.norm_sq)

    def one_core_sweep(self, known=None):
        """One ALS sweep over all cores; returns the error estimate after it.

        ``known``: the current cores' right chains and core-0 right-hand side, when at
        hand (from `error_of`).
        """
        xp = self.xp
        ring = self.ring
        n = ring.n
        chains, b0 = (ring.right_chains(), None) if known is None else known
        grams = ring.right_grams()
        left, gl = None, None
        for k in range(n):
            b = b0 if k == 0 and b0 is not None else self._rhs(k, 1, left, chains)
            gram = self._core_gram(k, gl, grams[k + 1])
            h, scalars = self._solve_core(k, b, gram, error=k == n - 1)
            ring.cores[k] = h
            if k == n - 1:
                return self._rel(*scalars)
            left = self._advance(k, left, h)
            gl = self._gram_after(k, _eye_gram(xp, h) if gl is None else gl, h)
        raise AssertionError("unreachable: the loop returns at its last core")

    # Hooks of a one-core update (`_structured.StructuredSweeper` projects them).
    def _core_gram(self, k, gl, gr):
        return _block_gram(self.xp, gl, gr)

    def _solve_core(self, k, b, gram, error):
        return self._solve(b, gram, error=error)

    def _gram_after(self, k, gl, h):
        return _gram_step_left(self.xp, gl, h)

    def error_of(self, cores):
        """``(error, known)`` of other ``cores``: one right chain, one contraction with X.

        ``‖X − X̂‖² = ‖X‖² − 2<X, X̂> + ‖X̂‖²`` with ``<X, X̂>`` from the right-hand side
        of core 0 and ``‖X̂‖²`` from the transfer matrices; ``known`` (the chains and
        that right-hand side) starts the next sweep if these cores are kept.
        """
        xp = self.xp
        chains = self.ring.right_chains(cores)
        b0 = self._rhs(0, 1, None, chains)
        whole = self.ring.right_grams(cores, lowest=0)[0]
        fit_sq = vdot(xp, whole, _eye_gram(xp, cores[0]))
        return self._rel(vdot(xp, b0, cores[0]), fit_sq), (chains, b0)

    def two_core_sweep(self, rng, abort_above=None):
        """One DMRG-style sweep over all bonds, the ring bond included.

        Returns the error after it, or None as soon as the error after a bond update
        exceeds ``abort_above`` (the cores are then partly updated: the caller keeps
        the state it had before the sweep).
        """
        xp = self.xp
        ring = self.ring
        n = ring.n
        chains = ring.right_chains()
        grams = ring.right_grams()
        left, gl = None, None
        for k in range(n - 1):
            b = self._rhs(k, 2, left, chains)
            gram = _block_gram(xp, gl, grams[k + 2])
            block, _ = self._solve(b, gram)
            hk, hk1, rel = split_in_metric(
                xp, block, b, gram, ring.shape[k], ring.cores[k].shape[2], rng
            )
            if abort_above is not None and self._rel(*rel) > abort_above:
                return None
            ring.cores[k], ring.cores[k + 1] = hk, hk1
            left = self._advance(k, left, hk)
            gl = _gram_step_left(xp, _eye_gram(xp, hk) if gl is None else gl, hk)
        return self.ring_bond_step(rng)

    def ring_bond_step(self, rng):
        """Two-core update of the ring bond ``(N−1, 0)``; returns the error after it."""
        xp = self.xp
        ring = self.ring
        # Rotate so the block is at the front.
        rot = [ring.cores[-1], *ring.cores[:-1]]
        x_rot = contig(xp.permute_dims(ring.x, (ring.n - 1, *range(ring.n - 1))))
        sub = Sweeper(_RotatedView(xp, x_rot, rot))
        chains = ring.right_chains(rot, lowest=2)
        grams = ring.right_grams(rot, lowest=2)
        b = sub._rhs(0, 2, None, chains)
        gram = _block_gram(xp, None, grams[2])
        block, _ = sub._solve(b, gram)
        hl, hr, rel = split_in_metric(
            xp, block, b, gram, ring.shape[-1], ring.cores[0].shape[0], rng
        )
        ring.cores[-1], ring.cores[0] = hl, hr
        return self._rel(*rel)


class _RotatedView:
    def __init__(self, xp, x, cores):
        self.xp = xp
        self.x = x
        self.shape = tuple(x.shape)
        self.n = len(self.shape)
        self.cores = cores


def split_in_metric(xp, block, b, gram, i_left, rank, rng):
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
    a = leading_basis(xp, xp.reshape(block, (ra * i_left, ib * rc)), rank, rng)
    a = xp.reshape(a, (ra, i_left, rank))
    m4 = xp.reshape(gram, (ra, rc, ra, rc))
    b4 = xp.reshape(b, (ra, i_left, ib, rc))
    # Gram_B[(q,c),(q',c')] = Σ A[a,i,q] A[a',i,q'] M[a,c,a',c']
    aa = xp.tensordot(a, a, axes=([1], [1]))  # (a, q, a', q')
    gb = xp.tensordot(aa, m4, axes=([0, 2], [0, 2]))  # (q, q', c, c')
    gb = xp.reshape(xp.permute_dims(gb, (0, 2, 1, 3)), (rank * rc, rank * rc))
    rhs = xp.tensordot(a, b4, axes=([0, 1], [0, 1]))  # (q, j, c)
    rhs = xp.reshape(xp.permute_dims(rhs, (0, 2, 1)), (rank * rc, ib))
    yb = solve_spd(gb, rhs)
    right = contig(xp.permute_dims(xp.reshape(yb, (rank, rc, ib)), (0, 2, 1)))
    kept = xp.reshape(xp.reshape(a, (-1, rank)) @ xp.reshape(right, (rank, -1)), (ra, iab, rc))
    y = xp.reshape(xp.permute_dims(kept, (0, 2, 1)), (ra * rc, iab))
    bm = xp.reshape(xp.permute_dims(b, (0, 2, 1)), (ra * rc, iab))
    return a, right, (vdot(xp, bm, y), vdot(xp, y, gram @ y))


# Entries of the tensor reconstructed at a time by `exact_error` (at most 32 MB of
# float64 and an eighth of the tensor): the error never needs a full-size copy.
_SLAB_ENTRIES = 1 << 22


def exact_error(ring):
    """``‖X − X̂‖/‖X‖`` from the reconstruction (exact where the estimate cancels).

    The reconstruction is formed in slabs of the first mode, so the memory it needs
    is bounded by `_SLAB_ENTRIES` (and the ring's partial products), not by ``|X|``.
    """
    xp, x, cores = ring.xp, ring.x, ring.cores
    size0 = ring.shape[0]
    total_size = max(1, math.prod(ring.shape))
    slab = min(_SLAB_ENTRIES, max(1, total_size // 8))
    step = max(1, slab * size0 // total_size)
    total = 0.0
    for lo in range(0, size0, step):
        hi = min(size0, lo + step)
        diff = ring.to_tensor([cores[0][:, lo:hi, :], *cores[1:]]) - x[lo:hi, ...]
        total += vdot(xp, diff, diff)
    return math.sqrt(total / ring.norm_sq)


def largest_merged_block(shape, ranks):
    """Entries of the largest merged block ``r_k·I_k·I_{k+1}·r_{k+2}`` of a two-core sweep.

    A two-core update holds a few arrays of that size (its right-hand side, solution
    and split), the ring bond ``(N−1, 0)`` included.
    """
    n = len(shape)
    return max(ranks[k] * shape[k] * shape[(k + 1) % n] * ranks[(k + 2) % n] for k in range(n))


def two_core_cost_ratio(shape, ranks):
    """Flops of a two-core sweep, and their ratio to a one-core sweep's (a deterministic model).

    One-core: the contraction of the data (``4·|X|·r_0·r_1``) and the solves. Two-core:
    the contraction, and per bond the merged solve, the SVD basis of the merged block
    (a Gram product and an eigendecomposition) and the re-solve in the data metric.
    Measured (one thread): 47× on Indian Pines 64×64×200 at ring ranks (2,8,8,2) where
    the model says 60; 78× (model 113) on china.jpg at (2,16,16,2); 2.4× (13) on
    Kinetic; the model orders the cases as the measurements do.
    """
    n = len(shape)
    size = math.prod(shape)
    one = 4.0 * size * ranks[0] * ranks[1]
    two = 4.0 * size * ranks[0] * ranks[2 % n] + size
    for k in range(n):
        rr = ranks[k] * ranks[k + 1]
        one += 2.0 * rr * rr * shape[k] + rr**3 / 3.0
        a, b, mid = ranks[k], ranks[(k + 2) % n], ranks[(k + 1) % n]
        left, right = shape[k], shape[(k + 1) % n]
        two += 2.0 * a * left * right * b * a * b
        m, w = a * left, right * b
        two += 2.0 * m * w * min(m, w) + 10.0 * min(m, w) ** 3
        two += 2.0 * (mid * b) ** 2 * right
    return two, two / one
