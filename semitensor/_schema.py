"""The ``__semitensor__`` record of a saved decomposition: what it holds, how it is checked.

One JSON object: ``library`` ("semitensor"), ``layout`` (the file layout version),
``version`` (of the library that wrote it), ``format`` (a ``format_name``), ``t``,
``side``, ``shape``, ``ranks``, ``options`` (the format's further constructor
keywords, e.g. an STR's ``full_core``; absent in older files, read as none),
``arrays`` (the names of the array members, in order), ``dtype`` and ``fit`` (the fit
report, or null). Every field is type-checked
on reading: a wrong type is a ValueError naming the file and the field, never an
AttributeError, KeyError or TypeError later on.
"""

from __future__ import annotations

import json
import math
import re

from . import _files
from .decomposition.fitinfo import FitInfo

__all__ = ["LAYOUT", "META_KEY", "fit_from_dict", "read_record", "record"]

META_KEY = "__semitensor__"
LAYOUT = 1  # bump when the file layout changes; load refuses layouts it does not know
_MAX_BYTES = 1 << 20  # a real record is a few hundred bytes
_ARRAY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")


def record(decomposition, format_name, arrays, version):
    """The record `semitensor.save` writes for ``decomposition`` and its named ``arrays``."""
    return {
        "library": "semitensor",
        "layout": LAYOUT,
        "version": version,
        "format": format_name,
        "t": list(decomposition.t),
        "side": decomposition.side,
        "shape": list(decomposition.shape),
        "ranks": list(decomposition.ranks),
        "options": dict(decomposition.options()),
        "arrays": list(arrays),
        "dtype": str(next(iter(arrays.values())).dtype),
        "fit": _fit_to_dict(getattr(decomposition, "info", None)),
    }


def read_record(path, archive, version):
    """The validated record of the open archive of ``path`` (ValueError naming the fault)."""
    if f"{META_KEY}.npy" not in set(archive.namelist()):
        raise ValueError(
            f"{path} is not a semitensor file: no {META_KEY} metadata (was it written by "
            "semitensor.save?)"
        )
    header = _files.read_header(path, archive, f"{META_KEY}.npy", META_KEY)
    _, _, shape, _, dtype = header
    if dtype.kind != "U" or shape != () or dtype.itemsize > _MAX_BYTES:
        raise ValueError(
            f"{path}: the {META_KEY} metadata is not a JSON string (got dtype {dtype}, "
            f"shape {shape})"
        )
    text = str(_files.read_member(path, archive, header, META_KEY)[()])
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError(f"{path}: the {META_KEY} metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: the {META_KEY} metadata is not a JSON object")
    for key, kind in (("library", str), ("layout", int), ("format", str), ("side", str)):
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise ValueError(
                f"{path}: the metadata field {key!r} is missing or not a {kind.__name__}"
            )
    if meta["library"] != "semitensor":
        raise ValueError(f"{path} is not a semitensor file (library {meta['library']!r})")
    if meta["layout"] > LAYOUT or meta["layout"] < 1:
        raise ValueError(
            f"{path} uses file layout {meta['layout']}, newer than this semitensor "
            f"({version}, layout {LAYOUT}) can read; upgrade semitensor"
        )
    for key in ("t", "shape", "ranks"):
        _int_list_field(path, meta, key)
    options = meta.setdefault("options", {})
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in options.items()
    ):
        raise ValueError(
            f"{path}: the metadata field 'options' must be an object of int values; got {options!r}"
        )
    names = meta.get("arrays")
    if (
        not isinstance(names, list)
        or not names
        or not all(isinstance(k, str) and _ARRAY_NAME.match(k) for k in names)
        or len(set(names)) != len(names)
    ):
        raise ValueError(
            f"{path}: the metadata field 'arrays' must be a non-empty list of distinct "
            f"array names; got {names!r}"
        )
    for key in ("version", "dtype"):
        if not isinstance(meta.get(key, ""), str):
            raise ValueError(f"{path}: the metadata field {key!r} is not a str")
    return meta


def _int_list_field(path, meta, key):
    value = meta.get(key)
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    ):
        raise ValueError(
            f"{path}: the metadata field {key!r} is missing or not a list of positive ints"
        )


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


def _fit_field(path, fit, key, ok, rule, default):
    value = fit.get(key, default)
    if not ok(value):
        raise ValueError(f"{path}: the fit report field {key!r} must be {rule}; got {value!r}")
    return value


def fit_from_dict(path, fit):
    """The FitInfo of a file's ``fit`` record (None if it has none); ValueError if malformed."""
    if fit is None:
        return None
    if not isinstance(fit, dict):
        raise ValueError(f"{path}: the metadata field 'fit' must be an object or null")

    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    def is_number(v):
        return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))

    method = _fit_field(path, fit, "method", lambda v: isinstance(v, str), "a str", None)
    n_iter = _fit_field(path, fit, "n_iter", lambda v: is_int(v) and v >= 0, "an int >= 0", 0)
    converged = _fit_field(path, fit, "converged", lambda v: isinstance(v, bool), "a bool", False)
    stop = _fit_field(path, fit, "stop_reason", lambda v: isinstance(v, str), "a str", "")
    errors = _fit_field(
        path,
        fit,
        "errors",
        lambda v: isinstance(v, list) and all(is_number(e) for e in v),
        "a list of numbers",
        [],
    )
    ranks_used = _fit_field(
        path,
        fit,
        "ranks_used",
        lambda v: v is None or (isinstance(v, list) and all(is_int(r) and r > 0 for r in v)),
        "null or a list of positive ints",
        None,
    )
    return FitInfo(
        method=method,
        n_iter=n_iter,
        converged=converged,
        stop_reason=stop,
        errors=[math.nan if e is None else float(e) for e in errors],
        ranks_used=None if ranks_used is None else tuple(ranks_used),
    )
