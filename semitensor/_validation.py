"""The library's one argument vocabulary: every public function checks through here.

Each check raises with a message that names the argument, the rule and the value
received, as the style guide asks: `TypeError` for the wrong kind of object,
`ValueError` for a bad value. The same concept is checked by the same function in the
fits, the formats, the nn layers and the command, so one rule has one wording.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "check_positive_int",
    "check_nonnegative_int",
    "check_mode",
    "check_side",
    "check_choice",
    "check_finite",
    "check_tol",
    "check_eps",
    "check_callback",
    "check_t",
    "check_rank_list",
    "check_shape",
]


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _kind(value):
    return f"{value!r} of type {type(value).__name__}"


def check_positive_int(value, name):
    """Return ``value`` as an int if it is a positive integer, else raise."""
    if not _is_int(value):
        raise TypeError(f"{name} must be a positive integer; got {_kind(value)}")
    value = int(value)
    if value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value}")
    return value


def check_nonnegative_int(value, name):
    """Return ``value`` as an int if it is an integer >= 0, else raise."""
    if not _is_int(value):
        raise TypeError(f"{name} must be a non-negative integer; got {_kind(value)}")
    value = int(value)
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {value}")
    return value


def check_mode(mode, ndim, name="mode"):
    """Return ``mode`` normalised to ``0 <= mode < ndim`` (negative counts from the end)."""
    if not _is_int(mode):
        raise TypeError(f"{name} must be an integer; got {_kind(mode)}")
    mode = int(mode)
    if not -ndim <= mode < ndim:
        raise ValueError(
            f"{name} must be in [{-ndim}, {ndim - 1}] for a tensor of order {ndim}; got {mode}"
        )
    return mode % ndim


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices`` (strings), else a ValueError listing them."""
    if not (isinstance(value, str) and value in choices):
        quoted = [repr(c) for c in choices]
        if len(quoted) == 2:
            listed = " or ".join(quoted)
        else:
            listed = "one of " + ", ".join(quoted)
        raise ValueError(f"{name} must be {listed}; got {value!r}")
    return value


def check_side(side):
    """Return ``side`` if it is ``"left"`` or ``"right"``, else raise."""
    return check_choice(side, "side", ("left", "right"))


def check_finite(xp, x, name):
    """Raise ``ValueError`` if ``x`` holds NaN or Inf (decompositions refuse them).

    Two reductions, since NaN propagates through max and min: ``isfinite(x)`` would
    first allocate a boolean array of the tensor's size.
    """
    if getattr(getattr(x, "device", None), "type", None) == "meta":
        raise ValueError(
            f"{name} is a torch tensor on the meta device, which holds no values; "
            "decompositions need data (move it to 'cpu' or 'cuda' first)"
        )
    if not xp.isdtype(x.dtype, ("real floating", "complex floating")) or x.size == 0:
        return
    if xp.isdtype(x.dtype, "complex floating"):
        x = xp.real(x) + xp.imag(x)  # Inf or NaN in either part survives the sum
    if not (math.isfinite(float(xp.max(x))) and math.isfinite(float(xp.min(x)))):
        raise ValueError(f"{name} contains NaN or Inf; decompositions need finite input")


def check_tol(tol, name="tol"):
    """Return ``tol`` as a float if it is a finite number >= 0, else raise."""
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise TypeError(f"{name} must be a non-negative number; got {_kind(tol)}")
    tol = float(tol)
    if not (tol >= 0 and math.isfinite(tol)):
        raise ValueError(f"{name} must be a finite non-negative number; got {tol!r}")
    return tol


def check_eps(eps, name="eps"):
    """Return ``eps`` as a float if it is None or a relative error target in (0, 1)."""
    if eps is None:
        return None
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{name} must be a number in (0, 1) or None; got {_kind(eps)}")
    eps = float(eps)
    if not 0 < eps < 1:
        raise ValueError(f"{name} must be a number in (0, 1); got {eps!r}")
    return eps


def check_callback(callback, name="callback"):
    """Return ``callback`` if it is callable or None, else raise."""
    if callback is not None and not callable(callback):
        raise TypeError(f"{name} must be callable or None; got {_kind(callback)}")
    return callback


