"""The command's result table: one aligned text line per fit."""

from __future__ import annotations

import numpy as np

__all__ = ["format_table", "result_row"]


def _fmt_t(t):
    if isinstance(t, (tuple, list)):
        return ",".join(str(v) for v in t) if len(set(t)) > 1 else str(t[0] if t else 1)
    return str(t)


_COLUMNS = [
    ("method", "<", lambda r: r["method"]),
    ("ranks", "<", lambda r: ",".join(str(v) for v in r["ranks"])),
    ("t", ">", lambda r: _fmt_t(r["t"])),
    ("params", ">", lambda r: f"{r['params']:,}"),
    ("ratio", ">", lambda r: f"{r['ratio']:.1f}"),
    ("rel. error", ">", lambda r: f"{r['rel_error']:.4f}"),
    ("time (s)", ">", lambda r: f"{r['time']:.2f}"),
]


def format_table(rows):
    """The rows as an aligned text table (header, rule, one line per row)."""
    cells = [[fmt(r) for _, _, fmt in _COLUMNS] for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (h, _, _) in enumerate(_COLUMNS)]
    lines = ["  ".join(f"{h:{a}{w}}" for (h, a, _), w in zip(_COLUMNS, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for c in cells:
        lines.append("  ".join(f"{v:{a}{w}}" for v, (_, a, _), w in zip(c, _COLUMNS, widths)))
    return "\n".join(lines)


def result_row(decomposition, x=None, seconds=float("nan")):
    """The table row of a fitted decomposition (its relative error to ``x`` if unrecorded)."""
    info = getattr(decomposition, "info", None)
    err = info.rel_error if info is not None and info.errors else float("nan")
    if err != err and x is not None:
        full = np.asarray(decomposition.to_tensor())
        err = float(np.linalg.norm(full - x) / np.linalg.norm(x))
    return {
        "method": type(decomposition).title,
        "ranks": decomposition.ranks,
        "t": decomposition.t,
        "params": decomposition.n_params,
        "ratio": decomposition.compression_ratio,
        "rel_error": err,
        "time": seconds,
    }
