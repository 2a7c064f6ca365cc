"""Arguments and input of the fits, checked and prepared once for STTu, STT and STR.

`check_settings` validates the keywords every fit shares and packs them into one
`FitSettings`, which the drivers take instead of long parameter lists;
`prepare_tensor` checks the data and makes the working copy.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable

import array_api_compat
import numpy as np

from .._namespace import as_arrays, device_of, is_torch, to_numpy
from .._random import check_random_state
from .._validation import (
    check_bool,
    check_callback,
    check_choice,
    check_eps,
    check_finite,
    check_mode,
    check_nonnegative_int,
    check_positive_int,
    check_rank_list,
    check_t,
    check_tol,
)

__all__ = [
    "FitSettings",
    "check_settings",
    "check_uniform_t",
    "check_bond_list",
    "check_ranks_or_eps",
    "check_init",
    "check_full_core",
    "prepare_tensor",
    "like_tensor",
    "cast_cores",
    "frobenius_norm",
]


@dataclass(frozen=True)
class FitSettings:
    """The validated keywords of one fit (see the fits' docstrings for their meaning)."""

    name: str
    method: str
    n_iter_max: int
    tol: float
    eps: float | None
    n_restarts: int
    rng: np.random.Generator
    verbose: bool
    callback: Callable | None
    init: Any = "svd"
    warmup: Any = "auto"
    #: Stop as soon as the error is at most this (the eps rank search); None: never.
    stop_at: float | None = None
    #: Line search along each one-core sweep's step (`_ring_fit._extrapolate`).
    extrapolate: bool = False


def check_settings(
    name,
    *,
    method,
    methods,
    n_iter_max,
    tol,
    eps,
    random_state,
    verbose,
    callback,
    n_restarts=1,
    init="svd",
    warmup="auto",
    linesearch=False,
):
    """Validate the keywords shared by the fits; return a `FitSettings`."""
    return FitSettings(
        name=name,
        method=check_choice(method, "method", methods),
        n_iter_max=check_positive_int(n_iter_max, "n_iter_max"),
        tol=check_tol(tol),
        eps=check_eps(eps),
        n_restarts=check_positive_int(n_restarts, "n_restarts"),
        rng=check_random_state(random_state),
        verbose=bool(verbose),
        callback=check_callback(callback),
        init=init,
        warmup=check_warmup(warmup),
        extrapolate=check_bool(linesearch, "linesearch"),
    )


def check_warmup(warmup):
    """``"auto"`` or a number of two-core warm-up sweeps >= 0."""
    if isinstance(warmup, str):
        return check_choice(warmup, "warmup", ("auto",))
    return check_nonnegative_int(warmup, "warmup")


def check_uniform_t(t, count, what, fname):
    """``t`` as one int: an int, or a list of ``count`` equal ints (the fits need a uniform t)."""
    if count == 0 and isinstance(t, numbers.Integral) and not isinstance(t, bool):
        return check_positive_int(t, "t")
    values = check_t(t, count, what, uniform=fname)
    return values[0] if values else 1


def check_full_core(full_core, n):
    """An STR fit's ``full_core``: ``"auto"`` is None (placed after the fit), else a mode."""
    if isinstance(full_core, str) and full_core == "auto":
        return None
    if not isinstance(full_core, numbers.Integral) or isinstance(full_core, bool):
        raise TypeError(f"full_core must be 'auto' or a mode (an int); got {full_core!r}")
    return check_mode(full_core, n, "full_core")


def check_ranks_or_eps(ranks, eps, n, what, multiple_of=None):
    """``ranks`` as ``n`` ints (see `check_rank_list`), or None when ``eps`` picks them."""
    if ranks is None:
        if eps is None:
            raise ValueError(f"give ranks (an int or a list of {n}: {what}) or eps; got neither")
        return None
    if eps is not None:
        raise ValueError(
            "give either ranks or eps, not both (eps chooses the ranks); "
            f"got ranks={ranks!r} and eps={eps!r}"
        )
    return check_rank_list(ranks, n, what, multiple_of=multiple_of, none_ok=True)


def check_bond_list(ranks, count, t, eps, what):
    """Validated list of ``count`` bond sizes (multiples of ``t``), or None with ``eps``."""
    return check_ranks_or_eps(ranks, eps, count, what, multiple_of=(t,) * count)


def check_init(init, cls, settings, *, shape, bonds, t, side):
    """Validate ``init`` of a ring fit: ``"svd"``, ``"random"`` or a ``cls`` that matches."""
    name = settings.name
    if isinstance(init, cls):
        if bonds is None:
            raise ValueError(f"init={cls.__name__} fixes the ranks; give ranks instead of eps")
        if init.shape != shape or list(init.ranks) != bonds or init.t != t or init.side != side:
            raise ValueError(
                f"init must match the fit: shape {shape}, ranks {bonds}, t={t}, "
                f"side={side!r}; got {init!r}"
            )
        for k, core in enumerate(init.cores):
            check_finite(array_api_compat.array_namespace(core), core, f"init.cores[{k}]")
    elif not (isinstance(init, str) and init in ("svd", "random")):
        raise ValueError(f"init must be 'svd', 'random' or an {cls.__name__}; got {init!r}")
    if settings.method == "svd" and not (isinstance(init, str) and init == "svd"):
        raise ValueError(
            f"{name}: method='svd' is the SVD sweep itself and takes no start; got "
            f"init={init!r} (use method='als' to refine a start)"
        )


def prepare_tensor(tensor, min_ndim=2):
    """Check an input tensor and copy it to float64 in its own library, on its device.

    Returns ``(xp, x, out_dtype, device, scale)``: the namespace, the float64 data
    (the input itself when it is float64: the fits never write into it; a torch
    tensor is detached, so no autograd graph is kept), the dtype and device of the
    result (the input's floating dtype, float64 otherwise), and the factor the data
    was divided by when its magnitude was extreme (`_rescaled`; 1.0 otherwise).

    The ring fits run in float64 whatever the input: in float32 the error estimate
    ``‖X‖² − 2<X,X̂> + ‖X̂‖²`` and the normal equations lose too many digits
    (measured on 16 exact rings, 6×8×8×6 to 16^4: float32 ALS stopped early on 4
    of them, at relative errors 9e-6 to 3.4e-4, and reached 2.7e-7 to 4.2e-7 on the
    others; float64 reached 3e-10 to 4e-9 on all 16).
    """
    if isinstance(tensor, np.ma.MaskedArray):
        raise TypeError(
            "tensor is a numpy masked array, and the fits do not take masks yet; pass "
            "tensor.filled(value) to fit with the masked entries set to a value, or "
            "np.asarray(tensor) to fit the values under the mask"
        )
    xp, (x_in,) = as_arrays(tensor, names=["tensor"])
    kind = getattr(x_in.dtype, "kind", "f")
    if kind not in "biufc":
        raise TypeError(f"tensor must hold real numbers; got an array of dtype {x_in.dtype}")
    if 0 in tuple(x_in.shape):
        raise ValueError(f"tensor must not have a mode of size 0; got shape {tuple(x_in.shape)}")
    if x_in.ndim < min_ndim:
        raise ValueError(f"tensor must have order at least {min_ndim}; got a {x_in.ndim}-d array")
    if xp.isdtype(x_in.dtype, "complex floating"):
        raise TypeError(
            f"tensor must be real; got dtype {x_in.dtype} (fit the real and imaginary "
            "parts separately, or use a real embedding)"
        )
    if is_torch(x_in):
        x_in = x_in.detach()
    check_finite(xp, x_in, "tensor")
    device = device_of(x_in)
    # The fits only read the tensor, so float64 input is used as it is (a memory-mapped
    # .npy stays on disk); any other dtype costs one float64 copy.
    x = x_in if x_in.dtype == xp.float64 else xp.asarray(x_in, dtype=xp.float64, device=device)
    out_dtype = x_in.dtype if xp.isdtype(x_in.dtype, "real floating") else xp.float64
    x, scale = _rescaled(xp, x)
    return xp, x, out_dtype, device, scale


# Entries beyond these magnitudes are rescaled before a fit: a norm squares them, so
# 1e-170 underflowed to an "exact" fit with zero cores and 1e154 overflowed to NaN.
_SMALLEST, _LARGEST = 1e-100, 1e100


def _rescaled(xp, x):
    """``(x / s, s)`` with ``s = max|x|`` when that is extreme, else ``(x, 1.0)``.

    The fits are scale-invariant: they fit ``x / s`` and multiply the result back by
    ``s`` (`cast_cores`), so the relative errors are those of the data itself.
    """
    top = max(float(xp.max(x)), -float(xp.min(x))) if x.size else 0.0
    if top == 0.0 or _SMALLEST < top < _LARGEST:
        return x, 1.0
    return x / top, top


def like_tensor(arrays, x):
    """Copies of ``arrays`` in the library, device and dtype of ``x`` (for ``init`` cores).

    Arrays of another library go through the host once, before any fitting.
    """
    xp = array_api_compat.array_namespace(x)
    device = device_of(x)
    out = []
    for a in arrays:
        if array_api_compat.array_namespace(a) is not xp:
            a = to_numpy(a)
        elif is_torch(a):
            a = a.detach()
        out.append(xp.asarray(a, dtype=x.dtype, device=device, copy=True))
    return out


def frobenius_norm(xp, x):
    """``‖x‖_F`` as a Python float (one scalar read; numpy's ``linalg.norm`` to the bit)."""
    flat = xp.reshape(x, (-1,))
    return math.sqrt(float(xp.vecdot(flat, flat)))


def cast_cores(xp, cores, dtype, scale=1.0):
    """Fitted cores in ``dtype``, multiplied back by ``scale`` (spread over the cores).

    Each core takes ``scale**(1/N)``, so no single core over- or underflows on the
    way back from a rescaled fit (`prepare_tensor`).
    """
    if scale != 1.0:
        share = scale ** (1.0 / len(cores))
        cores = [c * share for c in cores]
    return [xp.astype(c, dtype, copy=False) for c in cores]
