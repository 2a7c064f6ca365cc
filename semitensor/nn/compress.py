"""`compress_linear_layers`: model surgery that swaps `torch.nn.Linear` for STP layers."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from .._validation import check_callback, check_nonnegative_int, check_positive_int
from ._base import resolve_format
from ._layout import factorize
from .linear import layer_class

__all__ = ["CompressionReport", "compress_linear_layers"]


@dataclass
class CompressionReport:
    """What `compress_linear_layers` did.

    Attributes
    ----------
    layers : list of dict
        One entry per `torch.nn.Linear` (or subclass) looked at: ``name``,
        ``in_features``, ``out_features``, ``params_before``, ``params_after`` (equal
        when skipped), ``rel_error`` (of the weight; ``None`` when skipped) and
        ``skipped`` (the reason, or ``None``).
    params_before, params_after : int
        Parameters of the whole model before and after.
    accuracy_before, accuracy_after : float or None
        Set by `compress_model` when it was given data.
    model : torch.nn.Module or None
        Set by `compress_model`: the compressed model (the new layer when the model
        was itself a Linear or Conv2d).
    """

    layers: list = field(default_factory=list)
    params_before: int = 0
    params_after: int = 0
    accuracy_before: float | None = None
    accuracy_after: float | None = None
    model: object = None

    @property
    def compression_ratio(self):
        """``params_before / params_after`` for the whole model."""
        return self.params_before / self.params_after if self.params_after else float("nan")

    def __str__(self):
        lines = [f"{'layer':<20} {'in':>6} {'out':>6} {'before':>9} {'after':>9}  note"]
        for e in self.layers:
            note = e["skipped"] or f"rel_error {e['rel_error']:.3g}"
            if e.get("ranks") is not None:
                note += f", ranks {list(e['ranks'])}"
            lines.append(
                f"{e['name']:<20} {e['in_features']:>6} {e['out_features']:>6} "
                f"{e['params_before']:>9} {e['params_after']:>9}  {note}"
            )
        lines.append(
            f"total: {self.params_before} -> {self.params_after} parameters "
            f"({self.compression_ratio:.3g}x)"
        )
        if self.accuracy_before is not None:
            lines.append(f"accuracy: {self.accuracy_before:.4f} -> {self.accuracy_after:.4f}")
        return "\n".join(lines)


def _skip_reason(linear, min_params):
    """Why ``linear`` is left alone before its shapes are looked at, or None."""
    if type(linear) is not nn.Linear:
        # A subclass may change forward or be read by its owner (MultiheadAttention's
        # out_proj, LazyLinear before its first call): replacing it is not safe.
        return f"a subclass of torch.nn.Linear ({type(linear).__name__}), not replaced"
    if linear.in_features * linear.out_features < min_params:
        return f"weight has fewer than min_params={min_params} entries"
    return None


def _probe_reason(linear, cls, fmt, in_shape, out_shape, ranks, t, side):
    """Why the STP layer cannot replace ``linear``, or None (a parameter-free meta probe)."""
    try:
        probe = cls(
            linear.in_features, linear.out_features, in_shape, out_shape, ranks, t, side,
            bias=linear.bias is not None, device="meta",
        )  # fmt: skip
    except (TypeError, ValueError) as exc:
        return f"cannot factorise: {exc}"
    before = sum(p.numel() for p in linear.parameters())
    if probe.n_params >= before:
        return f"{fmt} layer would not be smaller ({probe.n_params} parameters)"
    return None


def compress_linear_layers(
    model,
    format=None,
    ranks=8,
    t=2,
    *,
    d=2,
    min_params=4096,
    shapes=None,
    side="left",
    method=None,
    **fit,
):
    """Replace, in place, every large `torch.nn.Linear` inside ``model`` by an STP layer.

    Parameters
    ----------
    model : torch.nn.Module
        Modified in place: each compressed `torch.nn.Linear` child (at any depth) is
        replaced by the result of ``from_linear``. ``model`` itself cannot be
        replaced in place: a bare `torch.nn.Linear` is refused (wrap it in
        `torch.nn.Sequential`, or call ``STTLinear.from_linear`` directly).
    format : {"stt", "str", "sttu"}, default "stt"
    ranks : int or sequence, default 8
        Passed to ``from_linear`` for every layer.
    t : int, default 2
    d : int, default 2
        Number of factors of each size (``factorize(in, d)``, ``factorize(out, d)``).
    min_params : int, default 4096
        Layers whose weight has fewer entries are left alone.
    shapes : callable, optional
        ``shapes(name, linear) -> (in_shape, out_shape)`` instead of `factorize`.
    side : {"left", "right"}, default "left"
    method : str, optional
        Deprecated name of ``format`` (a `DeprecationWarning`; not both). While it is
        accepted, `sttu_decompose`'s own ``method`` cannot be passed through ``fit``.
    **fit
        Passed to the decomposition (``n_iter_max``, ``tol``, ``random_state``...).

    Returns
    -------
    CompressionReport
        Per layer and whole-model parameter counts. Skipped, with the reason: layers
        below ``min_params``, layers that cannot take the requested shapes, ranks or
        ``t``, layers whose STP replacement would not be smaller, and subclasses of
        `torch.nn.Linear` (their ``forward`` or their owner may rely on them).

    Raises
    ------
    TypeError
        If ``model`` is not a `torch.nn.Module`, or is itself a `torch.nn.Linear`;
        if ``format`` and ``method`` are both given.
    ValueError
        If ``format`` is unknown.

    Examples
    --------
    >>> import torch
    >>> from semitensor.nn import compress_linear_layers, STTLinear
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
    ...                             torch.nn.Linear(64, 10))
    >>> report = compress_linear_layers(model, "stt", ranks=4, t=2, min_params=1000,
    ...                                 random_state=0, tol=1e-4)
    >>> isinstance(model[0], STTLinear), isinstance(model[2], torch.nn.Linear)
    (True, True)
    >>> report.params_after < report.params_before
    True
    """
    fmt = resolve_format(format, method)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if isinstance(model, nn.Linear):
        raise TypeError(
            f"model is itself a {type(model).__name__}, which cannot be replaced in place; "
            "wrap it (torch.nn.Sequential(model)) or use STTLinear.from_linear (or the "
            "STR/STTu twin) to get the new layer"
        )
    check_positive_int(d, "d")
    check_nonnegative_int(min_params, "min_params")
    check_callback(shapes, "shapes")
    cls = layer_class(fmt)
    report = CompressionReport(params_before=sum(p.numel() for p in model.parameters()))
    targets = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    for name, linear in targets:
        before = sum(p.numel() for p in linear.parameters())
        entry = {
            "name": name,
            "in_features": linear.in_features,
            "out_features": linear.out_features,
            "params_before": before,
            "params_after": before,
            "rel_error": None,
            "skipped": None,
        }
        report.layers.append(entry)
        entry["skipped"] = _skip_reason(linear, min_params)
        if entry["skipped"]:
            continue
        if shapes is not None:
            in_shape, out_shape = shapes(name, linear)
        else:
            in_shape = factorize(linear.in_features, d)
            out_shape = factorize(linear.out_features, d)
        entry["skipped"] = _probe_reason(linear, cls, fmt, in_shape, out_shape, ranks, t, side)
        if entry["skipped"]:
            continue
        layer = cls.from_linear(linear, in_shape, out_shape, ranks, t, side=side, **fit)
        entry["params_after"] = layer.n_params
        entry["rel_error"] = float(layer.init_info.rel_error) if layer.init_info else None
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, layer)
    report.params_after = sum(p.numel() for p in model.parameters())
    return report
