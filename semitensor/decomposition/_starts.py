"""Starting cores of the ring fits: one TR-SVD sweep, or random cores; and a ring's tensor."""

from __future__ import annotations

import math

import array_api_compat

from ._linalg import contig, leading_basis, on, vdot

__all__ = ["tr_svd", "random_ring", "ring_to_tensor", "grow_ring"]

# Relative size of the noise in the new entries of a grown ring.
_PAD = 1e-3


def tr_svd(tensor, ranks, rng):
    """One TR-SVD sweep (Zhao et al. 2016, Alg. 1) with the given ring ranks.

    The first unfolding is truncated to ``r_0·r_1`` and its basis split into
    ``(a_1, a_0)`` with ``a_0`` fastest (column ``a_1·r_0 + a_0``), which for an STT
    ring is exactly the first STT core; the rest is a TT-SVD sweep.

    Parameters
    ----------
    tensor : array (numpy, torch, ...), real floating, C-contiguous
    ranks : sequence of int, length N + 1, ``ranks[0] == ranks[N]``
    rng : numpy.random.Generator
        For the noise that pads rank-deficient unfoldings.

    Returns
    -------
    list of arrays
        In the tensor's library, device and dtype.
    """
    xp = array_api_compat.array_namespace(tensor)
    shape = tuple(tensor.shape)
    n = len(shape)
    first, rest = first_core(tensor, ranks[0], ranks[1], rng)
    cores = [first]
    for k in range(1, n - 1):
        a = xp.reshape(rest, (ranks[k] * shape[k], -1))
        u = leading_basis(xp, a, ranks[k + 1], rng)
        cores.append(xp.reshape(u, (ranks[k], shape[k], ranks[k + 1])))
        rest = u.T @ a
    cores.append(xp.reshape(rest, (ranks[n - 1], shape[n - 1], ranks[0])))
    return cores


def first_core(tensor, r0, r1, rng):
    """The first core of a TR-SVD sweep, ``(r0, I_0, r1)``, and the remainder.

    The first unfolding's rank-``r0·r1`` basis, split into ``(a_1, a_0)`` with ``a_0``
    fastest; the remainder is ``(r1, I_1…I_{N−1}, r0)`` in C order.
    """
    xp = array_api_compat.array_namespace(tensor)
    size0 = tensor.shape[0]
    a = xp.reshape(tensor, (size0, -1))
    u = leading_basis(xp, a, r0 * r1, rng)
    core = contig(xp.permute_dims(xp.reshape(u, (size0, r1, r0)), (2, 0, 1)))
    rest = xp.reshape(u.T @ a, (r1, r0, -1))
    return core, contig(xp.permute_dims(rest, (0, 2, 1)))


def random_ring(shape, ranks, rng, scale=1.0, like=None, ts=None):
    """Random normal ring cores, scaled so the ring has norm about ``scale``.

    The draws come from ``rng`` (numpy) whatever the backend; ``like`` (an array)
    gives the library, device and dtype of the cores (numpy float64 when None).
    ``ts``: the compact cores ``(R_k/t_k, I_k, R_{k+1}/t_k)`` of a structured ring
    (`_structured`) of full bonds ``ranks``.
    """
    n = len(shape)
    ts = ts or (1,) * n
    sizes = [(ranks[k] // ts[k], shape[k], ranks[k + 1] // ts[k]) for k in range(n)]
    cores = [rng.standard_normal(size) for size in sizes]
    per = (scale / math.sqrt(math.prod(shape) * math.prod(ranks[:-1]))) ** (1.0 / n)
    cores = [c * per for c in cores]
    if like is None:
        return cores
    xp = array_api_compat.array_namespace(like)
    return [xp.asarray(c, **on(like)) for c in cores]


def balanced_start(cores, norm):
    """A user's start with its cores' magnitudes balanced, when they are extreme.

    ALS's iterates do not depend on how a start's scale is split between its cores
    (each update solves for one core given the others), but its Gram matrices do:
    cores of magnitude 1e100 overflow them and LAPACK fails. So when a core's largest
    entry, or their product against the data's norm, is beyond ``2**±200``, each core
    is rescaled (its direction kept) so that its largest entry is ``norm**(1/N)``.
    Only the recorded error of the start changes.
    """
    xp = array_api_compat.array_namespace(cores[0])
    peaks = [float(xp.max(xp.abs(c))) for c in cores]
    if min(peaks) == 0.0 or norm == 0.0:
        return cores  # a zero core carries no scale to balance
    logs = [math.log2(p) for p in peaks]
    target = math.log2(norm) / len(cores)
    if max(map(abs, logs)) < 200 and abs(sum(logs) - len(cores) * target) < 200:
        return cores
    return [(c / p) * 2.0**target for c, p in zip(cores, peaks)]


def ring_to_tensor(cores):
    """Full tensor of a ring, by left-to-right GEMMs and one final trace (cores' library)."""
    xp = array_api_compat.array_namespace(*cores)
    r0 = cores[0].shape[0]
    p = xp.reshape(cores[0], (r0, -1))  # (r0, I_0 r_1)
    for h in cores[1:-1]:
        p = xp.reshape(p, (-1, h.shape[0])) @ xp.reshape(h, (h.shape[0], -1))
    h = cores[-1]
    rn = h.shape[0]
    p = xp.reshape(p, (r0, -1, rn))  # (a0, J, a_{N-1})
    # X[J, i] = Σ_{a0, b} p[a0, J, b] h[b, i, a0]
    out = xp.tensordot(p, h, axes=([0, 2], [2, 0]))
    return xp.reshape(out, tuple(c.shape[1] for c in cores))


def grow_ring(cores, ranks, rng):
    """Ring cores of larger ``ranks`` that start where ``cores`` ended (a warm start).

    Each old core fills the leading block of the new one; the new entries are small
    noise (relative size 1e-3 of the core's entries), so the ring's tensor moves by
    about that much and ALS can use the new directions (zeros would leave it stuck).
    """
    xp = array_api_compat.array_namespace(*cores)
    out = []
    for k, c in enumerate(cores):
        r, size, q = c.shape
        rms = math.sqrt(vdot(xp, c, c) / max(1, r * size * q))
        noise = rng.standard_normal((ranks[k], size, ranks[k + 1])) * (_PAD * rms)
        big = xp.asarray(noise, **on(c))
        big[:r, :, :q] = c
        out.append(big)
    return out
