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
from .._validation import check_mode, check_t
from ._base import _CoreChain, conj, real
from .chain import partial_trace, ring_entries, step_left, step_right

__all__ = ["STRTensor", "str_to_tensor"]


def ring_order(full_core, n):
    """The modes in ring order from the full core: ``(m, m+1, …, N−1, 0, …, m−1)``."""
    return tuple((full_core + j) % n for j in range(n))


def _check_cores(cores, ts, names):
    """Validate the SPEC §4 shapes of cores in ring order (the full one first).

    ``names[j]`` is the mode of the ``j``-th core (for the messages); returns
    ``(shape, ranks)`` in ring order with ``ranks = (R_0..R_{N−1})``.
    """
    n = len(cores)
    shapes = [tuple(int(s) for s in g.shape) for g in cores]
    r0, _, bond = shapes[0]
    ranks = [r0]
    for j in range(1, n):
        tk, k, prev = ts[j - 1], names[j], names[j - 1]
        p, _, q = shapes[j]
        if bond % tk != 0 or bond // tk != p:
            raise ValueError(
                f"cores[{k}] has shape {shapes[j]}: its first size must be R_{k}/t = "
                f"{bond}/{tk}, where R_{k} = {bond} is the bond from cores[{prev}]"
                + ("" if bond % tk == 0 else f", but t = {tk} does not divide {bond}")
            )
        ranks.append(bond)
        bond = q * tk
    if bond != r0:
        tn, last, first = ts[-1], names[-1], names[0]
        raise ValueError(
            f"cores[{last}] (the last core of the ring) has shape {shapes[-1]}: its last "
            f"size times t = {tn} must close the ring at R_0 = {r0} (the full core "
            f"cores[{first}] has {r0} rows); got {shapes[-1][2]}·{tn} = {bond}"
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
        The STP factor of each core other than the full one, in mode order (an int
        applies to all).
    side : {"left", "right"}, default "left"
    full_core : int, default 0
        The mode whose core is the full one (``R_0×I×R_1``, it heads the STP chain):
        with ``full_core = m`` the tensor is ``X[i] = tr(G_m(i_m) ⋉ G_{m+1}(i_{m+1}) ⋉
        … ⋉ G_N(i_N) ⋉ G_1(i_1) ⋉ … ⋉ G_{m−1}(i_{m−1}))`` (modes counted from 0 in
        the code). The cores stay in mode order. Putting it on the smallest mode
        minimises the parameters (the full core stores ``t²`` times more than the
        others, see Notes).

    Attributes
    ----------
    cores : tuple of arrays
    shape : tuple of int
    ranks : tuple of int
        The bond sizes of the running product, in mode order: ``ranks[k]`` is the
        bond entering ``cores[k]`` (so ``ranks[full_core]`` is ``R_0``, the full
        core's first size). With ``full_core = 0``: ``(R_0, R_1, …, R_{N−1})``.
    t : tuple of int
        One STP factor per core other than the full one (length ``N − 1``).
    full_core : int
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

    Bonds of 4 with the full core on the smallest mode (the last) store 64 numbers,
    where the full core on the first mode (``(4, 3, 4), (2, 5, 2), (2, 2, 2)``) stores 76:

    >>> y = STRTensor([rng.standard_normal(s) for s in [(2, 3, 2), (2, 5, 2), (4, 2, 4)]],
    ...               t=2, full_core=2)
    >>> y.ranks, y.n_params
    ((4, 4, 4), 64)
    """

    format_name = "str"
    title = "STR"
    twin = "tr"

    def __init__(self, cores, t, side="left", full_core=0):
        xp, arrays = self._core_arrays(cores, "STR")
        n = len(arrays)
        for k, g in enumerate(arrays):
            if g.ndim != 3:
                raise ValueError(f"cores[{k}] must be 3-d; got shape {tuple(g.shape)}")
        self._full = check_mode(full_core, n, "full_core")
        ts = check_t(t, n - 1, what="core other than the full one")
        order = ring_order(self._full, n)
        t_of = dict(zip([k for k in range(n) if k != self._full], ts))
        chain_t = tuple(t_of[k] for k in order[1:])
        chain_shape, chain_ranks = _check_cores([arrays[k] for k in order], chain_t, order)
        ranks = [0] * n
        for j, k in enumerate(order):
            ranks[k] = chain_ranks[j]
        self._xp = xp
        self._cores = tuple(arrays)
        self._chain = (order, chain_t, chain_shape, chain_ranks)
        super().__init__(tuple(int(g.shape[1]) for g in arrays), ranks, ts, side)

    @property
    def full_core(self):
        """The mode whose core is the full one (heads the STP chain)."""
        return self._full

    def options(self):
        """``{"full_core": m}`` when ``m != 0`` (recorded by `~semitensor.save`)."""
        return {"full_core": self._full} if self._full else {}

    def _split(self, shape, ranks):
        """Bond ``m`` (1 <= m < N) of the chain where the partial products are smallest."""
        n, r0 = len(shape), ranks[0]
        costs = [
            max(math.prod(shape[:m]), math.prod(shape[m:])) * ranks[m] * r0 for m in range(1, n)
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
            from ._lazy import lazy_ring

            return lazy_ring(self._ring_cores("to_tensor(chunks=...)"), self.shape, chunks)
        self._check_full_size(self.cores[0])
        xp = self._xp
        order, ts, shape, ranks = self._chain
        cores = [self.cores[k] for k in order]
        n, r0 = len(cores), ranks[0]
        m = self._split(shape, ranks)
        g1 = cores[0]
        p = xp.reshape(g1, (r0 * g1.shape[1], g1.shape[2]))  # rows (r0, i_1)
        for k in range(1, m):
            p = step_left(xp, p, cores[k], ts[k - 1], self._side)
        # Q_N = G_N ⋉ I_{R_0} = G_N ⊗ I_t, built by the same step from an identity.
        q = xp.eye(r0, dtype=g1.dtype, device=device_of(g1))
        for k in range(n - 1, m - 1, -1):
            q = step_right(xp, cores[k], q, ts[k - 1], self._side)
        rm = ranks[m]
        size_l, size_r = math.prod(shape[:m]), math.prod(shape[m:])
        pl = xp.permute_dims(xp.reshape(p, (r0, size_l, rm)), (1, 2, 0))
        qr = xp.permute_dims(xp.reshape(q, (rm, size_r, r0)), (0, 2, 1))
        pl, qr = xp.reshape(pl, (size_l, rm * r0)), xp.reshape(qr, (rm * r0, size_r))
        out = xp.reshape(pl @ qr, shape)
        if self._full == 0:
            return out
        return xp.permute_dims(out, tuple(int(a) for a in np.argsort(order)))

    def _ring_cores(self, what):
        """The equivalent tensor ring, in mode order (SPEC §4).

        The full core is replaced by its partial trace ``H``, ``(R_0/t, I, R_1/t)``.
        """
        if len(set(self._t)) > 1:
            raise ValueError(f"{what} needs the same t for every core; got t={self._t}")
        ring = list(self.cores)
        ring[self._full] = partial_trace(ring[self._full], self._t[0], self._side)
        return ring

    def compact(self):
        """The equivalent tensor ring of ranks ``R/t``, as an `STRTensor` with ``t = 1``.

        SPEC §4: ``H_1`` is the partial trace of the full core, the other cores are
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
        return STRTensor(self._ring_cores("compact"), 1, self._side, self._full)

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

        return TRTensor(self._ring_cores("to_tr"))

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
        order, ts, _, ranks = self._chain
        cores = [self.cores[k] for k in order]
        cols = [xp.asarray(idx[:, k], device=dev) for k in order]
        return ring_entries(xp, cores, cols, ts, self._side)


def _transfer(xp, g):
    """Transfer matrix ``E[(a, a'), (b, b')] = Σ_i G(i)[a, b] conj(G(i)[a', b'])``."""
    r, _, q = g.shape
    e = xp.permute_dims(xp.tensordot(g, conj(xp, g), axes=([1], [1])), (0, 2, 1, 3))
    return xp.reshape(e, (r * r, q * q))


def str_to_tensor(cores, t, side="left", full_core=0):
    """Full tensor of the semi-tensor ring ``cores`` (see `STRTensor`).

    Parameters
    ----------
    cores : list or tuple of arrays
        SPEC §4 shapes (see `STRTensor`).
    t : int or sequence of int
        One STP factor per core other than the full one.
    side : {"left", "right"}, default "left"
    full_core : int, default 0
        The mode whose core is the full one.

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
    return STRTensor(cores, t, side, full_core).to_tensor()
