"""What an iterative fit did, recorded on the result instead of hidden."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FitInfo"]


@dataclass
class FitInfo:
    """Record of a fit.

    Attributes
    ----------
    method : str
        The fitting method used (``"als"``, ``"svd"``, ``"hosvd"``, ``"hooi"``, ...).
    n_iter : int
        Number of sweeps/iterations performed (0 for closed forms).
    converged : bool
        Whether the stopping tolerance was met.
    stop_reason : str
        One of ``"tol"`` (the error settled: see `semitensor.decomposition._stopping`),
        ``"eps"`` (the eps rank search reached its target), ``"exact"``
        (error at rounding level), ``"held_out"`` (the held-out error stopped
        improving), ``"n_iter_max"``, ``"callback"`` (the callback
        returned True), ``"closed_form"``.
    errors : list of float
        Relative error ``‖X − X̂‖/‖X‖`` after the initialisation and after each sweep.
    times : list of float
        Seconds since the fit started, when each entry of ``errors`` was recorded
        (the start included): ``zip(info.times, info.errors)`` is the fit's
        error-against-time curve.
    two_core_sweeps : int
        How many of the ``n_iter`` sweeps were two-core (warm-up) sweeps, kept or
        reverted (ring fits only).
    two_core_at : list of int
        Which sweeps those were (``errors[k]`` follows sweep ``k``): the warm-up's
        first ones, and with ``warmup="auto"`` its one retry later in the fit.
    ranks_used : tuple or None
        The ranks chosen when ``eps`` picked them (``None`` when they were given).
    held_out_errors : list of float
        With a validation mask (masked fits): the relative error on the held-out
        entries after the start and after each sweep (empty otherwise). With a mask,
        ``errors`` is the error on the observed (training) entries only.
    best_iter : int or None
        With validation data: the sweep whose state was returned (the least held-out
        error) when it is not the last one; ``stop_reason="held_out"`` when the fit
        stopped because the held-out error stopped improving.
    """

    method: str
    n_iter: int = 0
    converged: bool = False
    stop_reason: str = ""
    errors: list = field(default_factory=list)
    ranks_used: tuple | None = None
    times: list = field(default_factory=list)
    two_core_sweeps: int = 0
    two_core_at: list = field(default_factory=list)
    held_out_errors: list = field(default_factory=list)
    best_iter: int | None = None

    @property
    def rel_error(self):
        """Final relative error (``nan`` if none was recorded)."""
        return self.errors[-1] if self.errors else float("nan")
