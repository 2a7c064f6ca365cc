"""Saving and loading decompositions: one ``.npz`` file with the arrays and the metadata.

The file holds the arrays of the format under the names its `named_arrays` gives
(``core``, ``factor_0``, … for STTu; ``core_0``, ``core_1``, … for STT and STR) and
one JSON string under ``__semitensor__``: the format name, ``t``, the side, the shape
and ranks, the library version, the file layout version and, for fitted results, the
fit report. `save` and `load` go through the formats' registry (`format_of`,
`format_class`), so a new format needs nothing here.

`load` reads the metadata first and then only the arrays it names; it checks every
array header against the metadata before reading a byte of data and never unpickles,
so a crafted file costs no more memory than the decomposition it claims to be and
fails with a `ValueError` that names the file and the fault. `read_metadata` (the
record alone) and `save_array` (a plain ``.npy`` with `save`'s guarantees) serve the
``semitensor`` command.
"""

from __future__ import annotations

import json

import numpy as np

from . import _files, _schema
from ._namespace import to_numpy
from ._validation import check_bool, check_path
from .formats import format_class, format_of

__all__ = ["save", "load", "read_metadata", "save_array"]


def save(decomposition, path, *, overwrite=True):
    """Write a decomposition to one ``.npz`` file.

    Parameters
    ----------
    decomposition : STTuTensor, STTTensor or STRTensor
        Any format of the library, numpy- or torch-based (torch tensors are copied to
        numpy on the CPU; the gradient history is not saved).
    path : str, bytes or os.PathLike
        Destination, written exactly as given (no suffix is added; ``.npz`` is the
        convention). A symlink is written through: its target is replaced.
    overwrite : bool, default True
        If False, an existing ``path`` is a `FileExistsError`.

    Returns
    -------
    str
        The path written (as given, decoded if it was bytes).

    Raises
    ------
    TypeError
        If ``decomposition`` is not a format of this library, ``path`` is not a path
        or ``overwrite`` is not a bool.
    ValueError
        If ``path`` is empty.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False (also when another process
        creates it during the write: exactly one of concurrent writers wins).
    IsADirectoryError
        If ``path`` is a directory.
    OSError
        If the file cannot be written; the message names ``path``, and no partial
        file is left behind.

    Notes
    -----
    The arrays go to a hidden temporary file in the destination directory
    (``.<name>.semitensor-tmp-<pid>-<random>``), which is then renamed onto ``path``
    (`os.replace`, atomic on POSIX and Windows), or hard-linked to it when
    ``overwrite`` is False: a crash or a full disk leaves either the old file or
    none, never half a file. The temporary file is removed on any error and on
    SIGTERM (the signal is then re-delivered); one left by SIGKILL or a power cut is
    removed by a later save to the same path once it is ten minutes old. A new file
    gets the permissions the umask gives any new file; a replaced file keeps its
    permissions. The fit report (``decomposition.info``) is stored with the metadata
    and restored by `load`.

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
    path = check_path(path)
    check_bool(overwrite, "overwrite")
    arrays = {k: np.ascontiguousarray(to_numpy(v)) for k, v in decomposition.named_arrays().items()}
    meta = _schema.record(decomposition, cls.format_name, arrays, _version())
    arrays[_schema.META_KEY] = np.array(json.dumps(meta))
    return _files.atomic_write(path, lambda f: np.savez(f, **arrays), overwrite=overwrite)


def save_array(array, path, *, overwrite=True):
    """Write one numpy array to a ``.npy`` file with `save`'s guarantees.

    Atomic (never a half-written file), umask permissions, symlinks written through,
    ``overwrite=False`` exclusive, errors naming ``path``: see `save`.

    Parameters
    ----------
    array : array_like
        Written with `numpy.save` (``allow_pickle=False``).
    path : str, bytes or os.PathLike
        Destination, written exactly as given.
    overwrite : bool, default True
        If False, an existing ``path`` is a `FileExistsError`.

    Returns
    -------
    str
        The path written.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from semitensor.io import save_array
    >>> path = save_array(np.eye(2), os.path.join(tempfile.mkdtemp(), "eye.npy"))
    >>> bool((np.load(path) == np.eye(2)).all())
    True
    """
    path = check_path(path)
    check_bool(overwrite, "overwrite")
    array = np.asarray(array)
    return _files.atomic_write(
        path, lambda f: np.save(f, array, allow_pickle=False), overwrite=overwrite
    )


def load(path, *, like=None):
    """Read a decomposition written by `save`, validating it.

    Parameters
    ----------
    path : str, bytes or os.PathLike
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
    TypeError
        If ``path`` is not a path.
    FileNotFoundError
        If ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a directory.
    OSError
        If ``path`` cannot be read (e.g. no permission); the message names it.
    ValueError
        If ``path`` is empty, or the file is not a semitensor file (not an ``.npz``
        archive, no metadata), is truncated or corrupt, has an unknown format or
        layout version, misses an array, holds a pickled (object) or non-numeric
        array, NaN or Inf, or its arrays disagree with the metadata (shape, ranks,
        ``t``) or do not form a valid format. The message names the file and the
        fault. A crafted file fails the same way: it never raises anything else.

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
    path = check_path(path)
    with _files.open_archive(path) as archive:
        meta = _schema.read_record(path, archive, _version())
        cls = _class_in_file(path, meta)
        headers = _headers(path, archive, meta)
        # Build the format from zero-stride stand-ins first: its own shape rules then
        # vet every header against the metadata before any data is read.
        stand_ins = {k: np.broadcast_to(np.zeros((), h[4]), h[2]) for k, h in headers.items()}
        _rebuild(path, cls, stand_ins, meta)
        arrays = {k: _files.read_member(path, archive, h, k) for k, h in headers.items()}
    for k, a in arrays.items():
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{path}: array {k} holds NaN or Inf values")
    if like is not None:
        from ._namespace import resolve_like

        xp, device, _ = resolve_like(like)
        arrays = {k: xp.asarray(a, device=device) for k, a in arrays.items()}
    obj = _rebuild(path, cls, arrays, meta)
    obj.info = _schema.fit_from_dict(path, meta.get("fit"))
    return obj