def check_t(t, n, what="mode", *, uniform=None):
    """Return the STP factor ``t`` as a tuple of ``n`` positive ints (an int is repeated).

    Parameters
    ----------
    t : int or sequence of int
        One STP factor for all modes/cores, or one per mode/core.
    n : int
        Number of modes (or cores) that take a factor.
    what : str, default "mode"
        Word used in error messages (``"mode"``, ``"interior core"``, ...).
    uniform : str, optional
        The caller's name when it needs one factor for all (the ring fits): a list
        of different values is then a ValueError that says so.
    """
    if _is_int(t):
        values, names = (t,) * n, ["t"] * n
    elif isinstance(t, (list, tuple)):
        if len(t) != n:
            raise ValueError(f"t must be an int or have one entry per {what} ({n}); got {len(t)}")
        values, names = tuple(t), [f"t[{i}]" for i in range(n)]
    else:
        raise TypeError(
            f"t must be a positive int or a list of one per {what}; got {type(t).__name__}"
        )
    out = tuple(check_positive_int(v, name) for v, name in zip(values, names))
    if uniform is not None and len(set(out)) > 1:
        raise ValueError(f"{uniform} fits a uniform t only; got t={list(t)}")
    return out


def check_rank_list(ranks, n, what, multiple_of=None, none_ok=False):
    """Return ``ranks`` as a list of ``n`` positive ints (an int is repeated).

    ``what`` says what the ``n`` entries are (used when the length is wrong);
    ``multiple_of`` (a tuple of ``n`` ints, or None) requires ``ranks[k] % m_k == 0``;
    ``none_ok`` says in the message that None is also accepted (it is the caller's
    business: the fits take None with ``eps``).
    """
    if _is_int(ranks):
        values = [check_positive_int(ranks, "ranks")] * n
        labels = ["ranks"] * n
    elif isinstance(ranks, (list, tuple)):
        if len(ranks) != n:
            raise ValueError(f"ranks must be an int or a list of {n} ({what}); got {len(ranks)}")
        values = [check_positive_int(r, f"ranks[{k}]") for k, r in enumerate(ranks)]
        labels = [f"ranks[{k}]" for k in range(n)]
    else:
        kinds = "an int, a list of ints or None" if none_ok else "an int or a list of ints"
        raise TypeError(f"ranks must be {kinds}; got {_kind(ranks)}")
    if multiple_of is not None:
        for label, r, m in zip(labels, values, multiple_of):
            if r % m:
                raise ValueError(f"{label} must be a positive multiple of t={m}; got {r}")
    return values


def check_shape(shape, name, total=None, total_name=None):
    """Return ``shape`` as a tuple of positive ints (a non-empty list or tuple).

    With ``total``, the sizes must multiply to it (``total_name`` names it).
    """
    if not isinstance(shape, (list, tuple)) or not shape:
        raise TypeError(f"{name} must be a non-empty list or tuple of ints; got {shape!r}")
    out = tuple(check_positive_int(s, f"{name}[{k}]") for k, s in enumerate(shape))
    if total is not None and math.prod(out) != total:
        raise ValueError(
            f"{name} {out} must multiply to {total_name}={total}; its product is {math.prod(out)}"
        )
    return out


# --- flags, convolution sizes, ranges and paths (nn layers, io, the command) --------

__all__ += ["check_bool", "check_int_pair", "check_int_in_range", "check_path"]


def check_bool(value, name):
    """Return ``value`` if it is True or False, else a TypeError (1 and "yes" are not)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False; got {_kind(value)}")
    return value


def check_int_pair(value, name, minimum=1):
    """Return ``value`` (an int, or a pair of ints) as a pair of ints ``>= minimum``."""
    pair = (value, value) if _is_int(value) else value
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(map(_is_int, pair)):
        raise TypeError(f"{name} must be an int or a pair of ints; got {_kind(value)}")
    pair = tuple(int(v) for v in pair)
    if min(pair) < minimum:
        rule = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{name} must be {rule} (an int or a pair of ints); got {value!r}")
    return pair


def check_int_in_range(value, name, low, high, multiple_of=1):
    """Return ``value`` as an int if it is in ``[low, high]`` and divisible by ``multiple_of``."""
    if multiple_of == 1:
        rule = f"an integer between {low} and {high}"
    else:
        rule = f"a multiple of {multiple_of} between {low} and {high}"
    if not _is_int(value):
        raise TypeError(f"{name} must be {rule}; got {_kind(value)}")
    value = int(value)
    if not low <= value <= high or value % multiple_of:
        raise ValueError(f"{name} must be {rule}; got {value}")
    return value


def check_path(path, name="path"):
    """Return a file path (str, bytes or os.PathLike) as a non-empty str.

    Bytes are decoded as the operating system does (`os.fsdecode`), so messages and
    path arithmetic work on one type; an empty path would name the current directory.
    """
    import os

    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"{name} must be a str, bytes or os.PathLike file path; got {_kind(path)}")
    value = os.fsdecode(os.fspath(path))
    if not value:
        raise ValueError(f"{name} must name a file; got the empty path {path!r}")
    if "\0" in value:
        raise ValueError(f"{name} must not contain a NUL character; got {path!r}")
    return value
