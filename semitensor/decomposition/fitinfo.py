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
        One of ``"tol"`` (relative error changed by less than ``tol``), ``"exact"``
        (error at rounding level), ``"n_iter_max"``, ``"callback"`` (the callback
        returned True), ``"closed_form"``.
    errors : list of float
        Relative error ``‖X − X̂‖/‖X‖`` after the initialisation and after each sweep.
    ranks_used : tuple or None
        The ranks chosen when ``eps`` picked them (``None`` when they were given).
    """

    method: str
    n_iter: int = 0
    converged: bool = False
    stop_reason: str = ""
    errors: list = field(default_factory=list)
    ranks_used: tuple | None = None

    @property
    def rel_error(self):
        """Final relative error (``nan`` if none was recorded)."""
        return self.errors[-1] if self.errors else float("nan")
