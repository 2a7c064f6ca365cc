"""Structured mode subspaces of STTu (SPEC §4): ``Z_n``, its Gram matrix and spectrum.

For mode ``n`` the factor ``U_n ⊗ I_{t_n}`` (left side) acts on the slow digit of
``i_n = k·t_n + σ``; ``Z_n`` lays the ``t_n`` interleaved row subsets of the mode-n
unfolding side by side, and the best structured subspace is its leading left
singular subspace, found here from the Gram matrix where that is accurate enough.
"""

from __future__ import annotations

import math

import numpy as np

from .._namespace import to_numpy

__all__ = ["mode_blocks", "spectrum", "gram_resolves", "rank_for_eps"]

# Batched Gram products pay off once each batch has this many columns (as in tenalg).
_BATCHED_MIN_COLS = 32
# The Gram route is trusted for a kept direction when its eigenvalue exceeds the
# Gram's rounding level (about J·u·λ_max) by this factor: the fit then loses at most
# about u·σ_1/σ_k ≲ 1e-10 relative to an SVD.
_GRAM_MARGIN = 1e4


def mode_blocks(xp, x, n, t, side):
    """View ``x`` as ``(b, J, c)``; its ``(J, b·c)`` flattening is ``Z_n`` (up to column order)."""
    shape = tuple(x.shape)
    pre, post = math.prod(shape[:n]), math.prod(shape[n + 1 :])
    j = shape[n] // t
    if side == "left":  # i_n = k·t + σ: k slow, σ joins the columns
        return xp.reshape(x, (pre, j, t * post))
    return xp.reshape(x, (pre * t, j, post))  # i_n = σ·J + k


def _flatten(xp, x3):
    """``Z_n`` itself, ``J × (b·c)`` (one copy)."""
    b, j, c = x3.shape
    if b == 1:
        return x3[0, ...]
    return xp.reshape(xp.permute_dims(x3, (1, 0, 2)), (j, b * c))


def _gram(xp, x3):
    """``Z_n Z_nᵀ`` without forming ``Z_n`` where a batched product avoids the copy."""
    b, j, c = x3.shape
    if b == 1:
        z = x3[0, ...]
        return z @ xp.matrix_transpose(z)
    if c == 1:
        z = x3[..., 0]
        return xp.matrix_transpose(z) @ z
    if c >= _BATCHED_MIN_COLS:
        return xp.sum(x3 @ xp.matrix_transpose(x3), axis=0)
    z = _flatten(xp, x3)
    return z @ xp.matrix_transpose(z)


def spectrum(xp, x3, use_svd):
    """Left singular vectors of ``Z_n`` (descending) and all squared singular values.

    Returns ``(vectors, sq, route)``: ``vectors`` is ``J × J`` (a full basis),
    ``sq`` a numpy array of length ``J`` (zeros beyond the rank), ``route`` is
    ``"gram"`` or ``"svd"``. The Gram route (symmetric eigendecomposition of the
    ``J × J`` matrix ``Z_nZ_nᵀ``) is used for wide ``Z_n`` unless ``use_svd``.
    """
    b, j, c = x3.shape
    if not use_svd and j <= b * c:
        lam, vecs = xp.linalg.eigh(_gram(xp, x3))
        sq = to_numpy(lam)[::-1].clip(min=0.0)
        return xp.flip(vecs, axis=1), sq, "gram"
    z = _flatten(xp, x3)
    full = j > b * c  # a full basis is needed when J exceeds the column count
    u, s, _ = xp.linalg.svd(z, full_matrices=full)
    sq = np.zeros(j)
    sq[: s.shape[0]] = to_numpy(s) ** 2
    return u, sq, "svd"


def gram_resolves(sq, k, j, dtype_eps):
    """Whether the ``k`` leading Gram eigenvalues all sit above the Gram's rounding level."""
    return sq[0] == 0.0 or sq[k - 1] > _GRAM_MARGIN * j * dtype_eps * sq[0]


def rank_for_eps(sq, budget):
    """Smallest ``k >= 1`` whose discarded energy ``Σ_{i>k} sq_i`` is at most ``budget``."""
    tail = 0.0
    k = len(sq)
    while k > 1 and tail + sq[k - 1] <= budget:
        tail += sq[k - 1]
        k -= 1
    return k
