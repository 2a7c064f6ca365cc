"""The decomposition formats the library knows, one entry each.

`semitensor.save` / `semitensor.load`, the ``semitensor`` command and its demo read
this table instead of naming the formats themselves, so a new format is one entry in
`FORMATS`. An entry names its class and fitting function by import path (imported on
first use), says how to list its arrays and rebuild it from them, and names its
TensorLy twin (the classical decomposition it generalises, used by the demo).

Nothing here imports torch, numba or tensorly.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

__all__ = ["FormatEntry", "FORMATS", "get_format", "format_of", "available_formats"]


def _import(path):
    """``"package.module:attr"`` -> the attribute (ImportError if the module is missing)."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class FormatEntry:
    """One decomposition format.

    Attributes
    ----------
    name : str
        Short name used in files and on the command line (``"sttu"``).
    title : str
        Display name (``"STTu"``).
    cls_path, decompose_path : str
        ``"module:attribute"`` of the format class and of its fitting function
        ``decompose(tensor, ranks, t, *, side, eps, random_state, callback, ...)``.
    arrays : callable
        ``arrays(obj) -> dict`` of named arrays that determine the format (in order).
    rebuild : callable
        ``rebuild(cls, arrays, t, side) -> obj``: the inverse of ``arrays``.
    twin : str
        The TensorLy decomposition it generalises: ``"tucker"``, ``"tt"`` or ``"tr"``.
    demo_ranks : tuple
        Ranks for the demo's 64×64×200 tensor, one per budget level (with ``t=2``).
    """

    name: str
    title: str
    cls_path: str
    decompose_path: str
    arrays: Callable
    rebuild: Callable
    twin: str
    demo_ranks: tuple

    @property
    def available(self):
        """Whether the format's modules can be imported in this installation."""
        try:
            _import(self.cls_path)
            _import(self.decompose_path)
        except (ImportError, AttributeError):
            return False
        return True

    @property
    def cls(self):
        """The format class (imported on first use)."""
        return _import(self.cls_path)

    @property
    def decompose(self):
        """The fitting function (imported on first use)."""
        return _import(self.decompose_path)


def _tucker_arrays(obj):
    out = {"core": obj.core}
    out.update({f"factor_{n}": u for n, u in enumerate(obj.factors)})
    return out


def _tucker_rebuild(cls, arrays, t, side):
    n = sum(1 for k in arrays if k.startswith("factor_"))
    return cls(arrays["core"], [arrays[f"factor_{k}"] for k in range(n)], list(t), side)


def _cores_arrays(obj):
    return {f"core_{k}": g for k, g in enumerate(obj.cores)}


def _cores_rebuild(cls, arrays, t, side):
    n = sum(1 for k in arrays if k.startswith("core_"))
    return cls([arrays[f"core_{k}"] for k in range(n)], list(t), side)


FORMATS = {
    entry.name: entry
    for entry in (
        FormatEntry(
            "sttu",
            "STTu",
            "semitensor.formats.sttu:STTuTensor",
            "semitensor.decomposition.sttu:sttu_decompose",
            _tucker_arrays,
            _tucker_rebuild,
            "tucker",
            ((16, 16, 8), (32, 32, 16), (48, 48, 32)),
        ),
        FormatEntry(
            "stt",
            "STT",
            "semitensor.formats.stt:STTTensor",
            "semitensor.decomposition.stt:stt_decompose",
            _cores_arrays,
            _cores_rebuild,
            "tt",
            ((8, 8), (16, 16), (32, 32)),
        ),
        FormatEntry(
            "str",
            "STR",
            "semitensor.formats.str:STRTensor",
            "semitensor.decomposition.str:str_decompose",
            _cores_arrays,
            _cores_rebuild,
            "tr",
            ((4, 8, 8), (8, 16, 16), (16, 32, 32)),
        ),
    )
}


def get_format(name):
    """The entry called ``name``; ValueError naming the known formats otherwise."""
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(k) for k in FORMATS)
        raise ValueError(f"unknown decomposition format {name!r}; known formats: {known}") from None


def format_of(obj):
    """The entry whose class ``obj`` is an instance of; TypeError otherwise."""
    for entry in FORMATS.values():
        if entry.available and isinstance(obj, entry.cls):
            return entry
    names = ", ".join(e.cls_path.rpartition(":")[2] for e in FORMATS.values() if e.available)
    raise TypeError(f"expected a decomposition of this library ({names}); got {type(obj).__name__}")


def available_formats():
    """The entries whose modules are importable, in registry order."""
    return [entry for entry in FORMATS.values() if entry.available]
