"""What the STT and STR fits share: argument checks, input preparation, rank growth.

Both formats are fitted on their tensor-ring equivalents by `_ring_als`; the pieces
here keep their public entry points short and their behaviour identical.
"""

from __future__ import annotations

import math
import numbers
import warnings

import array_api_compat

from .._namespace import as_arrays, device_of, is_torch, to_numpy
from .._validation import check_finite, check_positive_int, check_t
from ..exceptions import ConvergenceWarning

__all__ = [
    "check_fit_args",
    "check_uniform_t",
    "check_bond_list",
    "prepare_tensor",
    "like_tensor",
    "cast_cores",
    "frobenius_norm",
    "warn_unconverged",
    "grow_until_eps",
]


def check_fit_args(method, eps, n_iter_max, n_restarts, tol, callback):
    """Validate the keywords common to the ring fits; return ``(n_iter_max, n_restarts)``."""
    if method not in ("als", "svd"):
        raise ValueError(f"method must be 'als' or 'svd'; got {method!r}")
    if eps is not None:
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
            raise TypeError(f"eps must be a number in (0, 1) or None; got {type(eps).__name__}")
        if not 0 < eps < 1:
            raise ValueError(f"eps must be a number in (0, 1); got {eps!r}")
    n_iter_max = check_positive_int(n_iter_max, "n_iter_max")
    n_restarts = check_positive_int(n_restarts, "n_restarts")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise TypeError(f"tol must be a non-negative number; got {type(tol).__name__}")
    if tol < 0:
        raise ValueError(f"tol must be a non-negative number; got {tol!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None; got {type(callback).__name__}")
    return n_iter_max, n_restarts


def check_uniform_t(t, count, what, fname):
    """``t`` as one int: an int, or a list of ``count`` equal ints (the fits need a uniform t)."""
    if count == 0 and isinstance(t, numbers.Integral) and not isinstance(t, bool):
        return check_positive_int(t, "t")
    values = check_t(t, count, what, uniform=fname)
    return values[0] if values else 1


def check_bond_list(ranks, count, t, eps, what):
    """Validated list of ``count`` bond sizes (multiples of ``t``), or None with ``eps``."""
    if ranks is None:
        if eps is None:
            raise ValueError(f"give ranks (an int or a list of {what}) or eps; got neither")
        return None
    if eps is not None:
        raise ValueError(
            "give either ranks or eps, not both (eps chooses the ranks); "
            f"got ranks={ranks!r} and eps={eps!r}"
        )
    if isinstance(ranks, numbers.Integral) and not isinstance(ranks, bool):
        values = [check_positive_int(ranks, "ranks")] * count
        labels = ["ranks"] * count
    elif isinstance(ranks, (list, tuple)):
        if len(ranks) != count:
            raise ValueError(f"ranks must be an int or a list of {what}; got {len(ranks)}")
        values = [check_positive_int(r, f"ranks[{k}]") for k, r in enumerate(ranks)]
        labels = [f"ranks[{k}]" for k in range(count)]
    else:
        raise TypeError(f"ranks must be an int, a list of ints or None; got {type(ranks).__name__}")
    for name, r in zip(labels, values):
        if r % t:
            raise ValueError(f"{name} must be a positive multiple of t={t}; got {r}")
    return values


def prepare_tensor(tensor):
    """Check an input tensor and copy it to float64 in its own library, on its device.

    Returns ``(xp, x, out_dtype, device)``: the namespace, the float64 copy (the
    input is never modified, and a torch copy carries no autograd graph), and the
    dtype and device of the result (the input's floating dtype, float64 otherwise).

    The ring fits run in float64 whatever the input: in float32 the error estimate
    ``‖X‖² − 2<X,X̂> + ‖X̂‖²`` and the normal equations lose too many digits
    (measured on 16 exact rings, 6×8×8×6 to 16^4: float32 ALS stopped early on 4
    of them, at relative errors 9e-6 to 3.4e-4, and reached 2.7e-7 to 4.2e-7 on the
    others; float64 reached 3e-10 to 4e-9 on all 16).
    """
    xp, (x_in,) = as_arrays(tensor, names=["tensor"])
    if x_in.ndim < 2:
        raise ValueError(f"tensor must have order at least 2; got a {x_in.ndim}-d array")
    if xp.isdtype(x_in.dtype, "complex floating"):
        raise TypeError(
            f"tensor must be real; got dtype {x_in.dtype} (fit the real and imaginary "
            "parts separately, or use a real embedding)"
        )
    check_finite(xp, x_in, "tensor")
    if is_torch(x_in):
        x_in = x_in.detach()
    device = device_of(x_in)
    x = xp.asarray(x_in, dtype=xp.float64, device=device, copy=True)
    out_dtype = x_in.dtype if xp.isdtype(x_in.dtype, "real floating") else xp.float64
    return xp, x, out_dtype, device


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


def cast_cores(xp, cores, dtype):
    """Fitted cores (already in the caller's library and on its device) in ``dtype``."""
    return [xp.astype(c, dtype, copy=False) for c in cores]


def warn_unconverged(info, fname, n_iter_max, tol):
    """Warn with ConvergenceWarning when a fit ran out of sweeps."""
    if info.stop_reason == "n_iter_max":
        warnings.warn(
            f"{fname} stopped after n_iter_max={n_iter_max} sweeps before the relative "
            f"error settled within tol={tol} (last error {info.rel_error:.3e}); "
            "increase n_iter_max or tol",
            ConvergenceWarning,
            stacklevel=3,
        )


def grow_until_eps(fit, bonds, caps, step, n_params, full_size, eps, fname):
    """Refit with bonds grown by ``step`` until the relative error is at most ``eps``.

    ``fit(bonds) -> (cores, info)``; ``n_params(bonds)`` counts the parameters. Stops
    with a ConvergenceWarning that says why when every bond is at its cap or the next
    ranks would store more numbers than the tensor. Returns ``(cores, info, bonds)``
    with ``info.ranks_used`` set.
    """
    bonds = [min(r, c) for r, c in zip(bonds, caps)]
    while True:
        cores, info = fit(bonds)
        if info.rel_error <= eps or info.stop_reason == "callback":
            break
        grown = [min(r + step, c) for r, c in zip(bonds, caps)]
        reason = None
        if grown == bonds:
            reason = f"every bond reached its cap {caps} (the unfolding sizes rounded up to t)"
        elif n_params(grown) > full_size:
            reason = (
                f"the next ranks {grown} would store more parameters than the tensor ({full_size})"
            )
        if reason is not None:
            warnings.warn(
                f"{fname} did not reach eps={eps}: relative error {info.rel_error:.3e} "
                f"at ranks {bonds}; stopped because {reason}",
                ConvergenceWarning,
                stacklevel=3,
            )
            break
        bonds = grown
    info.ranks_used = tuple(bonds)
    return cores, info, bonds


def unfolding_caps(shape, t, ring=False):
    """Largest useful bond per position, rounded up to a multiple of ``t``.

    Bond ``k`` (between modes ``k−1`` and ``k``) of a train cannot usefully exceed the
    rank of the matching unfolding. A ring's bonds share each cut between two of them
    (``r_0·r_k`` against the unfolding rank), so no single bond has such a bound:
    with ``ring=True`` all ``N`` bonds get the largest train cap, and the parameter
    count stops the growth.
    """
    n = len(shape)
    caps = [t * math.ceil(min(math.prod(shape[:k]), math.prod(shape[k:])) / t) for k in range(1, n)]
    if ring:
        caps = [max(caps)] * n
    return caps