def read_metadata(path):
    """The metadata of a file written by `save`, validated as `load` validates it.

    Reads the metadata record only, not the arrays.

    Parameters
    ----------
    path : str, bytes or os.PathLike
        A file written by `save`.

    Returns
    -------
    dict
        The ``__semitensor__`` record: ``format``, ``t``, ``side``, ``shape``,
        ``ranks``, ``options`` (e.g. an STR's ``full_core``), ``arrays`` (the array
        names), ``dtype``, ``version`` (of the library that wrote it), ``layout`` and
        ``fit`` (the fit report or None).

    Raises
    ------
    TypeError, FileNotFoundError, IsADirectoryError, OSError, ValueError
        As `load`, for the faults of the file itself and of its metadata.

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
    path = check_path(path)
    with _files.open_archive(path) as archive:
        meta = _schema.read_record(path, archive, _version())
        _class_in_file(path, meta)
        _schema.fit_from_dict(path, meta.get("fit"))
        return meta


def _rebuild(path, cls, arrays, meta):
    """The format from its named arrays, checked against the metadata."""
    try:
        obj = cls.from_named_arrays(arrays, meta["t"], meta["side"], **meta["options"])
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError(f"{path}: the arrays do not form a valid {cls.title}: {exc}") from None
    for key in ("shape", "ranks", "t"):
        if list(getattr(obj, key)) != list(meta[key]):
            raise ValueError(
                f"{path}: the arrays give {key} {tuple(getattr(obj, key))} but the metadata "
                f"says {tuple(meta[key])}; the file is mismatched"
            )
    if list(obj.named_arrays()) != list(arrays):
        raise ValueError(
            f"{path}: the metadata lists arrays {', '.join(arrays)} but an {cls.title} of "
            f"this shape has {', '.join(obj.named_arrays())}; the file is mismatched"
        )
    return obj


def _headers(path, archive, meta):
    """The header of every array the metadata names (missing ones: ValueError)."""
    members = set(archive.namelist())
    missing = [k for k in meta["arrays"] if f"{k}.npy" not in members]
    if missing:
        raise ValueError(f"{path} is incomplete: missing array(s) {', '.join(missing)}")
    headers = {}
    for k in meta["arrays"]:
        headers[k] = _files.read_header(path, archive, f"{k}.npy", k)
        dtype = headers[k][4]
        if dtype.kind not in "fiuc" or dtype.fields is not None or dtype.subdtype is not None:
            raise ValueError(f"{path}: array {k} has non-numeric dtype {dtype}")
    return headers


def _class_in_file(path, meta):
    """The format class named by a file's metadata (ValueError if unknown)."""
    try:
        return format_class(meta["format"])
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _version():
    from . import __version__

    return __version__
