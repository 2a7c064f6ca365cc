"""What the three STP linear layers share: sizes, bias, init, the two forward paths.

A subclass holds its parameters and provides ``to_format()`` (the weight tensor as a
library format, sharing the parameters), ``_forward_cores(x2)`` (the product of a
``(B, in)`` batch with ``Wᵀ`` through the cores, no bias), ``_cores_flops(batch)``,
``_rebuild_flops()``, ``_weight_parameters()`` (the parameters that make the weight, in the order of
``to_format().named_arrays()``) and
``_fit(linear, weight_tensor, **fit_kwargs)`` (fills the parameters from a fit).
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import torch
from torch import nn

from .._validation import check_bool, check_choice, check_side
from ._contract import dense_cost
from ._layout import check_layout, matrix_to_tensor, tensor_to_matrix

PATHS = ("auto", "cores", "dense")
FORMATS = ("stt", "str", "sttu")


def resolve_format(format, method, *, stacklevel=3):
    """The format selector, accepting its deprecated name ``method``.

    ``method`` warns with a `DeprecationWarning` attributed ``stacklevel`` frames up
    (the caller of the public function); giving both is a TypeError. Neither given
    means ``"stt"``.
    """
    if method is not None:
        if format is not None:
            raise TypeError(
                f"format={format!r} and method={method!r} were both given; method is the "
                "deprecated name of format: pass format only"
            )
        warnings.warn(
            "the keyword method= (the layer format) is deprecated; use format= instead",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
        format = method
    return check_choice("stt" if format is None else format, "format", FORMATS)


def check_float_input(x):
    """Raise a TypeError unless ``x`` is a floating-point (or complex) torch tensor.

    Integer and boolean inputs would otherwise fail deep inside torch, or on some
    paths compute silently in the wrong dtype.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor; got {type(x).__name__}")
    if not (x.is_floating_point() or x.is_complex()):
        raise TypeError(
            f"input must be a floating-point tensor (as the layer's parameters); got dtype "
            f"{x.dtype}; convert it with x.to(torch.float32) or another float dtype"
        )


def _rows(lead):
    """Number of rows as a Python int (the path is fixed per trace).

    ``torch.jit.trace`` hands sizes over as tensors, which the cost model's integer
    arithmetic cannot take.
    """
    if torch.jit.is_tracing():
        return math.prod(int(s) for s in lead)
    return math.prod(lead)


def layer_factory(device, dtype):
    """``{"device", "dtype"}`` for a layer's parameters, with ``dtype`` checked first.

    Parameters need gradients, so only floating and complex dtypes make sense; torch's
    own refusal ("Only Tensors of floating point and complex dtype can require
    gradients") names neither the argument nor the layer.
    """
    if dtype is not None:
        if not isinstance(dtype, torch.dtype):
            raise TypeError(f"dtype must be a torch dtype or None; got {dtype!r}")
        if not (dtype.is_floating_point or dtype.is_complex):
            raise TypeError(
                f"dtype must be a floating-point torch dtype (parameters need gradients); "
                f"got {dtype}; use e.g. torch.float32"
            )
    return {"device": device, "dtype": dtype}


