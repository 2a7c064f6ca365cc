"""Chain algebra shared by the STT and STR formats, their fits and the nn layers.

SPEC §4. Both formats are chains of 3-d cores ``G_k`` joined by ``P ⋉ G_k(i) =
P (G_k(i) ⊗ I_t)`` (left side) or ``P (I_t ⊗ G_k(i))`` (right side). With the running
row ``P`` of length ``R`` viewed as an ``(R/t) × t`` matrix (left) or a ``t × (R/t)``
matrix (right), each step is one GEMM against ``G_k(i)`` on the ``R/t`` axis, so the
Kronecker factor is never formed. This module holds those steps, the core shapes of
given bond sizes, and the exact maps between the STP formats and tensor rings:

* STT with a uniform ``t`` is the ring of ranks ``(t, R_1/t, …, R_{N−1}/t, t)``:
  ``H_1[a, i, r] = G_1[0, i, r·t + a]``, ``H_N[r, i, a] = G_N[r·t + a, i, 0]`` (left;
  the right side uses ``a·R/t + r``), interior cores unchanged;
* STR with a uniform ``t`` is the ring of ranks ``R/t`` whose first core is the
  partial trace ``H_1(i) = Σ_{a<t} G_1[a::t, i, a::t]``; the minimum-norm STR first
  core with a given partial trace puts ``H_1/t`` on each of the ``t`` diagonal blocks.

Every function works in the namespace of its arrays (numpy, torch with autograd, …).
"""

from __future__ import annotations

import math

import array_api_compat

__all__ = [
    "step_left",
    "step_right",
    "stt_core_shapes",
    "str_core_shapes",
    "stt_ring_ranks",
    "str_ring_ranks",
    "stt_to_ring",
    "ring_to_stt",
    "partial_trace",
    "embed_first_core",
    "ring_entries",
    "cheapest_full_core",
    "ring_to_str",
    "str_params",
]


def step_left(xp, p, g, t, side):
    """``P ⋉ G(i)`` for all ``i`` at once: ``P`` is ``(M, R)``, result ``(M·I, R')``."""
    m = p.shape[0]
    r, size, q = g.shape
    gm = xp.reshape(g, (r, size * q))
    if side == "left":
        # P[m, r·t + a] -> (M, t, r) @ G (r, I·q) -> (M, t, I, q) -> (M, I, q, t)
        pv = xp.permute_dims(xp.reshape(p, (m, r, t)), (0, 2, 1))
        out = xp.reshape(pv @ gm, (m, t, size, q))
        out = xp.permute_dims(out, (0, 2, 3, 1))
    else:
        # P[m, a·r + s] -> (M, t, r) @ G -> (M, t, I, q) -> (M, I, t, q)
        pv = xp.reshape(p, (m, t, r))
        out = xp.reshape(pv @ gm, (m, t, size, q))
        out = xp.permute_dims(out, (0, 2, 1, 3))
    return xp.reshape(out, (m * size, q * t))


def step_right(xp, g, c, t, side):
    """``G(i) ⋉ C`` for all ``i`` at once: ``C`` is ``(R, J)``, result ``(R_prev, I·J)``."""
    r, size, q = g.shape
    j = c.shape[1]
    if side == "left":
        # C[s·t + a, j] -> (q, t·J); G (r·I, q) @ -> (r, I, t, J) -> (r, t, I, J)
        out = xp.reshape(xp.reshape(g, (r * size, q)) @ xp.reshape(c, (q, t * j)), (r, size, t, j))
        out = xp.permute_dims(out, (0, 2, 1, 3))
        return xp.reshape(out, (r * t, size * j))
    # C[a·q + s, j] -> (t, q, J); G @ C[a] for each a -> (t, r, I, J)
    cv = xp.reshape(c, (t, q, j))
    out = xp.reshape(g, (r * size, q)) @ cv
    return xp.reshape(out, (t * r, size * j))


