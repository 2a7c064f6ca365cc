"""Semi-tensor Tucker (STTu) format: ``X = G ×_1 (U_1⊗I_{t_1}) ×_2 … ×_N (U_N⊗I_{t_N})``.

SPEC §4. The core ``G`` is ``R_1×…×R_N`` and factor ``U_n`` is
``(I_n/t_n) × (R_n/t_n)``; the right side uses ``I_{t_n} ⊗ U_n``. The Kronecker
factors are never formed (except by `STTuTensor.to_tucker`, whose purpose is to
return them): every product is a semi-tensor mode-n product (SPEC §3).
"""

from __future__ import annotations

import math

from .._namespace import as_arrays, device_of
from .._validation import check_t
from ..tenalg import cheapest_mode_order, stp_mode_dot
from ._base import STPFormat, check_nonempty, check_numeric, conj, real

__all__ = ["STTuTensor", "sttu_to_tensor"]


def _kron_identity(xp, u, t, side):
    """``U ⊗ I_t`` (left) or ``I_t ⊗ U`` (right) as a dense matrix (only for to_tucker)."""
    m, r = u.shape
    eye = xp.eye(t, dtype=u.dtype, device=device_of(u))
    if side == "left":
        full = u[:, None, :, None] * eye[None, :, None, :]
    else:
        full = eye[:, None, :, None] * u[None, :, None, :]
    return xp.reshape(full, (m * t, r * t))