class STPLinearBase(nn.Module):
    """Shared machinery of `STTLinear`, `STRLinear` and `STTuLinear` (see those)."""

    def __init__(self, in_features, out_features, in_shape, out_shape, side, bias, forward_path):
        super().__init__()
        sizes = check_layout(in_features, out_features, in_shape, out_shape)
        self.in_features, self.out_features, self.in_shape, self.out_shape = sizes
        self.side = check_side(side)
        self.forward_path = check_choice(forward_path, "forward_path", PATHS)
        self._has_bias = check_bool(bias, "bias")
        self.last_path = None
        self.init_info = None

    def _make_parameters(self, factory):
        """Allocate the bias and draw every parameter (the subclass allocated its own)."""
        if self._has_bias:
            self.bias = nn.Parameter(torch.empty(self.out_features, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw new random parameters, scaled as `torch.nn.Linear`'s default init.

        Standard normal cores (or core and factors) are rescaled so that the rebuilt
        weight has the standard deviation ``1/sqrt(3·in)`` of `torch.nn.Linear`'s
        default; the bias is uniform on ``±1/sqrt(in)``. On the meta device the
        parameters have no values and the rescale is skipped: after
        ``layer.to_empty(device=...)`` call ``reset_parameters()`` again.
        """
        params = self._weight_parameters()
        with torch.no_grad():
            for p in params:
                p.normal_()
            if self.bias is not None:
                bound = 1.0 / math.sqrt(self.in_features)
                self.bias.uniform_(-bound, bound)
            if params[0].is_meta:
                return
            std = self._weight_std()
            if std > 0:
                factor = (1.0 / math.sqrt(3.0 * self.in_features) / std) ** (1.0 / len(params))
                for p in params:
                    p.mul_(factor)

    def _weight_std(self):
        """Standard deviation of the weight's entries (rings override it: no rebuild)."""
        return float(self.weight.detach().double().std())

    @property
    def modes(self):
        """Sizes of the interleaved modes ``(I_1, O_1, …, I_d, O_d)``."""
        return tuple(s for pair in zip(self.in_shape, self.out_shape) for s in pair)

    @property
    def weight(self):
        """The dense weight ``W`` (``out_features × in_features``), rebuilt from the cores.

        Differentiable; costs one reconstruction (``to_format().to_tensor()``) per access.
        """
        return self._weight_matrix()

    def _weight_matrix(self):
        return tensor_to_matrix(self._weight_tensor(), self.in_shape, self.out_shape)

    def _weight_tensor(self):
        return self.to_format().to_tensor()

    @property
    def n_params(self):
        """Number of parameters of the layer (cores and bias)."""
        return sum(p.numel() for p in self.parameters())

    @property
    def compression_ratio(self):
        """Parameters of the equivalent `torch.nn.Linear` divided by `n_params`."""
        dense = self.in_features * self.out_features
        if self.bias is not None:
            dense += self.out_features
        return dense / self.n_params

    def flops(self, batch):
        """Model costs of the two forward paths for ``batch`` input rows.

        Parameters
        ----------
        batch : int
            Number of input rows (all leading dimensions flattened).

        Returns
        -------
        dict
            ``{"cores": …, "dense": …}``: the contraction through the cores, and the
            weight rebuild plus the dense product, in the units of the cost model of
            `semitensor.nn._contract`: every GEMM's flops, slowed by a factor
            ``1 + GEMM_KNEE/m`` for its smallest size ``m`` (thin contraction steps
            run far below a 1024-wide product), plus ``WRITE_COST`` per entry
            written; both constants calibrated on torch on CPU by
            ``benchmarks/bench_nn_layers.py --calibrate``. The bias is the same for
            both and not counted.
        """
        rebuild = self._rebuild_flops()
        dense = dense_cost(batch, self.in_features, self.out_features, rebuild)
        return {"cores": self._cores_flops(batch), "dense": dense}

    def path_for(self, batch):
        """The path ``forward`` takes for ``batch`` rows: ``"cores"`` or ``"dense"``."""
        if self.forward_path != "auto":
            return self.forward_path
        f = self.flops(batch)
        return "cores" if f["cores"] < f["dense"] else "dense"

    def forward(self, x, path=None):
        """Apply the layer to ``x`` of shape ``(..., in_features)``.

        Parameters
        ----------
        x : torch.Tensor, shape (..., in_features)
            Floating point (or complex); any number of leading dimensions, including
            an empty batch.
        path : {None, "auto", "cores", "dense"}, default None
            Overrides `forward_path` for this call (`STPConv2d` uses ``"cores"``).

        Returns
        -------
        torch.Tensor, shape (..., out_features)

        Raises
        ------
        TypeError
            If ``x`` is not a floating-point (or complex) tensor.
        ValueError
            If ``x`` is 0-d or its last dimension is not ``in_features``.
        """
        check_float_input(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            got = "a 0-d tensor" if x.ndim == 0 else f"shape {tuple(x.shape)}"
            raise ValueError(
                f"input must have shape (..., in_features={self.in_features}); got {got}"
            )
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)
        if path is None or path == "auto":
            path = self.path_for(_rows(lead))
        else:
            path = check_choice(path, "path", PATHS)
        self.last_path = path
        if path == "dense":
            y = nn.functional.linear(x2, self.weight, self.bias)
        else:
            y = self._forward_cores(x2)
            if self.bias is not None:
                y = y + self.bias
        return y.reshape(*lead, self.out_features)

    def extra_repr(self):
        """Sizes and options, shown by ``repr``."""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"in_shape={self.in_shape}, out_shape={self.out_shape}, ranks={self.ranks}, "
            f"t={self.t}, side={self.side!r}, bias={self.bias is not None}, "
            f"compression_ratio={self.compression_ratio:.3g}"
        )

    @classmethod
    def _from_linear(cls, linear, in_shape, out_shape, ranks, t, side, fit_kwargs):
        """Build a layer of ``linear``'s sizes, device and dtype, and fit its weight."""
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be a torch.nn.Linear; got {type(linear).__name__}")
        w = linear.weight.detach()
        layer = cls(
            linear.in_features,
            linear.out_features,
            in_shape,
            out_shape,
            ranks,
            t,
            side,
            bias=linear.bias is not None,
            device=w.device,
            dtype=w.dtype,
        )
        # The fits run in float64 (their tolerances assume it); the result is cast back.
        w64 = w.to(torch.float64)
        wt = matrix_to_tensor(w64, layer.in_shape, layer.out_shape)
        dec = layer._fit(wt.contiguous(), **fit_kwargs)
        arrays = balance_norms(list(dec.named_arrays().values()))
        with torch.no_grad():
            for p, g in zip(layer._weight_parameters(), arrays):
                p.copy_(g.to(device=w.device, dtype=w.dtype))
            if linear.bias is not None:
                layer.bias.copy_(linear.bias.detach())
            check_cast(layer, arrays, w.dtype)
            # The record describes the layer as built: its error in the layer's dtype.
            err = torch.linalg.norm(layer.weight.to(torch.float64) - w64) / torch.linalg.norm(w64)
        err = float(err) if float(torch.linalg.norm(w64)) > 0 else float(dec.info.rel_error)
        layer.init_info = dataclasses.replace(dec.info, errors=[*dec.info.errors[:-1], err])
        return layer


def balance_norms(arrays):
    """Rescale multilinear factors by scalars of product 1 so that all have one norm.

    The represented tensor is unchanged (each factor enters it linearly) but no factor
    holds 1e25 against its neighbour's 1e-21, which a cast to float32 would turn into
    inf and 0. Left alone if any factor is zero (so is the tensor).
    """
    logs = [math.log(float(torch.linalg.vector_norm(a))) if a.numel() else 0.0 for a in arrays]
    if not all(math.isfinite(v) for v in logs):
        return arrays
    target = sum(logs) / len(logs)
    return [a * math.exp(target - v) for a, v in zip(arrays, logs)]


def check_cast(layer, arrays, dtype):
    """Raise a ValueError if the fitted factors or the weight are not finite in ``dtype``."""
    for k, p in enumerate(layer._weight_parameters()):
        if not bool(torch.isfinite(p).all()):
            big = float(arrays[k].abs().max())
            raise ValueError(
                f"from_linear: fitted factor {k} of shape {tuple(p.shape)} is not finite in "
                f"{dtype} (largest entry {big:.3g} in float64, after balancing the norms); "
                "the weight is out of range for this dtype: fit in a wider dtype "
                "(linear.to(torch.float64)) or lower the ranks"
            )
    if not bool(torch.isfinite(layer.weight).all()):
        raise ValueError(
            f"from_linear: the rebuilt weight is not finite in {dtype} although its factors "
            "are; fit in a wider dtype (linear.to(torch.float64))"
        )
