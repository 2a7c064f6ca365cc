"""When a fit stops, in one place for all three fits (STTu, STT, STR).

A fit records its relative error after the start and after every sweep
(`~semitensor.decomposition.fitinfo.FitInfo.errors`) and stops at the first of:

* ``"exact"``: the error is at rounding level (`exact_level` of the working dtype);
* ``"tol"``: the error has settled: its predicted further decrease is below ``tol``
  times the error (`settled`);
* ``"callback"``: the callback returned True;
* ``"n_iter_max"``: the sweep budget is spent; a `ConvergenceWarning` says so.
"""

from __future__ import annotations

import logging
import warnings

from ..exceptions import ConvergenceWarning

__all__ = [
    "logger", "exact_level", "settled", "out_of_reach", "warn_unconverged", "stopped_early",
]  # fmt: skip

#: Every fit logs on this logger (one line per sweep at INFO with ``verbose``, else DEBUG).
logger = logging.getLogger("semitensor.decomposition")

# A relative error below this many rounding units of the working dtype is an exact fit:
# the reconstruction itself rounds at about N·u (float64: 2.2e-13).
_EXACT_UNITS = 1e3


def exact_level(dtype_eps):
    """Relative error treated as an exact fit, for a dtype of unit roundoff ``dtype_eps``."""
    return _EXACT_UNITS * dtype_eps


def _remaining(errors):
    """Predicted further decrease of the error: ``d_2·min(1/(1−ρ), 10)`` (see `settled`)."""
    d2 = errors[-2] - errors[-1]
    factor = 1.0
    if len(errors) >= 3:
        d1 = errors[-3] - errors[-2]
        if d1 > 0 and d2 > 0:
            rho = d2 / d1
            factor = 10.0 if rho >= 0.9 else 1.0 / (1.0 - rho)
    return abs(d2) * factor


def settled(errors, tol):
    """True when the error is predicted to fall by less than ``tol·error`` from now on.

    With the last two decreases ``d_1, d_2`` and the linear-convergence rate
    ``ρ = d_2/d_1``, the remaining decrease is about ``d_2·ρ/(1−ρ)``; the test is
    ``d_2·min(1/(1−ρ), 10) < tol·e`` with ``e`` the current error. Relative to the
    error, so one ``tol`` suits every scale: a real-data fit stops once its error has
    settled to a fraction ``tol`` of itself, while a fit converging towards an exact
    decomposition keeps going (its decrease stays a fixed fraction ``1−ρ`` of its
    error) until `exact_level`. The former absolute test (``d_2 < tol``) ran 23 of 28
    default fits on real tensors to ``n_iter_max`` and stopped smooth tensors early.
    """
    bound = tol * abs(errors[-1])
    if abs(errors[-2] - errors[-1]) >= bound:
        return False
    return _remaining(errors) < bound


def out_of_reach(errors, target):
    """True when even the predicted further decrease leaves the error above ``target``.

    The eps rank search then moves on to larger ranks instead of converging ranks that
    cannot reach its target (the fit stops with ``"tol"``).
    """
    if len(errors) < 4 or errors[-2] - errors[-1] <= 0:
        return False
    return errors[-1] - 2.0 * _remaining(errors) > target


def stopped_early(info, it, err, stop_by_callback, exact, stop_at=None):
    """Record why the fit ends after sweep ``it`` and return True, or return False.

    The three reasons every sweep loop checks first, in this order: the callback asked
    to stop, the error is at rounding level (``exact``), or an ``eps`` search's target
    ``stop_at`` is met. (`settled` and `out_of_reach` follow in each loop.)
    """
    if stop_by_callback(it, err):
        info.stop_reason = "callback"
    elif err <= exact:
        info.converged, info.stop_reason = True, "exact"
    elif stop_at is not None and err <= stop_at:
        info.converged, info.stop_reason = True, "eps"
    else:
        return False
    return True


def warn_unconverged(info, fname, n_iter_max, tol, stacklevel=3):
    """Warn with ConvergenceWarning when a fit ran out of sweeps (attributed to its caller)."""
    if info.stop_reason == "n_iter_max":
        warnings.warn(
            f"{fname} stopped after n_iter_max={n_iter_max} sweeps before the relative "
            f"error settled within tol={tol} (last error {info.rel_error:.3e}); "
            "increase n_iter_max or tol",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
