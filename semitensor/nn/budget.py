"""`compress_model`: every Linear and Conv2d of a model to STP layers, by a budget.

Where `compress_linear_layers` takes one rank for all layers, `compress_model` takes
what a user asks for — a compression ratio or a total parameter budget — and finds a
rank per layer: each replaced layer gets the largest uniform rank (capped per bond at
what the decomposition can use) whose layer is at most ``1/ratio`` of the dense one;
with ``budget`` the ratio is the smallest that brings the model under it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_positive_int
from ._base import resolve_format
from ._layout import factorize
from .compress import CompressionReport
from .conv import STPConv2d
from .linear import layer_class

__all__ = ["compress_model"]

# Subclasses whose owner reads their weight directly (MultiheadAttention's out_proj).
_UNSAFE = ("NonDynamicallyQuantizableLinear",)


def _shapes(module, d):
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size[0] * module.kernel_size[1]
        cin = module.in_channels // module.groups
        in_shape = (*factorize(cin, d - 1), k) if d > 1 else (cin * k,)
        return in_shape, factorize(module.out_channels, d)
    return factorize(module.in_features, d), factorize(module.out_features, d)


def _ranks(fmt, modes, r, t):
    """Uniform rank ``r``, capped per bond at the largest useful one (``t`` × unfolding rank)."""
    n = len(modes)
    if fmt == "sttu":
        ts = [t if m % t == 0 else 1 for m in modes]
        return [max(tk, min(r, m) // tk * tk) for m, tk in zip(modes, ts)], ts
    caps = [t * min(math.prod(modes[: k + 1]), math.prod(modes[k + 1 :])) for k in range(n - 1)]
    bonds = [min(r, c) for c in caps]
    if fmt == "str":
        bonds = [min(r, t * min(modes[0], modes[-1])), *bonds]
    return bonds, t


def _candidates(fmt, cls, in_shape, out_shape, t):
    """``[(n_params, ranks, t)]`` for the layer, by increasing uniform rank (meta probes)."""
    modes = [s for pair in zip(in_shape, out_shape) for s in pair]
    n_in, n_out = math.prod(in_shape), math.prod(out_shape)
    out, seen = [], set()
    for r in range(t, 4 * max(modes) * t + 1, t):
        ranks, ts = _ranks(fmt, modes, r, t)
        if tuple(ranks) in seen:
            continue
        seen.add(tuple(ranks))
        try:
            probe = cls(n_in, n_out, in_shape, out_shape, ranks, ts, bias=False, device="meta")
        except (TypeError, ValueError):
            continue
        out.append((probe.n_params, ranks, ts))
    return out


def _accuracy(model, data):
    x, y = data
    was = model.training
    model.eval()
    with torch.no_grad():
        acc = float((model(x).argmax(-1) == y).float().mean())
    model.train(was)
    return acc


def compress_model(
    model, format=None, *, ratio=None, budget=None, t=2, d=3, min_params=4096, side="left",
    data=None, **fit,
):  # fmt: skip
    """Replace the `torch.nn.Linear` and `torch.nn.Conv2d` layers of ``model`` by STP layers.

    Parameters
    ----------
    model : torch.nn.Module
        Modified in place. When ``model`` is itself a Linear or Conv2d, the new layer
        is returned in ``report.model`` (a module cannot replace itself).
    format : {"stt", "str", "sttu"}, default "stt"
    ratio : float, optional
        Each replaced layer gets at most ``1/ratio`` of its dense parameters.
    budget : int, optional
        Total parameters of the model after compression (instead of ``ratio``): the
        smallest per-layer ratio that meets it.
    t : int, default 2
        STP factor (``t = 1``: the classical TT, TR or Tucker twin).
    d : int, default 3
        Factors per size: a Linear's sizes by `factorize`; a Conv2d's input side
        is ``factorize(in_channels/groups, d - 1) + (kh·kw,)``.
    min_params : int, default 4096
        Layers with fewer weight entries are left alone.
    side : {"left", "right"}, default "left"
    data : pair of tensors, optional
        ``(x, labels)``: the report then holds the accuracy (``argmax``) before and
        after.
    **fit
        Passed to the decompositions (``random_state``, ``n_iter_max``, ``tol``).

    Returns
    -------
    CompressionReport
        Per layer: name, sizes, parameters before and after, ranks, relative error,
        skip reason; whole model: parameters, ``accuracy_before``/``accuracy_after``
        (None without ``data``) and ``model``.

    Raises
    ------
    TypeError
        If ``model`` is not a module; if both or neither of ``ratio`` and ``budget``
        are given.
    ValueError
        If ``ratio`` is not above 1, ``budget`` not positive, or ``format`` unknown.

    Examples
    --------
    >>> import torch
    >>> from semitensor.nn import compress_model
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(16, 32, 3), torch.nn.Flatten(),
    ...                             torch.nn.Linear(32 * 4, 64))
    >>> report = compress_model(model, "stt", ratio=4, random_state=0, n_iter_max=50,
    ...                         tol=0.05)
    >>> [type(m).__name__ for m in model][::2]
    ['STPConv2d', 'STTLinear']
    >>> report.compression_ratio > 2
    True
    """
    fmt = resolve_format(format, None)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if (ratio is None) == (budget is None):
        raise TypeError("give exactly one of ratio= (per layer) and budget= (whole model)")
    if ratio is not None and not (isinstance(ratio, (int, float)) and ratio > 1):
        raise ValueError(f"ratio must be a number above 1; got {ratio!r}")
    if budget is not None:
        check_positive_int(budget, "budget")
    check_positive_int(d, "d")
    cls = layer_class(fmt)
    report = CompressionReport(params_before=sum(p.numel() for p in model.parameters()))
    report.accuracy_before = _accuracy(model, data) if data is not None else None
    plans = []
    for name, m in model.named_modules():
        if not isinstance(m, (nn.Linear, nn.Conv2d)) or isinstance(m, nn.Conv3d):
            continue
        n_in = m.weight[0].numel()  # in_features, or in_channels/groups·kh·kw
        entry = {"name": name, "kind": type(m).__name__, "in_features": n_in,
                 "out_features": m.weight.shape[0], "params_before": m.weight.numel(),
                 "params_after": m.weight.numel(), "ranks": None, "rel_error": None,
                 "skipped": None}  # fmt: skip
        report.layers.append(entry)
        if type(m).__name__ in _UNSAFE or nn.parameter.is_lazy(m.weight):
            entry["skipped"] = f"{type(m).__name__}: its owner reads the weight; not replaced"
        elif m.weight.numel() < min_params:
            entry["skipped"] = f"weight has fewer than min_params={min_params} entries"
        else:
            in_shape, out_shape = _shapes(m, d)
            cands = _candidates(fmt, cls, in_shape, out_shape, t)
            plans.append((entry, m, in_shape, out_shape, cands))
    fixed = report.params_before - sum(e["params_before"] for e, *_ in plans)

    def choose(r):
        # With a budget, a layer that no rank brings to 1/r takes its smallest rank.
        picks = []
        for e, _, _, _, cands in plans:
            fits = [c for c in cands if c[0] <= e["params_before"] / r]
            pool = fits or (cands[:1] if budget is not None else [])
            picks.append(max(pool, key=lambda c: c[0]) if pool else None)
        return picks

    if budget is not None:
        ratio = _ratio_for(choose, plans, fixed, budget)
    for (entry, m, in_shape, out_shape, _), pick in zip(plans, choose(ratio)):
        if pick is None:
            entry["skipped"] = f"no {fmt} rank reaches ratio {ratio:.3g}"
            continue
        _, ranks, ts = pick
        try:
            new = _replace(m, fmt, in_shape, out_shape, ranks, ts, side, fit)
        except ValueError as exc:
            entry["skipped"] = f"fit refused: {exc}"
            continue
        inner = new.linear if isinstance(new, STPConv2d) else new
        entry.update(ranks=tuple(ranks), rel_error=float(inner.init_info.rel_error),
                     params_after=sum(p.numel() for p in inner._weight_parameters()))  # fmt: skip
        if entry["name"]:
            parent_name, _, child = entry["name"].rpartition(".")
            setattr(model.get_submodule(parent_name) if parent_name else model, child, new)
        else:
            model = new
    report.model = model
    report.params_after = sum(p.numel() for p in model.parameters())
    report.accuracy_after = _accuracy(model, data) if data is not None else None
    return report


def _ratio_for(choose, plans, fixed, budget):
    """Smallest per-layer ratio (bisection on its log) whose model fits ``budget``."""

    def total(r):
        picks = zip(plans, choose(r))
        return fixed + sum(e["params_before"] if c is None else c[0] for (e, *_), c in picks)

    lo, hi = 1.0, 1e6
    if total(hi) > budget:
        raise ValueError(f"budget={budget} cannot be met: the smallest layers give {total(hi)}")
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if total(mid) > budget else (lo, mid)
    return hi


def _replace(m, fmt, in_shape, out_shape, ranks, ts, side, fit):
    if isinstance(m, nn.Conv2d):
        return STPConv2d.from_conv(m, in_shape, out_shape, ranks, ts, format=fmt, side=side, **fit)
    return layer_class(fmt).from_linear(m, in_shape, out_shape, ranks, ts, side=side, **fit)
