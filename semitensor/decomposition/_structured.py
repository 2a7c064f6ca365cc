"""One-core ALS on a ring whose cores are Kronecker-structured: per-core ``t`` fits.

With one ``t`` for every core, an STT or STR is exactly a smaller tensor ring (SPEC
§4) and `_ring_als` fits that ring. With a ``t_k`` per core it is not: an STT or STR
is then a ring of the full bonds ``R_k`` whose cores are ``H_k = G_k ⊗ I_{t_k}``
(``I_{t_k} ⊗ G_k`` on the right side), the full cores (STT's ends, STR's full core)
having ``t = 1``. This module runs the `_ring_als.Sweeper` on that ring with the
compact cores ``G_k`` as its state:

* the caches (right chains, Grams, left contractions) step through ``G_k`` on
  reshaped views of the bond, ``ρ·t + α`` (left) or ``α·(R/t) + ρ`` (right), the
  way `~semitensor.formats.chain.step_left` does; ``G ⊗ I`` is never formed;
* each core update solves the normal equations of the full-bond ring projected on
  the structure, ``(SᵀMS) g = Sᵀb``, with ``S`` the map ``g ↦ g ⊗ I_t``: ``Sᵀb``
  sums the right-hand side over its ``t`` diagonal positions and ``SᵀMS`` is the
  Gram contracted over the two identity indices.

So every update is still the exact least-squares solution for its core and the
error never increases. The contraction with the data costs what the ring route
costs for an STT (its full-bond ring has end rank 1) and ``t²`` times more for an
STR (the ring bond ``R_0`` is full); the Grams cost ``t²`` more. The two-core
warm-up does not keep the structure, so these fits run without it.
"""

from __future__ import annotations

import array_api_compat

from ..formats.chain import step_left
from ._linalg import contig, leading_basis, on
from ._ring_als import Ring, Sweeper, _block_gram, _transfer
from ._starts import first_core

__all__ = [
    "StructuredRing", "StructuredSweeper", "structured_tr_svd",
    "structured_to_tensor",
]  # fmt: skip


