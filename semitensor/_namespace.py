"""Array namespace from the inputs: no global backend, no eager torch import.

Every public function finds the array library (numpy, torch, ...) from the arrays it
is given, through array-api-compat, which never imports torch itself: a torch tensor
can only exist if the caller already imported torch. Constructors without array
inputs take ``like=`` (an array whose namespace and device to use) and ``dtype=``.
"""

from __future__ import annotations

import array_api_compat
import numpy as np

__all__ = ["as_arrays", "namespace_of", "resolve_like", "to_numpy", "is_torch", "device_of"]


def _is_array(x):
    return array_api_compat.is_array_api_obj(x) and not isinstance(x, (int, float, complex))


def _library(x):
    """Short name of the library behind array ``x`` (for error messages)."""
    if isinstance(x, np.ndarray) or isinstance(x, np.generic):
        return "numpy"
    return type(x).__module__.split(".")[0]


def namespace_of(*arrays, names=None):
    """Return the array-api-compat namespace shared by ``arrays``.

    Parameters
    ----------
    *arrays : array_like
        Arrays (numpy, torch, ...). Objects that are not arrays are ignored.
    names : sequence of str, optional
        Argument names, used in the error message.

    Raises
    ------
    TypeError
        If the arrays come from more than one array library.
    """
    present = [(i, a) for i, a in enumerate(arrays) if _is_array(a)]
    if not present:
        return array_api_compat.array_namespace(np.empty(0))
    libs = {}
    for i, a in present:
        libs.setdefault(_library(a), i)
    if len(libs) > 1:
        label = (lambda i: names[i]) if names is not None else (lambda i: f"argument {i}")
        found = ", ".join(f"{label(i)} is a {lib} array" for lib, i in libs.items())
        raise TypeError(
            f"cannot mix array libraries in one call: {found}; "
            "convert all inputs to one library first (e.g. torch.as_tensor or numpy.asarray)"
        )
    return array_api_compat.array_namespace(*(a for _, a in present))


def device_of(x):
    """Device of array ``x`` (``"cpu"`` for numpy)."""
    return array_api_compat.device(x)


def as_arrays(*objs, names=None):
    """Return ``(xp, arrays)``: the common namespace and the inputs as its arrays.

    Arrays keep their type, dtype and device; nested lists and scalars are converted
    with the namespace of the arrays present (numpy when there are none), on their
    device.
    """
    xp = namespace_of(*objs, names=names)
    ref = next((o for o in objs if _is_array(o)), None)
    out = []
    for i, o in enumerate(objs):
        if _is_array(o):
            out.append(o)
            continue
        host = host_array(o, names[i] if names is not None else f"argument {i}")
        if ref is None:
            out.append(xp.asarray(host))
        else:
            out.append(xp.asarray(host, device=device_of(ref)))
    return xp, out


def host_array(obj, name):
    """``numpy.asarray(obj)``, or a TypeError naming ``name`` when numpy cannot read it."""
    try:
        return np.asarray(obj)
    except (ValueError, TypeError) as exc:
        raise TypeError(
            f"{name} cannot be read as a numeric array ({exc}); ragged nested lists are not arrays"
        ) from None


def resolve_like(like=None, dtype=None, default_dtype="float64"):
    """Namespace, device and dtype for a constructor with ``like=``/``dtype=``.

    Parameters
    ----------
    like : array, optional
        Array whose namespace and device the result should share. ``None`` means numpy.
    dtype : dtype or str, optional
        Requested dtype: a numpy or torch dtype, or a name numpy understands
        (``"float32"``, ``"bool"``, ``"f8"``, ``"int"``), mapped by its canonical
        name into the namespace of ``like``. Defaults to ``default_dtype``.

    Returns
    -------
    xp, device, dtype
    """
    if like is None:
        xp = array_api_compat.array_namespace(np.empty(0))
        device = None
    elif _is_array(like):
        xp = array_api_compat.array_namespace(like)
        device = device_of(like)
    else:
        raise TypeError(
            f"like must be an array (numpy, torch, ...) or None; got {type(like).__name__}"
        )
    if dtype is None:
        dtype = default_dtype
    return xp, device, _dtype_in(xp, dtype)


# The dtypes the array API (and torch) spells the same way; anything else (object,
# strings, datetimes, structured) has no meaning for a matrix of the STP algebra.
_DTYPE_NAMES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
)  # fmt: skip


def _dtype_in(xp, dtype):
    """``dtype`` (a name numpy understands, a numpy or torch dtype) as a dtype of ``xp``."""
    text = str(dtype)
    if text.startswith("torch."):
        name = text[len("torch.") :]
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
    if name not in _DTYPE_NAMES:
        raise TypeError(
            f"dtype must name a boolean, integer, floating or complex dtype "
            f"({', '.join(_DTYPE_NAMES)}, or a numpy alias such as 'f8'); got {dtype!r}"
        )
    if xp is array_api_compat.array_namespace(np.empty(0)):
        return np.dtype(name)
    if not hasattr(xp, name):
        raise TypeError(f"dtype {name!r} is not available in {xp.__name__}; got {dtype!r}")
    return getattr(xp, name)


def is_torch(x):
    """True if ``x`` is a torch tensor (without importing torch)."""
    return array_api_compat.is_torch_array(x)


def to_numpy(x):
    """Copy-free where possible conversion of any supported array to numpy."""
    if is_torch(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)