def stt_core_shapes(shape, bonds, t):
    """SPEC §4 core shapes of an STT with bond sizes ``R_1..R_{N−1}`` and a uniform ``t``."""
    n = len(shape)
    out = [(1, shape[0], bonds[0])]
    out += [(bonds[k - 1] // t, shape[k], bonds[k] // t) for k in range(1, n - 1)]
    out.append((bonds[-1], shape[-1], 1))
    return out


def str_core_shapes(shape, bonds, t, full_core=0):
    """SPEC §4 core shapes of an STR with a uniform ``t``.

    ``bonds`` are ``R_0..R_{N−1}`` in mode order (``bonds[k]`` enters core ``k``); the
    full core sits on the mode ``full_core``.
    """
    n = len(shape)
    out = []
    for k in range(n):
        r, q = bonds[k], bonds[(k + 1) % n]
        out.append((r, shape[k], q) if k == full_core else (r // t, shape[k], q // t))
    return out


def stt_ring_ranks(bonds, t):
    """Ranks ``(t, R_1/t, …, R_{N−1}/t, t)`` of the ring an STT is (two cores: a train)."""
    if len(bonds) == 1:
        return [1, bonds[0], 1]
    return [t] + [r // t for r in bonds] + [t]


def str_ring_ranks(bonds, t):
    """Ranks ``(R_0/t, …, R_{N−1}/t, R_0/t)`` of the compact ring of an STR."""
    return [r // t for r in bonds] + [bonds[0] // t]


def stt_to_ring(cores, t, side):
    """The exact tensor ring of an STT with a uniform ``t`` (cores' library, views)."""
    if len(cores) == 2:
        return list(cores)
    xp = array_api_compat.array_namespace(*cores)
    g1, gn = cores[0][0, ...], cores[-1][..., 0]
    i1, r1 = g1.shape
    rn, i_n = gn.shape
    if side == "left":
        h1 = xp.permute_dims(xp.reshape(g1, (i1, r1 // t, t)), (2, 0, 1))
        hn = xp.permute_dims(xp.reshape(gn, (rn // t, t, i_n)), (0, 2, 1))
    else:
        h1 = xp.permute_dims(xp.reshape(g1, (i1, t, r1 // t)), (1, 0, 2))
        hn = xp.permute_dims(xp.reshape(gn, (t, rn // t, i_n)), (1, 2, 0))
    return [h1, *cores[1:-1], hn]


def ring_to_stt(ring, t, side):
    """The inverse of `stt_to_ring`: STT cores from the ring ``(t, R_1/t, …, t)``."""
    if len(ring) == 2:
        return list(ring)
    xp = array_api_compat.array_namespace(*ring)
    h1, hn = ring[0], ring[-1]
    _, i1, r1 = h1.shape
    rn, i_n, _ = hn.shape
    if side == "left":  # G_1[0, i, r·t + a] = H_1[a, i, r]
        g1 = xp.permute_dims(h1, (1, 2, 0))
        gn = xp.permute_dims(hn, (0, 2, 1))
    else:  # G_1[0, i, a·R/t + r] = H_1[a, i, r]
        g1 = xp.permute_dims(h1, (1, 0, 2))
        gn = xp.permute_dims(hn, (2, 0, 1))
    return [xp.reshape(g1, (1, i1, r1 * t)), *ring[1:-1], xp.reshape(gn, (rn * t, i_n, 1))]


def partial_trace(g1, t, side):
    """Partial trace ``H_1`` of an STR first core (SPEC §4): ``(R_0/t, I_1, R_1/t)``."""
    xp = array_api_compat.array_namespace(g1)
    r0, i1, r1 = g1.shape
    if side == "left":  # rows r·t + a, columns s·t + a
        g = xp.reshape(g1, (r0 // t, t, i1, r1 // t, t))
        blocks = [g[:, a, :, :, a] for a in range(t)]
    else:  # rows a·R_0/t + r, columns a·R_1/t + s
        g = xp.reshape(g1, (t, r0 // t, i1, t, r1 // t))
        blocks = [g[a, :, :, a, :] for a in range(t)]
    out = blocks[0]
    for b in blocks[1:]:
        out = out + b
    return out


def embed_first_core(h1, t, side):
    """Minimum-norm STR first core whose partial trace is ``h1`` (SPEC §4).

    Among all ``G_1`` with ``Σ_a G_1[a::t, :, a::t] = H_1`` (left side; diagonal
    blocks on the right side), the one of least Frobenius norm puts ``H_1/t`` on each
    of the ``t`` diagonal positions and zeros elsewhere.
    """
    xp = array_api_compat.array_namespace(h1)
    r0, i1, r1 = h1.shape
    eye = xp.eye(t, dtype=h1.dtype, device=array_api_compat.device(h1))
    if side == "left":  # rows r·t + a, columns s·t + b
        g = xp.reshape(h1 / t, (r0, 1, i1, r1, 1)) * xp.reshape(eye, (1, t, 1, 1, t))
    else:  # rows a·r_0 + r, columns b·r_1 + s
        g = xp.reshape(h1 / t, (1, r0, i1, 1, r1)) * xp.reshape(eye, (t, 1, 1, t, 1))
    return xp.reshape(g, (r0 * t, i1, r1 * t))


def ring_entries(xp, cores, cols, ts, side):
    """Entries ``tr(G_1(i_1) ⋉ … ⋉ G_N(i_N))`` of an STR chain (full core first).

    ``cols`` holds one ``(M,)`` index array per core, in chain order: a batch of
    ``R_0×R_k`` running products is pushed through the chain with batched GEMMs.
    """
    m, r0 = cols[0].shape[0], cores[0].shape[0]
    p = xp.permute_dims(xp.take(cores[0], cols[0], axis=1), (1, 0, 2))  # (M, R0, R1)
    for k in range(1, len(cores)):
        g = cores[k]
        r, _, q = g.shape
        t = ts[k - 1]
        gs = xp.permute_dims(xp.take(g, cols[k], axis=1), (1, 0, 2))  # (M, r, q)
        if side == "left":  # new[., s·t + a] = Σ_r P[., r·t + a] G[r, s]
            pv = xp.permute_dims(xp.reshape(p, (m, r0, r, t)), (0, 1, 3, 2))
            new = pv @ gs[:, None, :, :]  # (M, R0, t, q)
            p = xp.reshape(xp.permute_dims(new, (0, 1, 3, 2)), (m, r0, q * t))
        else:  # new[., a·q + s] = Σ_r P[., a·r + r'] G[r', s]
            pv = xp.reshape(p, (m, r0, t, r))
            p = xp.reshape(pv @ gs[:, None, :, :], (m, r0, t * q))
    return xp.sum(xp.linalg.diagonal(p), axis=-1)


def cheapest_full_core(shape, bonds):
    """The mode whose full core costs least: argmin of ``R_k I_k R_{k+1}`` (first on ties).

    The full core stores ``R_k I_k R_{k+1}`` numbers where the others store ``1/t²``
    of that, so this placement minimises an STR's parameters for given bonds.
    """
    n = len(shape)
    costs = [bonds[k] * shape[k] * bonds[(k + 1) % n] for k in range(n)]
    return min(range(n), key=costs.__getitem__)


def ring_to_str(ring, t, side, full_core=None):
    """``(cores, full_core)`` of the STR that a tensor ring (mode order) embeds into.

    The ring's core ``full_core`` (``None``: `cheapest_full_core`) becomes the full
    core by `embed_first_core`; the other cores are the STR's as they are.
    """
    if full_core is None:
        shape = [int(g.shape[1]) for g in ring]
        full_core = cheapest_full_core(shape, [int(g.shape[0]) * t for g in ring])
    cores = list(ring)
    cores[full_core] = embed_first_core(ring[full_core], t, side)
    return cores, full_core


def str_params(shape, bonds, t, full_core=None):
    """Parameters of an STR (SPEC §4); ``full_core=None``: `cheapest_full_core`."""
    if full_core is None:
        full_core = cheapest_full_core(shape, bonds)
    return sum(math.prod(s) for s in str_core_shapes(shape, bonds, t, full_core))
