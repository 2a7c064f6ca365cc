"""Semi-tensor ring (STR) format: ``X[i] = tr(G_1(i_1) ⋉ G_2(i_2) ⋉ … ⋉ G_N(i_N))``.

SPEC §4. ``G_1`` is ``R_0×I_1×R_1`` and ``G_k`` (``k > 1``) is
``(R_{k−1}/t_k)×I_k×(R_k/t_k)`` with ``R_N = R_0``; ``G_k(i)`` is the ``i``-th lateral
slice. The running product ``G_1(i_1) ⋉ … ⋉ G_k(i_k)`` is ``R_0×R_k`` because
``P ⋉ G_k(i) = P (G_k(i) ⊗ I_{t_k})`` (left) or ``P (I_{t_k} ⊗ G_k(i))`` (right).

What the format can represent (SPEC §4, checked by the tests): with a uniform ``t``,
``tr(G_1 (M ⊗ I_t)) = tr(H_1 M)`` with the partial trace
``H_1(i) = Σ_{a<t} G_1[a::t, i, a::t]``, so an STR of ranks ``R`` is exactly a tensor
ring of ranks ``R/t`` whose first core is ``H_1``. The STR's first core stores
``R_0·I_1·R_1`` numbers where that ring needs ``R_0·I_1·R_1/t²``: `compact` returns
the smaller, equivalent ring.
"""

from __future__ import annotations

import math

import numpy as np

from .._namespace import device_of
from .._validation import check_t
from ._base import _CoreChain, conj, real
from .chain import partial_trace, step_left, step_right

__all__ = ["STRTensor", "str_to_tensor"]


def _check_cores(cores, ts):
    """Validate the SPEC §4 shapes; return ``(shape, ranks)`` with ``ranks = (R_0..R_{N−1})``."""
    n = len(cores)
    for k, g in enumerate(cores):
        if g.ndim != 3:
            raise ValueError(f"cores[{k}] must be 3-d; got shape {tuple(g.shape)}")
    shapes = [tuple(int(s) for s in g.shape) for g in cores]
    r0, _, bond = shapes[0]
    ranks = [r0]
    for k in range(1, n):
        tk = ts[k - 1]
        p, _, q = shapes[k]
        if bond % tk != 0 or bond // tk != p:
            raise ValueError(
                f"cores[{k}] has shape {shapes[k]}: its first size must be R_{k}/t = "
                f"{bond}/{tk}, where R_{k} = {bond} is the bond from cores[{k - 1}]"
                + ("" if bond % tk == 0 else f", but t = {tk} does not divide {bond}")
            )
        ranks.append(bond)
        bond = q * tk
    if bond != r0:
        tn = ts[-1]
        raise ValueError(
            f"cores[{n - 1}] (the last core) has shape {shapes[-1]}: its last size times "
            f"t = {tn} must close the ring at R_0 = {r0} (cores[0] has {r0} rows); "
            f"got {shapes[-1][2]}·{tn} = {bond}"
        )
    return tuple(s[1] for s in shapes), tuple(ranks)


