"""Shared base of the STP decomposition formats (STTu, STT, STR).

A format stores its arrays, validates their shapes on construction and offers
``to_tensor``. This module holds what every format has in common: the tensor shape,
the ranks, the STP factors ``t`` and the side, the parameter count and compression
ratio, the ``repr``, and the generic `reconstruct`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._memory import check_allocation
from .._namespace import as_arrays, is_torch, namespace_of, to_numpy
from .._validation import check_side

__all__ = [
    "STPFormat",
    "reconstruct",
    "format_class",
    "format_of",
    "registered_formats",
]

# Arrays whose largest magnitude lies outside this range are rescaled in `norm`.
_SAFE_LOW, _SAFE_HIGH = 1e-100, 1e100

# Every concrete format registers itself here by its ``format_name`` (see
# STPFormat.__init_subclass__): `save`/`load`, the command and the error messages
# read this table, so a new format is a new subclass and nothing else.
_FORMATS = {}


def check_numeric(arrays, names):
    """TypeError unless every array holds numbers (bool, int, float or complex)."""
    for name, a in zip(names, arrays):
        if isinstance(a, np.ma.MaskedArray):
            raise TypeError(
                f"{name} is a masked array; a format's cores are plain arrays: pass "
                "x.filled(value) or x.data explicitly"
            )
        kind = getattr(getattr(a, "dtype", None), "kind", None)
        if kind is not None and kind not in "biufc":
            raise TypeError(f"{name} must hold numbers; got an array of dtype {a.dtype}")


def check_nonempty(arrays, names):
    """ValueError if an array has a zero-sized axis.

    A zero rank or mode size describes an empty or identically zero tensor, which no
    format needs to store, and which `load` refuses: refusing it here keeps every
    method (``repr``, `compression_ratio`, `to_tensor`, `norm`) defined.
    """
    for name, a in zip(names, arrays):
        if 0 in tuple(a.shape):
            raise ValueError(
                f"{name} has shape {tuple(a.shape)}; every rank and mode size of a "
                "format must be at least 1"
            )


def conj(xp, x):
    """Complex conjugate (a no-op on real arrays): norms of complex formats use it."""
    return xp.conj(x) if xp.isdtype(x.dtype, "complex floating") else x


def real(xp, x):
    """Real part (a no-op on real arrays)."""
    return xp.real(x) if xp.isdtype(x.dtype, "complex floating") else x


class STPFormat:
    """Base class of the STP decomposition formats.

    Subclasses store their arrays, call ``super().__init__`` with the sizes they
    validated, and implement `to_tensor` and `n_params` (the SPEC §4 formula).

    Parameters
    ----------
    shape : tuple of int
        Shape of the full tensor.
    ranks : tuple of int
        Ranks of the format (their meaning depends on the format).
    t : tuple of int
        STP factors, one per mode or core.
    side : {"left", "right"}
        ``"left"`` uses ``G ⊗ I_t``, ``"right"`` uses ``I_t ⊗ G``.

    Attributes
    ----------
    info : FitInfo or None
        Set by the fitting routines: what the fit did (see
        `semitensor.decomposition.fitinfo.FitInfo`); ``None`` for hand-built formats.
    """

    #: Short name used in files and on the command line (``"stt"``); set by each format.
    format_name = None
    #: Display name (``"STT"``).
    title = None
    #: The classical decomposition the format generalises: ``"tucker"``, ``"tt"`` or ``"tr"``.
    twin = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.format_name is not None and "format_name" in cls.__dict__:
            _FORMATS[cls.format_name] = cls

    def named_arrays(self):
        """The arrays that determine the format, by name, in order (what `save` writes)."""
        raise NotImplementedError

    @classmethod
    def from_named_arrays(cls, arrays, t, side, **options):
        """Rebuild from `named_arrays` and `options` (what `load` reads; validated)."""
        raise NotImplementedError

    def options(self):
        """Further constructor keywords, which `save` records (an STR's ``full_core``)."""
        return {}

    def __init__(self, shape, ranks, t, side):
        self._shape = tuple(int(s) for s in shape)
        self._ranks = tuple(int(r) for r in ranks)
        self._t = tuple(int(v) for v in t)
        self._side = check_side(side)
        self.info = None

    @property
    def shape(self):
        """Shape of the full tensor (tuple of int)."""
        return self._shape

    @property
    def ndim(self):
        """Order of the full tensor."""
        return len(self._shape)

    @property
    def ranks(self):
        """Ranks of the format (tuple of int)."""
        return self._ranks

    @property
    def t(self):
        """STP factors, one per mode or core (tuple of int)."""
        return self._t

    @property
    def side(self):
        """``"left"`` (``G ⊗ I_t``) or ``"right"`` (``I_t ⊗ G``)."""
        return self._side

    @property
    def n_params(self):
        """Number of stored parameters (SPEC §4 formula of the format)."""
        raise NotImplementedError

    @property
    def compression_ratio(self):
        """Full tensor size divided by `n_params` (> 1 means compression)."""
        return math.prod(self._shape) / self.n_params

    def to_tensor(self, chunks=None):
        """The full tensor (same library, dtype, device); lazy dask with ``chunks``."""
        raise NotImplementedError

    def _check_full_size(self, like):
        """MemoryError at once when the full tensor (of ``like``'s dtype) cannot fit."""
        check_allocation(
            f"the full tensor of this {self.title} has shape {self._shape}",
            self._shape,
            like.dtype,
            getattr(like, "device", None),
        )

    def norm(self):
        """Frobenius norm of the full tensor, as a 0-d array of the format's library.

        This generic version forms the full tensor; formats override it with a
        formula on their own arrays where one exists.
        """
        full = self.to_tensor()
        return namespace_of(full).linalg.vector_norm(full)

    def _scale_safe(self, norm):
        """``norm()`` of the format, computed on arrays rescaled to unit magnitude.

        The norm formulas square entries, so cores of magnitude 1e±200 gave inf, 0 or
        NaN while `to_tensor` was finite. The tensor is linear in each of its arrays,
        so each array is divided by its largest magnitude and the product of those
        scales multiplies the result (in logarithms: it overflows only when the norm
        itself does).
        """
        try:
            arrays = self.named_arrays()
        except NotImplementedError:
            return norm()
        xp = namespace_of(*arrays.values())
        scales = {}
        for key, a in arrays.items():
            mag = a.detach() if is_torch(a) else a  # scales only: no autograd needed
            mag = xp.abs(mag) if xp.isdtype(mag.dtype, "complex floating") else mag
            scales[key] = max(float(xp.max(mag)), -float(xp.min(mag))) if a.size else 0.0
        if all(s == 0.0 or _SAFE_LOW < s < _SAFE_HIGH for s in scales.values()):
            return norm()
        unit = type(self).from_named_arrays(
            {k: a / scales[k] for k, a in arrays.items()}, self._t, self._side, **self.options()
        )
        log_scale = sum(math.log(s) for s in scales.values())
        factor = math.exp(log_scale) if log_scale < 709.0 else math.inf
        return unit._norm_unscaled() * factor

    def __repr__(self):
        extra = "".join(f"{k}={v!r}, " for k, v in self.options().items())
        return (
            f"{type(self).__name__}(shape={self._shape}, ranks={self._ranks}, t={self._t}, "
            f"side={self._side!r}, {extra}n_params={self.n_params}, "
            f"compression_ratio={self.compression_ratio:.3g})"
        )


class _CoreChain(STPFormat):
    """What the chain formats (STT, STR) share: a tuple of 3-d cores and entry access.

    Subclasses set ``self.cores`` and implement ``entries(indices)`` on the validated
    ``(M, N)`` int64 numpy indices that `_checked_indices` returns.
    """

    @property
    def n_params(self):
        """Number of stored parameters (the sizes of the cores, SPEC §4)."""
        return sum(math.prod(g.shape) for g in self.cores)

    def __len__(self):
        return len(self.cores)

    @staticmethod
    def _core_arrays(cores, title):
        """``(xp, arrays)`` of a list of at least two numeric cores of one array library."""
        if not isinstance(cores, (list, tuple)):
            raise TypeError(f"cores must be a list or tuple of arrays; got {type(cores).__name__}")
        if len(cores) < 2:
            raise ValueError(f"an {title} needs at least 2 cores; got {len(cores)}")
        names = [f"cores[{k}]" for k in range(len(cores))]
        xp, arrays = as_arrays(*cores, names=names)
        check_numeric(arrays, names)
        check_nonempty(arrays, names)
        return xp, arrays

    def named_arrays(self):
        """``{"core_0": G_1, "core_1": G_2, …}`` (what `~semitensor.save` writes)."""
        return {f"core_{k}": g for k, g in enumerate(self.cores)}

    @classmethod
    def from_named_arrays(cls, arrays, t, side, **options):
        """Rebuild from `named_arrays` and `options` (validated as ``__init__``)."""
        n = sum(1 for k in arrays if k.startswith("core_"))
        return cls([arrays[f"core_{k}"] for k in range(n)], list(t), side, **options)

    def _checked_indices(self, indices):
        """Validated ``(M, N)`` int64 numpy indices, negatives wrapped."""
        shape = self._shape
        n = len(shape)
        ixp, (idx,) = as_arrays(indices, names=["indices"])
        if not ixp.isdtype(idx.dtype, "integral"):
            raise TypeError(f"indices must be integers; got dtype {idx.dtype}")
        if idx.ndim != 2 or idx.shape[1] != n:
            raise ValueError(
                f"indices must have shape (M, {n}) (one index tuple per row); "
                f"got {tuple(idx.shape)}"
            )
        idx = to_numpy(idx)
        if idx.dtype.kind == "u":
            # Unsigned indices at or above 2^63 would wrap to negative ones (and then
            # count from the end) in int64: check them in their own dtype first.
            too_big = idx >= np.asarray(shape, dtype=np.uint64)
            if too_big.any():
                row, k = (int(v[0]) for v in too_big.nonzero())
                raise ValueError(
                    f"indices[{row}] = {tuple(int(v) for v in idx[row])} is out of range for "
                    f"shape {shape} (index {k} must be in [0, {shape[k] - 1}])"
                )
        idx = idx.astype(np.int64)
        for k, size in enumerate(shape):
            bad = (idx[:, k] < -size) | (idx[:, k] >= size)
            if bad.any():
                row = int(bad.nonzero()[0][0])
                raise ValueError(
                    f"indices[{row}] = {tuple(int(v) for v in idx[row])} is out of range for "
                    f"shape {shape} (index {k} must be in [{-size}, {size - 1}])"
                )
        return idx % np.asarray(shape, dtype=np.int64)

    def __getitem__(self, index):
        n = len(self.cores)
        name = type(self).__name__
        if not isinstance(index, tuple) or len(index) != n:
            raise IndexError(
                f"an {name} of order {n} is indexed by {n} integers, "
                f"e.g. x[{', '.join('0' * n)}]; got {index!r}"
            )
        if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in index):
            raise IndexError(
                f"{name} indices must be integers (slices are not supported; use "
                f"to_tensor()); got {index!r}"
            )
        try:
            return self.entries(np.asarray([index], dtype=np.int64))[0]
        except ValueError as exc:  # out of range: for x[...] that is an IndexError
            raise IndexError(str(exc)) from None

    def __iter__(self):
        # len() counts the cores, so iteration walks them too (x[i, j, k] is an entry).
        return iter(self.cores)

    @property
    def cores(self):
        """The cores (a tuple: replace the format, not its cores, to change them)."""
        return self._cores


