"""Argument checks shared by the public functions.

Each check raises with a message that names the argument, the rule and the value
received, as the style guide asks.
"""

from __future__ import annotations

import numbers

__all__ = ["check_positive_int", "check_mode", "check_side", "check_finite"]


def check_positive_int(value, name):
    """Return ``value`` as an int if it is a positive integer, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a positive integer; got {value!r} of type {type(value).__name__}"
        )
    value = int(value)
    if value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value}")
    return value


def check_mode(mode, ndim, name="mode"):
    """Return ``mode`` normalised to ``0 <= mode < ndim`` (negative counts from the end)."""
    if isinstance(mode, bool) or not isinstance(mode, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {mode!r} of type {type(mode).__name__}")
    mode = int(mode)
    if not -ndim <= mode < ndim:
        raise ValueError(
            f"{name} must be in [{-ndim}, {ndim - 1}] for a tensor of order {ndim}; got {mode}"
        )
    return mode % ndim


def check_side(side):
    """Return ``side`` if it is ``"left"`` or ``"right"``, else raise."""
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right'; got {side!r}")
    return side


def check_finite(xp, x, name):
    """Raise ``ValueError`` if ``x`` holds NaN or Inf (decompositions refuse them)."""
    if xp.isdtype(x.dtype, ("real floating", "complex floating")) and not bool(
        xp.all(xp.isfinite(x))
    ):
        raise ValueError(f"{name} contains NaN or Inf; decompositions need finite input")