class STTuTensor(STPFormat):
    """Semi-tensor Tucker decomposition (SPEC §4).

    ``X = G ×_1 (U_1⊗I_{t_1}) ×_2 … ×_N (U_N⊗I_{t_N})`` (left side) or with
    ``I_{t_n}⊗U_n`` (right side).

    Parameters
    ----------
    core : array, shape (R_1, ..., R_N)
        numpy array or torch tensor; ``t_n`` must divide ``R_n``.
    factors : list or tuple of N arrays
        ``factors[n]`` has shape ``(I_n/t_n, R_n/t_n)``. Same library as ``core``.
        The list is not modified (the format keeps a tuple).
    t : int or sequence of int
        The STP factor of each mode (an int applies to all modes).
    side : {"left", "right"}, default "left"

    Attributes
    ----------
    core : array
    factors : tuple of arrays
    shape : tuple of int
        ``(I_1, ..., I_N)`` with ``I_n = factors[n].shape[0]·t_n``.
    ranks : tuple of int
        ``core.shape``.
    t : tuple of int
    side : str
    n_params : int
        ``∏R_n + Σ I_n·R_n/t_n²``.
    compression_ratio : float
        ``∏I_n / n_params``.
    info : FitInfo or None
        Set by `semitensor.decomposition.sttu.sttu_decompose`.

    Raises
    ------
    TypeError
        If ``factors`` is not a list/tuple, or numpy and torch arrays are mixed.
    ValueError
        If the number of factors differs from ``core.ndim``, a factor is not 2-d, or a
        size breaks ``t_n | R_n`` or ``factors[n].shape[1] = R_n/t_n``; the message
        names the mode and the sizes.

    See Also
    --------
    semitensor.decomposition.sttu.sttu_decompose : fit this format to a tensor.

    Notes
    -----
    With all ``t_n = 1`` this is an ordinary Tucker tensor. In general it is exactly
    the Tucker tensor with factors ``U_n ⊗ I_{t_n}`` (`to_tucker`), whose factors hold
    ``t_n²`` times more entries.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor.formats.sttu import STTuTensor
    >>> rng = np.random.default_rng(0)
    >>> core = rng.standard_normal((4, 4, 2))
    >>> factors = [rng.standard_normal((8, 2)), rng.standard_normal((3, 2)),
    ...            rng.standard_normal((5, 1))]
    >>> dec = STTuTensor(core, factors, t=2)
    >>> dec.shape, dec.ranks
    ((16, 6, 10), (4, 4, 2))
    >>> dec.n_params == 32 + 16 * 4 // 4 + 6 * 4 // 4 + 10 * 2 // 4
    True
    >>> X = dec.to_tensor()
    >>> K = [np.kron(U, np.eye(2)) for U in factors]
    >>> bool(np.allclose(X, np.einsum("abc,ia,jb,kc->ijk", core, *K)))
    True
    """

    format_name = "sttu"
    title = "STTu"
    twin = "tucker"

    def __init__(self, core, factors, t, side="left"):
        if not isinstance(factors, (list, tuple)):
            raise TypeError(
                f"factors must be a list or tuple of arrays; got {type(factors).__name__}"
            )
        names = ["core"] + [f"factors[{n}]" for n in range(len(factors))]
        xp, arrays = as_arrays(core, *factors, names=names)
        check_numeric(arrays, names)
        check_nonempty(arrays, names)
        core, factors = arrays[0], tuple(arrays[1:])
        if core.ndim != len(factors):
            raise ValueError(
                f"core has {core.ndim} modes (shape {tuple(core.shape)}) but {len(factors)} "
                "factors were given; STTu needs one factor per mode"
            )
        t = check_t(t, core.ndim)
        shape = []
        for n, (u, tn) in enumerate(zip(factors, t)):
            rn = core.shape[n]
            if u.ndim != 2:
                raise ValueError(f"factors[{n}] must be 2-d; got shape {tuple(u.shape)}")
            if rn % tn:
                raise ValueError(f"mode {n}: core size R_{n}={rn} is not a multiple of t_{n}={tn}")
            if u.shape[1] != rn // tn:
                raise ValueError(
                    f"mode {n}: factors[{n}] has shape {tuple(u.shape)} but needs "
                    f"R_{n}/t_{n} = {rn}/{tn} = {rn // tn} columns (core shape "
                    f"{tuple(core.shape)}, t_{n}={tn})"
                )
            shape.append(u.shape[0] * tn)
        super().__init__(shape, core.shape, t, side)
        self._xp = xp
        self._core = core
        self._factors = factors

    @property
    def core(self):
        """Core tensor ``G`` of shape `ranks`."""
        return self._core

    @property
    def factors(self):
        """Factor matrices ``U_n`` of shapes ``(I_n/t_n, R_n/t_n)`` (tuple)."""
        return self._factors

    def named_arrays(self):
        """``{"core": G, "factor_0": U_1, …}`` (what `~semitensor.save` writes)."""
        return {"core": self.core, **{f"factor_{n}": u for n, u in enumerate(self.factors)}}

    @classmethod
    def from_named_arrays(cls, arrays, t, side, **options):
        """Rebuild from `named_arrays` and `options` (validated as ``__init__``)."""
        n = sum(1 for k in arrays if k.startswith("factor_"))
        factors = [arrays[f"factor_{k}"] for k in range(n)]
        return cls(arrays["core"], factors, list(t), side, **options)

    @property
    def n_params(self):
        """``∏R_n + Σ I_n·R_n/t_n²`` (SPEC §4): the entries of core and factors."""
        return math.prod(self.ranks) + sum(
            i * r // (t * t) for i, r, t in zip(self.shape, self.ranks, self.t)
        )

    def to_tensor(self, chunks=None):
        """Return the full tensor ``G ×_1 (U_1⊗I_{t_1}) … ×_N (U_N⊗I_{t_N})``.

        Parameters
        ----------
        chunks : optional
            Return a lazy dask array with these chunks instead (anything
            `dask.array.normalize_chunks` takes, e.g. ``(64, 64, -1)``): each chunk
            is computed from the small arrays only, so a tensor larger than memory
            can be written to zarr chunk by chunk. Its chunks are numpy.

        Returns
        -------
        array, shape `shape`
            Same library, dtype and device as the core; differentiable in torch.

        Notes
        -----
        A sequence of `~semitensor.tenalg.stp_mode_dot` calls in the order chosen by
        `cheapest_mode_order`; ``U_n ⊗ I_{t_n}`` is never formed.
        """
        if chunks is not None:
            from ._lazy import lazy_sttu

            return lazy_sttu(self._core, self._factors, self.t, self.side, self.shape, chunks)
        self._check_full_size(self._core)
        rows = [u.shape[0] for u in self._factors]
        out = self._core
        for n in cheapest_mode_order(self.ranks, self.shape, rows):
            out = stp_mode_dot(out, self._factors[n], n, side=self.side)
        return out

    def to_tucker(self):
        """Return the equivalent TensorLy Tucker tensor (core, ``U_n ⊗ I_{t_n}``).

        Returns
        -------
        tensorly.tucker_tensor.TuckerTensor
            The core and the full factors of shapes ``(I_n, R_n)``; ``I_{t_n} ⊗ U_n``
            on the right side. These factors hold ``t_n²`` times more entries than
            ``U_n``: use this for interoperability, not for computation.

        Raises
        ------
        ValueError
            For a format of order 1 (TensorLy's Tucker tensors have at least 2 modes).

        Examples
        --------
        >>> import numpy as np
        >>> from semitensor.formats.sttu import STTuTensor
        >>> rng = np.random.default_rng(1)
        >>> dec = STTuTensor(rng.standard_normal((2, 6)), [rng.standard_normal((2, 1)),
        ...                  rng.standard_normal((4, 2))], t=[2, 3], side="right")
        >>> tucker = dec.to_tucker()
        >>> [f.shape for f in tucker.factors]
        [(4, 2), (12, 6)]
        >>> bool(np.allclose(tucker.to_tensor(), dec.to_tensor()))
        True
        """
        if self.ndim < 2:
            raise ValueError(
                f"to_tucker needs a format of order >= 2 (TensorLy's TuckerTensor); got order "
                f"{self.ndim}"
            )
        from tensorly.tucker_tensor import TuckerTensor

        xp = self._xp
        full = [_kron_identity(xp, u, t, self.side) for u, t in zip(self._factors, self.t)]
        return TuckerTensor((self._core, full))

    def norm(self):
        """Frobenius norm of the full tensor, computed from the core and the factors.

        Returns
        -------
        scalar array
            0-d array of the format's library (a numpy float for numpy input).

        Notes
        -----
        ``‖X‖² = ⟨G, G ×_1 (U_1ᵀU_1 ⊗ I) … ×_N (U_NᵀU_N ⊗ I)⟩``: Gram matrices of the
        factors applied with `stp_mode_dot`, at ``O(∏R_n · Σ R_n/t_n)`` flops
        instead of the ``O(∏I_n)`` of the full tensor.
        """
        return self._scale_safe(self._norm_unscaled)

    def _norm_unscaled(self):
        xp = self._xp
        out = self._core
        for n, u in enumerate(self._factors):
            out = stp_mode_dot(out, xp.matrix_transpose(conj(xp, u)) @ u, n, side=self.side)
        sq = real(xp, xp.sum(conj(xp, self._core) * out))
        return xp.sqrt(xp.clip(sq, min=0.0))


def sttu_to_tensor(core, factors, t, side="left"):
    """Full tensor of the STTu decomposition ``(core, factors, t, side)``.

    Parameters
    ----------
    core, factors, t, side
        As in `STTuTensor` (validated the same way).

    Returns
    -------
    array
        ``STTuTensor(core, factors, t, side).to_tensor()``.

    Raises
    ------
    TypeError, ValueError
        As `STTuTensor`.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor.formats.sttu import sttu_to_tensor
    >>> sttu_to_tensor(np.ones((2, 2)), [np.ones((3, 1)), np.ones((1, 1))], t=2).shape
    (6, 2)
    """
    return STTuTensor(core, factors, t, side).to_tensor()
