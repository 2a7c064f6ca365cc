"""Saving and loading decompositions: one ``.npz`` file with the arrays and the metadata.

The file holds the arrays of the format under fixed names (``core``, ``factor_0``, …
for STTu; ``core_0``, ``core_1``, … for STT and STR) and one JSON string under
``__semitensor__``: the format name, ``t``, the side, the shape and ranks, the library
version, the file layout version and, for fitted results, the fit report. It is read
with ``allow_pickle=False``, so loading never runs code from the file.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile

import numpy as np

from ._namespace import to_numpy
from .decomposition.fitinfo import FitInfo
from .formats import format_class, format_of

# read_metadata is public (the command uses it) but joins __all__ only once docs/api.md
# lists it (tests/test_docs.py checks that every name in __all__ is documented).
__all__ = ["save", "load"]

_META_KEY = "__semitensor__"
_LAYOUT = 1  # bump when the file layout changes; load refuses layouts it does not know


def save(decomposition, path, *, overwrite=True):
    """Write a decomposition to one ``.npz`` file.

    Parameters
    ----------
    decomposition : STTuTensor, STTTensor or STRTensor
        Any format of the library, numpy- or torch-based (torch tensors are copied to
        numpy on the CPU; the gradient history is not saved).
    path : str or os.PathLike
        Destination, written exactly as given (no suffix is added; ``.npz`` is the
        convention).
    overwrite : bool, default True
        If False, an existing ``path`` is a `FileExistsError`.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    TypeError
        If ``decomposition`` is not a format of this library.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    OSError
        If the file cannot be written; no partial file is left behind.

    Notes
    -----
    The arrays are written to a temporary file in the destination directory, which is
    then renamed to ``path`` (`os.replace`, atomic on POSIX and Windows): a crash or a
    full disk leaves either the old file or none, never half a file. The fit report
    (``decomposition.info``) is stored with the metadata and restored by `load`.

    Examples
    --------
    >>> import os, tempfile, numpy as np, semitensor as st
    >>> rng = np.random.default_rng(0)
    >>> dec = st.sttu_decompose(rng.standard_normal((8, 6, 4)), ranks=[4, 2, 2], t=2)
    >>> path = os.path.join(tempfile.mkdtemp(), "x.npz")
    >>> _ = st.save(dec, path)
    >>> back = st.load(path)
    >>> back.ranks == dec.ranks and bool(np.allclose(back.to_tensor(), dec.to_tensor()))
    True
    """
    cls = format_of(decomposition)
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists; pass overwrite=True (--force) to replace it")
    arrays = {k: np.ascontiguousarray(to_numpy(v)) for k, v in decomposition.named_arrays().items()}
    meta = {
        "library": "semitensor",
        "layout": _LAYOUT,
        "version": _version(),
        "format": cls.format_name,
        "t": list(decomposition.t),
        "side": decomposition.side,
        "shape": list(decomposition.shape),
        "ranks": list(decomposition.ranks),
        "arrays": list(arrays),
        "dtype": str(next(iter(arrays.values())).dtype),
        "fit": _fit_to_dict(getattr(decomposition, "info", None)),
    }
    arrays[_META_KEY] = np.array(json.dumps(meta))
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load(path, *, like=None):
    """Read a decomposition written by `save`, validating it.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by `save`.
    like : array, optional
        An array whose library and device the result's arrays should use (e.g. a
        torch tensor on a GPU). Default: numpy arrays, whatever library the saved
        decomposition used.

    Returns
    -------
    STTuTensor, STTTensor or STRTensor
        The format named in the file, with its fit report (``info``) restored when the
        file has one.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a semitensor file (not an ``.npz`` archive, no metadata),
        is truncated or corrupt, has an unknown format or layout version, misses an
        array, holds NaN/Inf, or its arrays disagree with the metadata (shape, ranks,
        ``t``) or do not form a valid format. The message names the file and the fault.

    Examples
    --------
    >>> import os, tempfile, semitensor as st
    >>> path = os.path.join(tempfile.mkdtemp(), "bad.npz")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(b"not an archive")
    >>> st.load(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...bad.npz is not a semitensor file: not an .npz archive
    """
    return _load(path, like)[0]


def read_metadata(path):
    """The metadata of a file written by `save`, validated as `load` validates it.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by `save`.

    Returns
    -------
    dict
        The ``__semitensor__`` record: ``format``, ``t``, ``side``, ``shape``,
        ``ranks``, ``arrays`` (the array names), ``dtype``, ``version`` (of the
        library that wrote it), ``layout`` and ``fit`` (the fit report or None).

    Raises
    ------
    FileNotFoundError, ValueError
        As `load`.

    Examples
    --------
    >>> import os, tempfile, numpy as np, semitensor as st
    >>> dec = st.STTTensor([np.ones((1, 3, 2)), np.ones((2, 4, 1))], t=1)
    >>> path = os.path.join(tempfile.mkdtemp(), "x.npz")
    >>> _ = st.save(dec, path)
    >>> meta = st.io.read_metadata(path)
    >>> meta["format"], meta["shape"], meta["arrays"]
    ('stt', [3, 4], ['core_0', 'core_1'])
    """
    return _load(path)[1]


def _load(path, like=None):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(4)
        if head == b"PK\x03\x04":  # a zip that lost its end: cut short while copying
            raise ValueError(f"{path} is truncated or corrupt (an incomplete .npz archive)")
        raise ValueError(f"{path} is not a semitensor file: not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {k: data[k] for k in data.files}
    except Exception as exc:  # zipfile, zlib, numpy format errors: all mean a bad file
        raise ValueError(f"{path} is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    meta = _read_meta(path, contents)
    cls = _class_in_file(path, meta)
    missing = [k for k in meta["arrays"] if k not in contents]
    if missing:
        raise ValueError(f"{path} is incomplete: missing array(s) {', '.join(missing)}")
    arrays = {k: contents[k] for k in meta["arrays"]}
    for k, a in arrays.items():
        if a.dtype.kind not in "fiuc":
            raise ValueError(f"{path}: array {k} has non-numeric dtype {a.dtype}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{path}: array {k} holds NaN or Inf values")
    if like is not None:
        from ._namespace import resolve_like

        xp, device, _ = resolve_like(like)
        arrays = {k: xp.asarray(a, device=device) for k, a in arrays.items()}
    try:
        obj = cls.from_named_arrays(arrays, meta["t"], meta["side"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the arrays do not form a valid {cls.title}: {exc}") from None
    for key in ("shape", "ranks", "t"):
        if list(getattr(obj, key)) != list(meta[key]):
            raise ValueError(
                f"{path}: the arrays give {key} {tuple(getattr(obj, key))} but the metadata "
                f"says {tuple(meta[key])}; the file is mismatched"
            )
    obj.info = _fit_from_dict(meta.get("fit"))
    return obj, meta


def _class_in_file(path, meta):
    """The format class named by a file's metadata (ValueError if unknown)."""
    try:
        return format_class(meta["format"])
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _read_meta(path, contents):
    if _META_KEY not in contents:
        raise ValueError(
            f"{path} is not a semitensor file: no {_META_KEY} metadata (was it written by "
            "semitensor.save?)"
        )
    try:
        meta = json.loads(str(contents[_META_KEY]))
    except (TypeError, ValueError):
        raise ValueError(f"{path}: the {_META_KEY} metadata is not valid JSON") from None
    required = {
        "library": str,
        "layout": int,
        "format": str,
        "t": list,
        "side": str,
        "shape": list,
        "ranks": list,
        "arrays": list,
    }
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: the {_META_KEY} metadata is not a JSON object")
    for key, kind in required.items():
        if not isinstance(meta.get(key), kind):
            raise ValueError(
                f"{path}: the metadata field {key!r} is missing or not a {kind.__name__}"
            )
    if meta["library"] != "semitensor":
        raise ValueError(f"{path} is not a semitensor file (library {meta['library']!r})")
    if meta["layout"] > _LAYOUT:
        raise ValueError(
            f"{path} uses file layout {meta['layout']}, newer than this semitensor "
            f"({_version()}, layout {_LAYOUT}) can read; upgrade semitensor"
        )
    return meta


def _fit_to_dict(info):
    if info is None:
        return None
    out = {}
    for key in ("method", "n_iter", "converged", "stop_reason", "errors"):
        value = getattr(info, key, None)
        out[key] = [float(e) for e in value] if key == "errors" else value
    value = getattr(info, "ranks_used", None)
    out["ranks_used"] = None if value is None else [int(v) for v in value]
    return out


def _fit_from_dict(fit):
    if not isinstance(fit, dict) or not isinstance(fit.get("method"), str):
        return None
    errors = [float(e) if e is not None else math.nan for e in fit.get("errors") or []]
    ranks_used = fit.get("ranks_used")
    return FitInfo(
        method=fit["method"],
        n_iter=int(fit.get("n_iter") or 0),
        converged=bool(fit.get("converged")),
        stop_reason=str(fit.get("stop_reason") or ""),
        errors=errors,
        ranks_used=tuple(ranks_used) if isinstance(ranks_used, list) else None,
    )


def _version():
    from . import __version__

    return __version__
