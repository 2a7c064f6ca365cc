"""Semi-tensor train (STT) format: ``X[i_1,…,i_N] = G_1(i_1) ⋉ G_2(i_2) ⋉ … ⋉ G_N(i_N)``.

SPEC §4. ``G_1`` is ``1×I_1×R_1``, the interior core ``G_k`` is
``(R_{k−1}/t_k)×I_k×(R_k/t_k)`` and ``G_N`` is ``R_{N−1}×I_N×1``; ``G_k(i)`` is the
``i``-th lateral slice. The running product stays a row of length ``R_k`` because
``P ⋉ G_k(i) = P (G_k(i) ⊗ I_{t_k})`` (left side) or ``P (I_{t_k} ⊗ G_k(i))``
(right side). Neither Kronecker factor is ever formed: with ``P`` viewed as a
``(R/t) × t`` matrix (left) or ``t × (R/t)`` matrix (right) the product is one GEMM
against ``G_k(i)`` on the ``R/t`` axis.

Names: the *bond sizes* (``ranks``) are the effective sizes ``R_1, …, R_{N−1}`` of the
running product, not the stored core sizes ``R_k/t_k``.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

from .._validation import check_t
from ._base import _CoreChain, conj, real
from .chain import step_left, step_right, stt_to_ring

__all__ = ["STTTensor", "stt_to_tensor"]


# When the compiled kernel of `STTTensor.entries` is used (numpy float cores only).
# Measured (benchmarks/bench_stt.py, table 4; 10^5 tuples of a 16^5 STT, t=2): it
# wins by 1.2-1.8x while the largest interior core costs at most 256 multiply-adds
# per entry (R <= 16) and loses at R = 32, where the batched GEMMs get efficient.
_NUMBA_MIN_ENTRIES = 64
_NUMBA_MAX_CORE_WORK = 256


def _use_numba(cores, ts, m):
    """True where the numba kernel wins, unless SEMITENSOR_DISABLE_NUMBA is set."""
    if os.environ.get("SEMITENSOR_DISABLE_NUMBA") or m < _NUMBA_MIN_ENTRIES:
        return False
    if not all(isinstance(c, np.ndarray) for c in cores):
        return False
    if len({c.dtype for c in cores}) != 1 or cores[0].dtype not in (np.float32, np.float64):
        return False
    work = [g.shape[0] * g.shape[2] * t for g, t in zip(cores[1:-1], ts)]
    return max(work, default=0) <= _NUMBA_MAX_CORE_WORK


def _bonds(shapes, ts):
    """Bond sizes ``R_1..R_{N-1}`` from validated core shapes."""
    bonds = [shapes[0][2]]
    for k in range(1, len(shapes) - 1):
        bonds.append(shapes[k][2] * ts[k - 1])
    return tuple(bonds)


def _check_cores(cores, ts):
    """Validate the SPEC §4 shapes; return ``(shape, bonds)``."""
    n = len(cores)
    for k, g in enumerate(cores):
        if g.ndim != 3:
            raise ValueError(f"cores[{k}] must be 3-d; got shape {tuple(g.shape)}")
    shapes = [tuple(int(s) for s in g.shape) for g in cores]
    if shapes[0][0] != 1:
        raise ValueError(
            f"cores[0] (the first core) must have shape (1, I_1, R_1); got {shapes[0]}"
        )
    if shapes[-1][2] != 1:
        raise ValueError(
            f"cores[{n - 1}] (the last core) must have shape (R_{n - 1}, I_{n}, 1); "
            f"got {shapes[-1]}"
        )
    bond = shapes[0][2]
    for k in range(1, n - 1):
        tk = ts[k - 1]
        p, _, q = shapes[k]
        if bond % tk != 0 or bond // tk != p:
            raise ValueError(
                f"cores[{k}] has shape {shapes[k]}: its first size must be R_{k}/t_{k + 1} = "
                f"{bond}/{tk}, where R_{k} = {bond} is the bond from cores[{k - 1}]"
                + ("" if bond % tk == 0 else f", but t_{k + 1} = {tk} does not divide {bond}")
            )
        bond = q * tk
    if shapes[-1][0] != bond:
        raise ValueError(
            f"cores[{n - 1}] (the last core) has shape {shapes[-1]}: its first size must be "
            f"the bond R_{n - 1} = {bond} from cores[{n - 2}]"
        )
    return tuple(s[1] for s in shapes), _bonds(shapes, ts)


class STTTensor(_CoreChain):
    """Semi-tensor train decomposition (SPEC §4).

    ``X[i_1,…,i_N] = G_1(i_1) ⋉ G_2(i_2) ⋉ … ⋉ G_N(i_N)`` with the left STP, or ``⋊``
    (``I_t ⊗ G``) with ``side="right"``.

    Parameters
    ----------
    cores : list or tuple of N >= 2 arrays
        ``cores[0]``: ``(1, I_1, R_1)``; ``cores[k]`` for ``0 < k < N−1``:
        ``(R_k/t_{k+1}, I_{k+1}, R_{k+1}/t_{k+1})``; ``cores[N−1]``:
        ``(R_{N−1}, I_N, 1)``. numpy arrays or torch tensors (one library). The list
        is not modified (the format keeps a tuple).
    t : int or sequence of int
        The STP factor of each interior core (an int applies to all of them; with
        ``N = 2`` there is no interior core and ``t`` is ignored).
    side : {"left", "right"}, default "left"

    Attributes
    ----------
    cores : tuple of arrays
    shape : tuple of int
    ranks : tuple of int
        The bond sizes ``(R_1, …, R_{N−1})`` of the running product.
    t : tuple of int
        One STP factor per interior core (length ``N − 2``).
    info : FitInfo or None
        What the fit did, for results of `~semitensor.decomposition.stt.stt_decompose`.

    Raises
    ------
    TypeError
        If ``cores`` is not a list or tuple, or mixes array libraries.
    ValueError
        If there are fewer than two cores, or a core's shape breaks SPEC §4 (the
        message names the core and the sizes).

    Notes
    -----
    Parameters: ``I_1R_1 + Σ_{1<k<N} R_{k−1}I_kR_k/t_k² + R_{N−1}I_N``. With a
    uniform ``t`` the format is exactly a tensor ring of ranks
    ``(t, R_1/t, …, R_{N−1}/t, t)`` (see `to_tr`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> cores = [rng.standard_normal(s) for s in [(1, 3, 4), (2, 5, 3), (6, 2, 1)]]
    >>> x = STTTensor(cores, t=2)
    >>> x.shape, x.ranks, x.n_params
    ((3, 5, 2), (4, 6), 54)
    >>> bool(np.isclose(x[1, 2, 0], x.to_tensor()[1, 2, 0]))
    True
    """

    format_name = "stt"
    title = "STT"
    twin = "tt"

    def __init__(self, cores, t, side="left"):
        xp, arrays = self._core_arrays(cores, "STT")
        n = len(arrays)
        if n == 2 and isinstance(t, numbers.Integral) and not isinstance(t, bool):
            ts = ()
        else:
            ts = check_t(t, n - 2, what="interior core")
        shape, bonds = _check_cores(arrays, ts)
        self._xp = xp
        self._cores = tuple(arrays)
        super().__init__(shape, bonds, ts, side)

    def _split(self):
        """Bond at which to meet when contracting from both ends (smallest pieces)."""
        n = len(self.cores)
        best, best_k = None, 1
        for k in range(1, n):
            left = math.prod(self._shape[:k]) * self._ranks[k - 1]
            right = math.prod(self._shape[k:]) * self._ranks[k - 1]
            cost = max(left, right)
            if best is None or cost < best:
                best, best_k = cost, k
        return best_k

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
        The cores are contracted from both ends towards the bond that keeps the two
        partial products smallest, then joined by one GEMM that writes the output, so
        the peak memory is the output plus two partial products (each at most
        ``R_k·∏ I`` on its side). ``G ⊗ I_t`` is never formed.
        """
        if chunks is not None:
            from ._lazy import lazy_ring, ring_of_stt

            return lazy_ring(ring_of_stt(self.cores, self._t, self._side), self.shape, chunks)
        self._check_full_size(self.cores[0])
        xp = self._xp
        n = len(self.cores)
        m = self._split()
        p = self.cores[0][0, ...]
        for k in range(1, m):
            p = step_left(xp, p, self.cores[k], self._t[k - 1], self._side)
        c = self.cores[-1][..., 0]
        for k in range(n - 2, m - 1, -1):
            c = step_right(xp, self.cores[k], c, self._t[k - 1], self._side)
        return xp.reshape(p @ c, self._shape)

    def to_tr(self):
        """Return the exact tensor-ring equivalent as a TensorLy ``TRTensor``.

        With a uniform ``t`` the ring has ranks ``(t, R_1/t, …, R_{N−1}/t, t)`` (SPEC
        §4): ``H_1[a, i, r] = G_1[0, i, r·t + a]``, ``H_N[r, i, a] = G_N[r·t + a, i, 0]``
        (left side; the right side uses ``a·R/t + r``), interior cores unchanged. With
        two cores the ring rank is 1 (a tensor train).

        Raises
        ------
        ValueError
            If ``t`` is not the same for every interior core.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> x = STTTensor([rng.standard_normal(s) for s in [(1, 3, 4), (2, 2, 2), (4, 3, 1)]], 2)
        >>> tr = x.to_tr()
        >>> tr.rank
        (2, 2, 2, 2)
        >>> bool(np.allclose(tr.to_tensor(), x.to_tensor()))
        True
        """
        from tensorly.tr_tensor import TRTensor

        if len(set(self._t)) > 1:
            raise ValueError(f"to_tr needs the same t for every interior core; got t={self._t}")
        t = self._t[0] if self._t else 1
        return TRTensor(stt_to_ring(list(self.cores), t, self._side))

    def norm(self):
        """Frobenius norm, from the cores only (the full tensor is never formed).

        Notes
        -----
        Propagates the Gram matrix ``Φ_k = Σ P_kᵀ P_k`` (``R_k × R_k``) of the running
        products: ``O(Σ_k R_k³ I_k / t_k)`` flops.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(2)
        >>> x = STTTensor([rng.standard_normal(s) for s in [(1, 3, 4), (2, 2, 2), (4, 3, 1)]], 2)
        >>> bool(np.isclose(x.norm(), np.linalg.norm(x.to_tensor())))
        True
        """
        return self._scale_safe(self._norm_unscaled)

    def _norm_unscaled(self):
        xp = self._xp
        g1 = self.cores[0][0, ...]
        phi = xp.matrix_transpose(conj(xp, g1)) @ g1  # first index conjugated
        for k in range(1, len(self.cores) - 1):
            g = self.cores[k]
            r, _, q = g.shape
            t = self._t[k - 1]
            if self._side == "left":
                ph = xp.reshape(phi, (r, t, r, t))
                tmp = xp.tensordot(ph, g, axes=([2], [0]))  # (r, a, b, i, q')
                out = xp.tensordot(conj(xp, g), tmp, axes=([0, 1], [0, 3]))  # (q, a, b, q')
                phi = xp.reshape(xp.permute_dims(out, (0, 1, 3, 2)), (q * t, q * t))
            else:
                ph = xp.reshape(phi, (t, r, t, r))
                tmp = xp.tensordot(ph, g, axes=([3], [0]))  # (a, r, b, i, q')
                out = xp.tensordot(conj(xp, g), tmp, axes=([0, 1], [1, 3]))  # (q, a, b, q')
                phi = xp.reshape(xp.permute_dims(out, (1, 0, 2, 3)), (t * q, t * q))
        gn = self.cores[-1][..., 0]
        sq = real(xp, xp.sum(conj(xp, gn) * (phi @ gn)))
        return xp.sqrt(xp.abs(sq))  # |.|: rounding can make a tiny square negative

    def entries(self, indices):
        """Evaluate the tensor at many index tuples without forming it.

        Parameters
        ----------
        indices : array of int, shape (M, N)
            One index tuple per row; negative indices count from the end. numpy or
            torch (the library of the cores is used for the result).

        Returns
        -------
        array, shape (M,)
            Same library, dtype and device as the cores.

        Raises
        ------
        TypeError
            If ``indices`` is not integer.
        ValueError
            If ``indices`` is not ``(M, N)`` or an index is out of range (the message
            quotes the first offending row).

        Notes
        -----
        ``O(M Σ_k R_{k−1} R_k / t_k)`` flops: each ``1×R`` row is pushed through the
        chain. On numpy float cores with at least 64 tuples and small cores a
        compiled numba kernel does it (1.2-1.8x faster than batched GEMMs up to
        ``R = 16``; set ``SEMITENSOR_DISABLE_NUMBA`` to opt out); otherwise, and on
        torch (autograd kept), batched GEMMs.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(3)
        >>> x = STTTensor([rng.standard_normal(s) for s in [(1, 3, 4), (2, 2, 2), (4, 3, 1)]], 2)
        >>> idx = np.array([[0, 1, 2], [2, 0, 1]])
        >>> full = x.to_tensor()
        >>> bool(np.allclose(x.entries(idx), [full[0, 1, 2], full[2, 0, 1]]))
        True
        """
        xp = self._xp
        idx_np = self._checked_indices(indices)
        if _use_numba(self.cores, self._t, idx_np.shape[0]):
            from .._kernels.numba_entries import stt_entries

            return stt_entries(self.cores, self._t, idx_np, self._side)
        dev_ref = self.cores[0]
        idx = [
            xp.asarray(idx_np[:, k], device=getattr(dev_ref, "device", None))
            for k in range(idx_np.shape[1])
        ]
        m = idx_np.shape[0]
        p = xp.take(self.cores[0][0, ...], idx[0], axis=0)  # (M, R_1)
        for k in range(1, len(self.cores) - 1):
            g = self.cores[k]
            r, _, q = g.shape
            t = self._t[k - 1]
            # gather from the (I, r, q) layout so that the (M, r, q) slices are contiguous
            gs = xp.take(xp.permute_dims(g, (1, 0, 2)), idx[k], axis=0)
            if self._side == "left":
                # new[m, s·t + a] = Σ_r P[m, r·t + a] G[r, s]
                pv = xp.reshape(p, (m, r, t))
                p = xp.reshape(xp.matrix_transpose(gs) @ pv, (m, q * t))
            else:
                # new[m, a·q + s] = Σ_r P[m, a·r + r'] G[r', s]
                pv = xp.reshape(p, (m, t, r))
                p = xp.reshape(pv @ gs, (m, t * q))
        gn = xp.take(self.cores[-1][..., 0], idx[-1], axis=1)  # (R, M)
        return xp.sum(p * xp.matrix_transpose(gn), axis=1)


def stt_to_tensor(cores, t, side="left"):
    """Full tensor of the semi-tensor train ``cores`` (see `STTTensor`).

    Parameters
    ----------
    cores : list or tuple of arrays
        SPEC §4 shapes (see `STTTensor`).
    t : int or sequence of int
        One STP factor per interior core.
    side : {"left", "right"}, default "left"

    Returns
    -------
    array, shape (I_1, ..., I_N)
        Same library, dtype and device as the cores.

    Raises
    ------
    TypeError, ValueError
        As `STTTensor`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(4)
    >>> cores = [rng.standard_normal(s) for s in [(1, 3, 4), (2, 2, 2), (4, 3, 1)]]
    >>> stt_to_tensor(cores, 2).shape
    (3, 2, 3)
    """
    return STTTensor(cores, t, side).to_tensor()