class STRTensor(_CoreChain):
    """Semi-tensor ring decomposition (SPEC §4).

    ``X[i_1,…,i_N] = tr(G_1(i_1) ⋉ G_2(i_2) ⋉ … ⋉ G_N(i_N))`` with the left STP, or
    ``⋊`` (``I_t ⊗ G``) with ``side="right"``.

    Parameters
    ----------
    cores : list or tuple of N >= 2 arrays
        ``cores[0]``: ``(R_0, I_1, R_1)``; ``cores[k]`` for ``k >= 1``:
        ``(R_k/t_{k+1}, I_{k+1}, R_{k+1}/t_{k+1})`` with ``R_N = R_0``. numpy arrays
        or torch tensors (one library). The list is not modified.
    t : int or sequence of int
        The STP factor of each core after the first (an int applies to all).
    side : {"left", "right"}, default "left"

    Attributes
    ----------
    cores : tuple of arrays
    shape : tuple of int
    ranks : tuple of int
        The bond sizes ``(R_0, R_1, …, R_{N−1})`` of the running product.
    t : tuple of int
        One STP factor per core after the first (length ``N − 1``).
    info : FitInfo or None
        What the fit did, for results of `~semitensor.decomposition.str.str_decompose`.

    Raises
    ------
    TypeError
        If ``cores`` is not a list or tuple, or mixes array libraries.
    ValueError
        If there are fewer than two cores, or a core's shape breaks SPEC §4 (the
        message names the core and the sizes).

    Notes
    -----
    Parameters: ``R_0I_1R_1 + Σ_{k>1} R_{k−1}I_kR_k/t_k²``. With a uniform ``t`` an
    STR of ranks ``R`` represents exactly the tensors of a tensor ring of ranks
    ``R/t`` (see `compact` and `to_tr`): the STR shape buys no expressiveness, and its
    first core stores ``t²`` times more numbers than that ring's.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> cores = [rng.standard_normal(s) for s in [(4, 3, 4), (2, 5, 3), (3, 2, 2)]]
    >>> x = STRTensor(cores, t=2)
    >>> x.shape, x.ranks, x.n_params
    ((3, 5, 2), (4, 4, 6), 90)
    >>> bool(np.isclose(x[1, 2, 0], x.to_tensor()[1, 2, 0]))
    True
    """

    format_name = "str"
    title = "STR"
    twin = "tr"

    def __init__(self, cores, t, side="left"):
        xp, arrays = self._core_arrays(cores, "STR")
        ts = check_t(t, len(arrays) - 1, what="core after the first")
        shape, ranks = _check_cores(arrays, ts)
        self._xp = xp
        self._cores = tuple(arrays)
        super().__init__(shape, ranks, ts, side)

    def _split(self):
        """Bond ``m`` (1 <= m < N) at which the two partial products are smallest."""
        n, r0 = len(self.cores), self._ranks[0]
        costs = [
            max(math.prod(self._shape[:m]), math.prod(self._shape[m:])) * self._ranks[m] * r0
            for m in range(1, n)
        ]
        return 1 + int(np.argmin(costs))

    def to_tensor(self, chunks=None):
        """Return the full tensor (same array library, dtype and device as the cores).

        Parameters
        ----------
        chunks : optional
            Return a lazy dask array with these chunks instead (anything
            `dask.array.normalize_chunks` takes, e.g. ``(64, 64, -1)``): each chunk
            is computed from the small arrays only, so a tensor larger than memory
            can be written to zarr chunk by chunk. Its chunks are numpy.

        Notes
        -----
        The cores are contracted from both ends to the bond ``m`` that keeps the two
        partial products ``P (R_0, I_1…I_m, R_m)`` and ``Q (R_m, I_{m+1}…I_N, R_0)``
        smallest; one GEMM over ``(R_m, R_0)`` then writes the output and closes the
        trace. ``G ⊗ I_t`` is never formed.
        """
        if chunks is not None:
            from ._lazy import lazy_ring, ring_of_str

            return lazy_ring(ring_of_str(self.cores, self._t, self._side), self.shape, chunks)
        self._check_full_size(self.cores[0])
        xp = self._xp
        n, r0 = len(self.cores), self._ranks[0]
        m = self._split()
        g1 = self.cores[0]
        p = xp.reshape(g1, (r0 * g1.shape[1], g1.shape[2]))  # rows (r0, i_1)
        for k in range(1, m):
            p = step_left(xp, p, self.cores[k], self._t[k - 1], self._side)
        # Q_N = G_N ⋉ I_{R_0} = G_N ⊗ I_t, built by the same step from an identity.
        q = xp.eye(r0, dtype=g1.dtype, device=device_of(g1))
        for k in range(n - 1, m - 1, -1):
            q = step_right(xp, self.cores[k], q, self._t[k - 1], self._side)
        rm = self._ranks[m]
        size_l, size_r = math.prod(self._shape[:m]), math.prod(self._shape[m:])
        pl = xp.permute_dims(xp.reshape(p, (r0, size_l, rm)), (1, 2, 0))
        qr = xp.permute_dims(xp.reshape(q, (rm, size_r, r0)), (0, 2, 1))
        pl, qr = xp.reshape(pl, (size_l, rm * r0)), xp.reshape(qr, (rm * r0, size_r))
        return xp.reshape(pl @ qr, self._shape)

    def _uniform_t(self, what):
        if len(set(self._t)) > 1:
            raise ValueError(f"{what} needs the same t for every core; got t={self._t}")
        return self._t[0]

    def _first_core_trace(self):
        """Partial trace ``H_1`` of the first core (SPEC §4), shape ``(R_0/t, I_1, R_1/t)``."""
        return partial_trace(self.cores[0], self._uniform_t("the partial trace"), self._side)

    def compact(self):
        """The equivalent tensor ring of ranks ``R/t``, as an `STRTensor` with ``t = 1``.

        SPEC §4: ``H_1`` is the partial trace of the first core, the other cores are
        unchanged. The result represents the same tensor with
        ``R_0I_1R_1(1 − 1/t²)`` fewer parameters.

        Raises
        ------
        ValueError
            If ``t`` differs between cores.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> x = STRTensor([rng.standard_normal(s) for s in [(4, 3, 4), (2, 2, 2), (2, 3, 2)]], 2)
        >>> c = x.compact()
        >>> c.ranks, c.n_params < x.n_params
        ((2, 2, 2), True)
        >>> bool(np.allclose(c.to_tensor(), x.to_tensor()))
        True
        """
        return STRTensor([self._first_core_trace(), *self.cores[1:]], 1, self._side)

    def to_tr(self):
        """Return the exact tensor-ring equivalent (ranks ``R/t``) as a TensorLy ``TRTensor``.

        Raises
        ------
        ValueError
            If ``t`` differs between cores.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(2)
        >>> x = STRTensor([rng.standard_normal(s) for s in [(4, 3, 4), (2, 2, 2), (2, 3, 2)]], 2)
        >>> tr = x.to_tr()
        >>> tr.rank
        (2, 2, 2, 2)
        >>> bool(np.allclose(tr.to_tensor(), x.to_tensor()))
        True
        """
        from tensorly.tr_tensor import TRTensor

        return TRTensor([self._first_core_trace(), *self.cores[1:]])

    def norm(self):
        """Frobenius norm, from the cores only (the full tensor is never formed).

        Notes
        -----
        With a uniform ``t`` the norm of the equivalent ring (`compact`) is computed
        from its transfer matrices ``E_k = Σ_i H_k(i) ⊗ H_k(i)`` contracted around the
        ring: ``O(Σ_k r_0² r_{k−1}² r_k² I_k)`` flops for ring ranks ``r = R/t``
        (small by construction). With non-uniform ``t`` it falls back to the full
        tensor.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(3)
        >>> x = STRTensor([rng.standard_normal(s) for s in [(4, 3, 4), (2, 2, 2), (2, 3, 2)]], 2)
        >>> bool(np.isclose(x.norm(), np.linalg.norm(x.to_tensor())))
        True
        """
        return self._scale_safe(self._norm_unscaled)

    def _norm_unscaled(self):
        xp = self._xp
        if len(set(self._t)) > 1:
            full = self.to_tensor()
            return xp.sqrt(real(xp, xp.sum(conj(xp, full) * full)))
        cores = self.compact().cores
        t_mat = _transfer(xp, cores[0])
        for g in cores[1:]:
            t_mat = t_mat @ _transfer(xp, g)
        sq = real(xp, xp.sum(xp.linalg.diagonal(t_mat)))
        return xp.sqrt(xp.abs(sq))  # |.|: rounding can make a tiny square negative

    def entries(self, indices):
        """Evaluate the tensor at many index tuples without forming it.

        Parameters
        ----------
        indices : array of int, shape (M, N)
            One index tuple per row; negative indices count from the end.

        Returns
        -------
        array, shape (M,)
            Same library, dtype and device as the cores.

        Raises
        ------
        TypeError
            If ``indices`` is not integer.
        ValueError
            If ``indices`` is not ``(M, N)`` or an index is out of range.

        Notes
        -----
        ``O(M R_0 Σ_k R_{k−1} R_k / t_k)`` flops: a batch of ``R_0×R_k`` running
        products is pushed through the chain with batched GEMMs.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(4)
        >>> x = STRTensor([rng.standard_normal(s) for s in [(4, 3, 4), (2, 2, 2), (2, 3, 2)]], 2)
        >>> idx = np.array([[0, 1, 2], [2, 0, 1]])
        >>> full = x.to_tensor()
        >>> bool(np.allclose(x.entries(idx), [full[0, 1, 2], full[2, 0, 1]]))
        True
        """
        xp = self._xp
        idx = self._checked_indices(indices)
        dev = device_of(self.cores[0])
        cols = [xp.asarray(idx[:, k], device=dev) for k in range(idx.shape[1])]
        m, r0 = idx.shape[0], self._ranks[0]
        p = xp.permute_dims(xp.take(self.cores[0], cols[0], axis=1), (1, 0, 2))  # (M, R0, R1)
        for k in range(1, len(self.cores)):
            g = self.cores[k]
            r, _, q = g.shape
            t = self._t[k - 1]
            gs = xp.permute_dims(xp.take(g, cols[k], axis=1), (1, 0, 2))  # (M, r, q)
            if self._side == "left":  # new[., s·t + a] = Σ_r P[., r·t + a] G[r, s]
                pv = xp.permute_dims(xp.reshape(p, (m, r0, r, t)), (0, 1, 3, 2))
                new = pv @ gs[:, None, :, :]  # (M, R0, t, q)
                p = xp.reshape(xp.permute_dims(new, (0, 1, 3, 2)), (m, r0, q * t))
            else:  # new[., a·q + s] = Σ_r P[., a·r + r'] G[r', s]
                pv = xp.reshape(p, (m, r0, t, r))
                p = xp.reshape(pv @ gs[:, None, :, :], (m, r0, t * q))
        return xp.sum(xp.linalg.diagonal(p), axis=-1)


def _transfer(xp, g):
    """Transfer matrix ``E[(a, a'), (b, b')] = Σ_i G(i)[a, b] conj(G(i)[a', b'])``."""
    r, _, q = g.shape
    e = xp.permute_dims(xp.tensordot(g, conj(xp, g), axes=([1], [1])), (0, 2, 1, 3))
    return xp.reshape(e, (r * r, q * q))


def str_to_tensor(cores, t, side="left"):
    """Full tensor of the semi-tensor ring ``cores`` (see `STRTensor`).

    Parameters
    ----------
    cores : list or tuple of arrays
        SPEC §4 shapes (see `STRTensor`).
    t : int or sequence of int
        One STP factor per core after the first.
    side : {"left", "right"}, default "left"

    Returns
    -------
    array, shape (I_1, ..., I_N)

    Raises
    ------
    TypeError, ValueError
        As `STRTensor`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(5)
    >>> cores = [rng.standard_normal(s) for s in [(4, 3, 4), (2, 2, 2), (2, 3, 2)]]
    >>> str_to_tensor(cores, 2).shape
    (3, 2, 3)
    """
    return STRTensor(cores, t, side).to_tensor()
