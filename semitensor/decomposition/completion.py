"""Completion from samples: fit an STT or STR to ``(indices, values)`` of a huge tensor.

No dense array is ever formed: the fit is the masked ring-ALS of `_masked_als` on
the samples alone, so memory and time are proportional to the number of samples
(times the squared ring ranks), not to the tensor's size.
"""

from __future__ import annotations

import numbers

import array_api_compat
import numpy as np

from .._namespace import as_arrays, to_numpy
from .._validation import check_choice, check_finite, check_side
from ..formats.chain import ring_to_str, ring_to_stt, str_ring_ranks, stt_ring_ranks
from ..formats.str import STRTensor
from ..formats.stt import STTTensor
from ._masked_als import Samples
from ._masked_fit import fit_masked_ring
from ._prepare import (
    cast_cores,
    check_bond_list,
    check_full_core,
    check_settings,
    check_uniform_t,
)
from ._stopping import warn_unconverged

__all__ = ["complete"]


def _check_samples(indices, values, shape, name):
    """Checked ``(indices as N host int arrays, values as float64 array)``."""
    xp, (vals,) = as_arrays(values, names=[f"{name} values"])
    if vals.ndim != 1:
        raise ValueError(f"{name} values must be 1-d (one per sample); got shape {vals.shape}")
    if not xp.isdtype(vals.dtype, ("real floating", "integral")):
        raise TypeError(f"{name} values must be real numbers; got dtype {vals.dtype}")
    vals = xp.asarray(vals, dtype=xp.float64, device=array_api_compat.device(vals))
    check_finite(xp, vals, f"{name} values")
    idx = np.asarray(to_numpy(indices))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{name} indices must be integers; got dtype {idx.dtype}")
    if idx.ndim != 2 or idx.shape != (vals.shape[0], len(shape)):
        raise ValueError(
            f"{name} indices must have shape (P, N) = ({vals.shape[0]}, {len(shape)}) "
            f"(one row of N subscripts per value); got shape {idx.shape}"
        )
    top = np.asarray(shape)
    bad = np.flatnonzero(np.any((idx < 0) | (idx >= top), axis=1))
    if bad.size:
        raise ValueError(
            f"{name} indices row {int(bad[0])} = {idx[bad[0]].tolist()} is out of range for "
            f"shape {tuple(shape)}"
        )
    return [idx[:, k].astype(np.int64) for k in range(len(shape))], vals


def _check_shape(shape):
    if not isinstance(shape, (tuple, list)) or len(shape) < 2:
        raise ValueError(f"shape must be a tuple of at least 2 mode sizes; got {shape!r}")
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
            raise ValueError(f"shape must hold positive ints; got {tuple(shape)!r}")
    return tuple(int(s) for s in shape)


def complete(
    indices,
    values,
    shape,
    ranks,
    t=2,
    *,
    format="stt",
    side="left",
    validation=None,
    n_iter_max=200,
    tol=1e-3,
    n_restarts=1,
    random_state=None,
    verbose=False,
    callback=None,
    full_core="auto",
):
    """Fit an STT or STR to samples of a tensor, without a dense array.

    Parameters
    ----------
    indices : int array, shape (P, N)
        The subscripts of the ``P`` observed entries (any order, no repeats needed:
        a repeated subscript counts twice in the least squares).
    values : array, shape (P,)
        Their values (numpy or torch; the fit runs in that library, on its device).
    shape : tuple of N int, N >= 2
    ranks : int or list of int
        The bonds of the format (multiples of ``t``): N-1 for STT, N for STR.
    t : int, default 2
    format : {"stt", "str"}, default "stt"
    side : {"left", "right"}, default "left"
    validation : tuple (indices, values), optional
        Held-out samples: ``info.held_out_errors`` per sweep, early stop after 5
        sweeps without improvement, the best state returned.
    full_core : "auto" or int, default "auto"
        STR only: the mode of the full core, as in
        `~semitensor.decomposition.str.str_decompose`.
    n_iter_max, tol, n_restarts, random_state, verbose, callback
        As in `~semitensor.decomposition.stt.stt_decompose` (callback arguments: the
        sweep, the current STT/STR, the training error).

    Returns
    -------
    STTTensor or STRTensor
        ``info.errors`` is the relative error on the samples after the start (random
        cores) and after each sweep.

    Raises
    ------
    ValueError, TypeError
        For samples of the wrong shape, type, out-of-range subscripts, NaN/Inf values,
        a slice of some mode with no sample (naming it), or a bad keyword.

    Notes
    -----
    Each sweep costs about ``P·Σ_k (r_k r_{k+1})²`` flops plus the per-slice solves
    (``Σ_k I_k (r_k r_{k+1})³/3``), with ``r`` the ring ranks of the format (SPEC §4).

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor.decomposition.completion import complete
    >>> rng = np.random.default_rng(0)
    >>> u = [rng.standard_normal((50, 2)) for _ in range(3)]
    >>> idx = rng.integers(0, 50, size=(2000, 3))
    >>> vals = np.einsum("pr,pr,pr->p", u[0][idx[:, 0]], u[1][idx[:, 1]], u[2][idx[:, 2]])
    >>> fit = complete(idx, vals, (50, 50, 50), ranks=2, t=1, random_state=0)
    >>> bool(fit.info.rel_error < 1e-6)
    True
    """
    shape = _check_shape(shape)
    n = len(shape)
    fmt = check_choice(format, "format", ("stt", "str"))
    side = check_side(side)
    settings = check_settings(
        "complete",
        method="als",
        methods=("als",),
        n_iter_max=n_iter_max,
        tol=tol,
        eps=None,
        n_restarts=n_restarts,
        random_state=random_state,
        verbose=verbose,
        callback=callback,
        init="random",
    )
    idx, vals = _check_samples(indices, values, shape, "samples")
    samples = Samples(idx, vals, shape)
    for k, lay in enumerate(samples.layouts):
        if not (lay.counts == 0).any():
            continue
        i = int(np.flatnonzero(lay.counts == 0)[0])
        raise ValueError(
            f"no sample in slice {i} of mode {k}: every slice needs at least one sample, "
            "or its core slice is undetermined"
        )
    held = None
    if validation is not None:
        vi, vv = _check_samples(validation[0], validation[1], shape, "validation")
        held = Samples(vi, vv, shape)
    xp = samples.xp
    if fmt == "stt" and not (isinstance(full_core, str) and full_core == "auto"):
        raise ValueError(f"complete: full_core applies to format='str' only; got {full_core!r}")
    if fmt == "stt":
        tf = 1 if n == 2 else check_uniform_t(t, n - 2, "interior core", "complete")
        bonds = check_bond_list(ranks, n - 1, tf, None, f"bond sizes R_1..R_{n - 1}")
        ring_ranks = stt_ring_ranks(bonds, tf)

        def wrap(ring):
            return STTTensor(cast_cores(xp, ring_to_stt(ring, tf, side), xp.float64), tf, side)
    else:
        tf = check_uniform_t(t, n - 1, "core other than the full one", "complete")
        full = check_full_core(full_core, n)
        bonds = check_bond_list(ranks, n, tf, None, f"bond sizes R_0..R_{n - 1}")
        ring_ranks = str_ring_ranks(bonds, tf)

        def wrap(ring):
            cores, m = ring_to_str(ring, tf, side, full)
            return STRTensor(cores, tf, side, m)

    ring, info = fit_masked_ring(samples, ring_ranks, settings, held_out=held, wrap=wrap)
    warn_unconverged(info, "complete", settings.n_iter_max, settings.tol)
    result = wrap(ring)
    result.info = info
    return result