def _canonical(xp, a, axis, t, side):
    """Split bond ``axis`` of ``a`` into ``(ρ, α)`` (``ρ`` the compact index)."""
    s = a.shape
    r = s[axis]
    if side == "left":
        return xp.reshape(a, s[:axis] + (r // t, t) + s[axis + 1 :])
    v = xp.reshape(a, s[:axis] + (t, r // t) + s[axis + 1 :])
    perm = list(range(v.ndim))
    perm[axis], perm[axis + 1] = axis + 1, axis
    return xp.permute_dims(v, tuple(perm))


def _merge(xp, a, axis, side):
    """Inverse of `_canonical`: join ``(ρ, α)`` at ``axis, axis+1`` into one bond."""
    s = a.shape
    if side != "left":
        perm = list(range(a.ndim))
        perm[axis], perm[axis + 1] = axis + 1, axis
        a = xp.permute_dims(a, tuple(perm))
    return xp.reshape(a, s[:axis] + (s[axis] * s[axis + 1],) + s[axis + 2 :])


def _chain_step(xp, g, c, t, side):
    """``C[x, a, (i, J)] = Σ_{a'} H[a, i, a'] C'[x, a', J]`` with ``H = G⊗I_t``."""
    p, size, q = g.shape
    x, _, j = c.shape
    gm = xp.reshape(g, (p * size, q))
    if side == "left":
        out = gm @ xp.reshape(c, (x, q, t * j))  # (x, p·I, t·J)
        out = xp.permute_dims(xp.reshape(out, (x, p, size, t, j)), (0, 1, 3, 2, 4))
    else:
        out = gm @ xp.reshape(c, (x * t, q, j))  # (x·t, p·I, J): rows α·p + ρ
    return xp.reshape(out, (x, p * t, size * j))


def _advance_step(xp, g, left, t, side):
    """``L'[x, a', J] = Σ_{a,i} H[a, i, a'] L[x, a, i, J]`` with ``H = G⊗I_t``."""
    p, size, q = g.shape
    x = left.shape[0]
    if side == "left":
        lv = xp.reshape(left, (x, p, t, size, -1))
        lv = xp.reshape(xp.permute_dims(lv, (0, 2, 1, 3, 4)), (x * t, p * size, -1))
    else:
        lv = xp.reshape(left, (x * t, p * size, -1))
    out = xp.matrix_transpose(xp.reshape(g, (p * size, q)))[None, ...] @ lv  # (x·t, q, J)
    out = xp.reshape(out, (x, t, q, -1))
    if side == "left":
        out = xp.permute_dims(out, (0, 2, 1, 3))
    return xp.reshape(out, (x, q * t, -1))


def _gram_right(xp, g, gram, t, side):
    """``GR[a, x, b, y]`` of the chain from a structured core and the next Gram."""
    p, _, q = g.shape
    x, y = gram.shape[1], gram.shape[3]
    v = _canonical(xp, _canonical(xp, gram, 2, t, side), 0, t, side)  # (q, α, x, q, β, y)
    v = xp.reshape(xp.permute_dims(v, (0, 3, 1, 2, 4, 5)), (q * q, -1))
    out = xp.reshape(xp.reshape(_transfer(xp, g), (p * p, q * q)) @ v, (p, p, t, x, t, y))
    out = xp.permute_dims(out, (0, 2, 3, 1, 4, 5))  # (ρ, α, x, σ, β, y)
    return contig(_merge(xp, _merge(xp, out, 3, side), 0, side))


def _gram_left(xp, gram, g, t, side):
    """``GL[x, a', y, b']`` after a structured core, from the Gram before it."""
    p, _, q = g.shape
    x, y = gram.shape[0], gram.shape[2]
    v = _canonical(xp, _canonical(xp, gram, 3, t, side), 1, t, side)  # (x, p, α, y, p, β)
    v = xp.reshape(xp.permute_dims(v, (0, 2, 3, 5, 1, 4)), (-1, p * p))
    out = xp.reshape(v @ xp.reshape(_transfer(xp, g), (p * p, q * q)), (x, t, y, t, q, q))
    out = xp.permute_dims(out, (0, 4, 1, 2, 5, 3))  # (x, ρ', α, y, σ', β)
    return contig(_merge(xp, _merge(xp, out, 4, side), 1, side))


def _projected_gram(xp, gl, gr, t, side):
    """``SᵀMS``: the block Gram of ``_block_gram`` summed over the identity indices."""
    p, q = gl.shape[1] // t, gr.shape[0] // t
    x, y = gl.shape[0], gl.shape[2]
    lv = _canonical(xp, _canonical(xp, gl, 3, t, side), 1, t, side)  # (x, p, α, y, p, β)
    lv = xp.reshape(xp.permute_dims(lv, (2, 5, 1, 4, 0, 3)), (t * t, p * p, x * y))
    rv = _canonical(xp, _canonical(xp, gr, 2, t, side), 0, t, side)  # (q, α, x, q, β, y)
    rv = xp.reshape(xp.permute_dims(rv, (1, 4, 2, 5, 0, 3)), (t * t, x * y, q * q))
    m = xp.reshape(xp.sum(lv @ rv, axis=0), (p, p, q, q))  # (ρ, σ, ρ', σ')
    return xp.reshape(xp.permute_dims(m, (0, 2, 1, 3)), (p * q, p * q))


def _project_rhs(xp, b, t, side):
    """``Sᵀb``: the full-bond right-hand side summed over its ``t`` diagonal positions."""
    r, size, q = b.shape
    v = _canonical(xp, _canonical(xp, b, 2, t, side), 0, t, side)  # (ρ, α, i, ρ', α')
    v = xp.reshape(xp.permute_dims(v, (1, 4, 0, 2, 3)), (t * t, r // t, size, q // t))
    return xp.sum(v[:: t + 1, ...], axis=0)


def structured_to_tensor(cores, ts, side):
    """Full tensor of a structured ring (`StructuredRing`), by `step_left` GEMMs."""
    xp = array_api_compat.array_namespace(*cores)
    r0, i0, r1 = cores[0].shape
    p = xp.reshape(cores[0], (r0 * i0, r1))
    for g, t in zip(cores[1:], ts[1:]):
        p = step_left(xp, p, g, t, side)
    # p[(x, i_0, …, i_{N−1}), x']: close the trace over x = x'
    p = xp.reshape(p, (r0, -1, r0))
    eye = xp.reshape(xp.eye(r0, **on(p)), (r0, 1, r0))
    return xp.reshape(xp.sum(p * eye, axis=(0, 2)), tuple(c.shape[1] for c in cores))


class StructuredRing(Ring):
    """A `Ring` whose cores are the compact ``G_k`` of ``H_k = G_k ⊗ I_{t_k}``.

    ``ts[0]`` must be 1 (the full core heads the ring); ``side`` as in SPEC §4.
    """

    def __init__(self, tensor, cores, ts, side):
        super().__init__(tensor, cores)
        if ts[0] != 1:
            raise AssertionError("the first core of a structured ring is a full one")
        self.ts, self.side = tuple(ts), side

    def to_tensor(self, cores):
        return structured_to_tensor(cores, self.ts, self.side)

    def right_chains(self, cores=None, lowest=1):
        xp = self.xp
        cores = self.cores if cores is None else cores
        n = len(cores)
        r0 = cores[0].shape[0]
        c = [None] * (n + 1)
        nxt = xp.reshape(xp.eye(r0, **on(cores[0])), (r0, r0, 1))
        for k in range(n - 1, lowest - 1, -1):
            nxt = c[k] = _chain_step(xp, cores[k], nxt, self.ts[k], self.side)
        return c

    def _gram_step(self, k, core, gram):
        return _gram_right(self.xp, core, gram, self.ts[k], self.side)


class StructuredSweeper(Sweeper):
    """One-core sweeps of a `StructuredRing` (no two-core sweeps: see the module)."""

    def _advance(self, k, left, h):
        if k == 0:
            return super()._advance(k, left, h)
        ring = self.ring
        return _advance_step(self.xp, h, left, ring.ts[k], ring.side)

    def _gram_after(self, k, gl, h):
        ring = self.ring
        return _gram_left(self.xp, gl, h, ring.ts[k], ring.side)

    def _core_gram(self, k, gl, gr):
        t = self.ring.ts[k]
        if gl is None or t == 1:
            return _block_gram(self.xp, gl, gr)
        return _projected_gram(self.xp, gl, gr, t, self.ring.side)

    def _solve_core(self, k, b, gram, error):
        t = self.ring.ts[k]
        if t > 1:
            b = _project_rhs(self.xp, b, t, self.ring.side)
        return self._solve(b, gram, error=error)

    def two_core_sweep(self, rng, abort_above=None):
        raise ValueError("the two-core warm-up needs a uniform t (it does not keep G ⊗ I_t)")


def structured_tr_svd(tensor, ranks, ts, side, rng):
    """A TR-SVD sweep whose cores have the structure ``G_k ⊗ I_{t_k}``.

    At core ``k`` the identity index ``α`` of the remainder's rows moves to its
    columns, ``Y[(ρ, α), i, J] → Z[(ρ, i), (α, J)]``, and the leading rank-``R_k/t_k``
    basis of ``Z`` is ``G_k``: ``G_k ⊗ I`` then has orthonormal columns, so the chain
    stays orthonormal and the last core is the structured projection of what remains
    (the mean of its ``t`` diagonal blocks). ``ranks`` are the full bonds
    ``(R_0, R_1, …, R_{N−1}, R_0)``; the first core is full (``ts[0] == 1``).
    """
    xp = array_api_compat.array_namespace(tensor)
    shape = tuple(tensor.shape)
    n = len(shape)
    r0 = ranks[0]
    first, rest = first_core(tensor, r0, ranks[1], rng)
    cores = [first]
    rest = xp.reshape(rest, (1, ranks[1], -1))  # (x=1, R_1, (I_1…I_{N−1}, R_0))
    for k in range(1, n - 1):
        t, p, q = ts[k], ranks[k] // ts[k], ranks[k + 1] // ts[k]
        y = _canonical(xp, xp.reshape(rest, (ranks[k], shape[k], -1)), 0, t, side)
        z = xp.reshape(xp.permute_dims(y, (0, 2, 1, 3)), (p * shape[k], -1))  # (ρ i, α J)
        g = leading_basis(xp, z, q, rng)
        cores.append(xp.reshape(g, (p, shape[k], q)))
        rest = _advance_step(xp, cores[-1], xp.reshape(rest, (1, ranks[k], -1)), t, side)
    last = xp.reshape(rest, (ranks[n - 1], shape[n - 1], r0))
    t = ts[n - 1]
    cores.append(_project_rhs(xp, last, t, side) / t if t > 1 else last)
    return cores
