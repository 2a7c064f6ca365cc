"""The fixed data of one STTu fit and its rank rules (see `semitensor.decomposition.sttu`).

Shared by the in-memory driver and the dask one (`_dask_sttu`), which subclasses
`_Problem` with chunk-wise passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._validation import check_side, check_t
from ..formats.sttu import STTuTensor
from ..tenalg import stp_mode_dot
from ._prepare import check_ranks_or_eps, check_settings
from ._subspaces import gram_resolves, mode_blocks, rank_for_eps, spectrum

__all__ = ["_Problem", "_check_ranks", "check_mode_t", "check_sttu_arguments"]

_METHODS = ("hosvd", "hooi")


@dataclass(frozen=True)
class _Problem:
    """The fixed data of one fit: the tensor, its norm, ``t``, the side, the rounding unit."""

    xp: object
    x: object
    norm_x: float
    t: tuple
    side: str
    dtype_eps: float
    scale: float = 1.0

    def project(self, y, factors, modes, keep=False):
        """``y ×_m (U_m ⊗ I)ᵀ`` for ``m`` in ``modes`` (in order), and the intermediates."""
        steps = []
        for m in modes:
            y = stp_mode_dot(y, self.xp.matrix_transpose(factors[m]), m, side=self.side)
            if keep:
                steps.append(y)
        return y, steps

    def subspace(self, y, n, k):
        """Leading ``k``-dimensional left singular subspace of ``Z_n(y)`` (orthonormal)."""
        x3 = mode_blocks(self.xp, y, n, self.t[n], self.side)
        vecs, sq, route = spectrum(self.xp, x3, use_svd=False)
        if route == "gram" and not gram_resolves(sq, k, x3.shape[1], self.dtype_eps):
            vecs, _, _ = spectrum(self.xp, x3, use_svd=True)
        return vecs[:, :k]

    def eps_subspace(self, n, budget):
        """``(U, dropped)``: the least subspace of ``Z_n`` dropping at most ``budget``.

        ``budget`` and ``dropped`` are discarded energies (squared norms).

        The Gram's eigenvalues resolve that budget unless it is near rounding level;
        there the SVD of ``Z_n`` is taken instead (see `gram_resolves`).
        """
        x3 = mode_blocks(self.xp, self.x, n, self.t[n], self.side)
        j = x3.shape[1]
        use_svd = budget < 100 * j * j * self.dtype_eps * self.norm_x**2
        vecs, sq, _ = spectrum(self.xp, x3, use_svd=use_svd)
        k = rank_for_eps(sq, budget)
        if not use_svd and not gram_resolves(sq, k, j, self.dtype_eps):
            vecs, sq, _ = spectrum(self.xp, x3, use_svd=True)
        return vecs[:, :k], float(sq[k:].sum())

    def rel_error(self, core, factors):
        """``‖X − X̂‖/‖X‖`` for orthonormal factors.

        ``‖X − X̂‖² = ‖X‖² − ‖G‖²`` is cheap but cancels below about ``sqrt(u)``;
        there the error is computed from the reconstruction instead.
        """
        xp, norm_x = self.xp, self.norm_x
        if norm_x == 0.0:
            return 0.0
        sq = max(norm_x**2 - float(xp.sum(core * core)), 0.0) / norm_x**2
        if sq > 1e4 * self.dtype_eps:
            return math.sqrt(sq)
        diff = self.x - STTuTensor(core, list(factors), self.t, self.side).to_tensor()
        return float(xp.linalg.vector_norm(diff)) / norm_x

    def decomposition(self, core, factors):
        """A fresh STTuTensor of the state, in the data's scale, on copies of the arrays.

        A callback that edits what it is handed cannot touch the fit.
        """
        copies = [self.xp.asarray(u, copy=True) for u in factors]
        return STTuTensor(core * self.scale, copies, self.t, self.side)


def _check_ranks(ranks, eps, shape, t):
    """Return the validated ranks (tuple), or ``None`` when ``eps`` picks them."""
    values = check_ranks_or_eps(ranks, eps, len(shape), "one per mode")
    if values is None:
        return None
    for n, (r, size, tn) in enumerate(zip(values, shape, t)):
        if r % tn or r > size:
            raise ValueError(
                f"ranks[{n}] must be a positive multiple of t[{n}]={tn} no larger than the "
                f"mode size I_{n}={size}; got {r}"
            )
    return tuple(values)


def check_mode_t(t, shape):
    """``t`` as one int per mode, each dividing its mode's size."""
    t = check_t(t, len(shape))
    for n, (size, tn) in enumerate(zip(shape, t)):
        if size % tn:
            raise ValueError(
                f"t[{n}]={tn} does not divide the size of mode {n} (I_{n}={size}); "
                f"tensor shape {shape}"
            )
    return t


def check_sttu_arguments(shape, t, side, method, n_iter_max, tol, eps, random_state, verbose,
                         callback):  # fmt: skip
    """``(t, side, settings)`` of an STTu fit, checked before any array work.

    ``random_state`` is validated only: HOSVD and HOOI are deterministic.
    """
    t = check_mode_t(t, shape)
    side = check_side(side)
    settings = check_settings(
        "sttu_decompose",
        method=method,
        methods=_METHODS,
        n_iter_max=n_iter_max,
        tol=tol,
        eps=eps,
        random_state=random_state,
        verbose=verbose,
        callback=callback,
    )
    return t, side, settings