def reconstruct(decomposition):
    """Return the full tensor of any decomposition format of the library.

    Parameters
    ----------
    decomposition : STPFormat
        A format object (e.g. `~semitensor.formats.sttu.STTuTensor`).

    Returns
    -------
    array
        ``decomposition.to_tensor()``: same library, dtype and device as its arrays.

    Raises
    ------
    TypeError
        If ``decomposition`` is not one of the library's formats; the message lists
        the supported ones.

    Examples
    --------
    >>> import numpy as np
    >>> from semitensor.formats._base import reconstruct
    >>> from semitensor.formats.sttu import STTuTensor
    >>> rng = np.random.default_rng(0)
    >>> dec = STTuTensor(rng.standard_normal((4, 2)), [rng.standard_normal((3, 2)),
    ...                  rng.standard_normal((2, 1))], t=2)
    >>> reconstruct(dec).shape
    (6, 4)
    """
    if isinstance(decomposition, STPFormat):
        return decomposition.to_tensor()
    raise TypeError(
        f"reconstruct expects a decomposition of this library ({_class_names()}); "
        f"got {type(decomposition).__name__}"
    )


def _class_names():
    return ", ".join(cls.__name__ for cls in _FORMATS.values())


def registered_formats():
    """The format classes of the library, by ``format_name``, in registration order."""
    return dict(_FORMATS)


def format_class(name):
    """The format class whose ``format_name`` is ``name``.

    Raises
    ------
    ValueError
        If no format has that name; the message lists the known names.

    Examples
    --------
    >>> import semitensor
    >>> format_class("stt").__name__
    'STTTensor'
    """
    try:
        return _FORMATS[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(k) for k in _FORMATS)
        raise ValueError(f"unknown decomposition format {name!r}; known formats: {known}") from None


def format_of(obj):
    """The registered class that ``obj`` is an instance of; TypeError otherwise."""
    for cls in _FORMATS.values():
        if isinstance(obj, cls):
            return cls
    raise TypeError(
        f"expected a decomposition of this library ({_class_names()}); got {type(obj).__name__}"
    )
