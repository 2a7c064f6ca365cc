"""`STPConv2d`: a 2-d convolution whose kernel matrix is an STP linear layer."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from .._validation import check_choice, check_int_pair, check_positive_int
from ._base import PATHS, check_float_input, resolve_format
from ._contract import copy_cost
from .linear import layer_class

__all__ = ["STPConv2d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_padding(padding, kernel_size, stride, dilation):
    """``(padding, (top, bottom, left, right))``: padding as given, and its four sides.

    ``"same"`` puts the odd pixel of an even total on the bottom/right side, as
    `torch.nn.Conv2d` does; it needs stride 1 there too.
    """
    if isinstance(padding, str):
        padding = check_choice(padding, "padding", ("same", "valid"))
        if padding == "valid":
            return padding, (0, 0, 0, 0)
        if stride != (1, 1):
            raise ValueError(f"padding='same' needs stride 1 (as torch.nn.Conv2d); got {stride}")
        sides = []
        for k, d in zip(kernel_size, dilation):
            total = d * (k - 1)
            sides += [total // 2, total - total // 2]
        return padding, tuple(sides)
    pair = check_int_pair(padding, "padding", 0)
    return pair, (pair[0], pair[0], pair[1], pair[1])


class STPConv2d(nn.Module):
    """2-d convolution whose weight is held by an STP linear layer (STT, STR or STTu).

    The weight ``out_channels × in_channels × kh × kw`` is the matrix
    ``out_channels × (in_channels·kh·kw)`` that `torch.nn.functional.unfold`
    (im2col) multiplies, with the channel slowest and the kernel column fastest;
    that matrix is the weight of ``self.linear`` (an `STTLinear`, `STRLinear` or
    `STTuLinear`), so ``in_shape`` factorises ``in_channels·kh·kw`` (e.g. 64
    channels and a 3×3 kernel: ``(8, 8, 9)``) and ``out_shape`` the output channels.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or pair of int
        Positive.
    in_shape, out_shape, ranks, t, side
        As in the linear layer of ``format``.
    format : {"stt", "str", "sttu"}, default "stt"
        The format of the kernel matrix.
    stride, dilation : int or pair of int, default 1
        As in `torch.nn.Conv2d`: positive.
    padding : int, pair of int, "same" or "valid", default 0
        As in `torch.nn.Conv2d`: non-negative; ``"same"`` needs stride 1.
    groups : int, default 1
        As in `torch.nn.Conv2d`: divides both channel counts. The kernel matrix is
        ``out_channels × (in_channels/groups·kh·kw)`` (the grouped kernel's own
        reshape), held as one STP weight; the cores path maps each group's patches
        through the whole matrix and keeps the diagonal blocks (``groups`` times the
        work, which the cost model of ``"auto"`` counts).
    padding_mode : {"zeros", "reflect", "replicate", "circular"}, default "zeros"
    bias : bool, default True
    forward_path : {"auto", "cores", "dense"}, default "auto"
        ``"cores"``: im2col, then the linear layer's contraction through the cores for
        every patch; ``"dense"``: rebuild the kernel and call
        `torch.nn.functional.conv2d`. ``"auto"`` compares the two by the cost model
        of `STTLinear.flops` (the im2col copy counted as writes).
    device, dtype : optional
    method : str, optional
        Deprecated name of ``format`` (a `DeprecationWarning`; not both).

    Attributes
    ----------
    linear : STTLinear, STRLinear or STTuLinear
        Holds the cores and the bias.
    n_params, compression_ratio : int, float
        As for the linear layers, against a `torch.nn.Conv2d` of the same sizes.

    Raises
    ------
    TypeError, ValueError
        For invalid sizes, options or the arguments of the linear layer.

    Examples
    --------
    >>> import torch
    >>> from semitensor.nn import STPConv2d
    >>> _ = torch.manual_seed(0)
    >>> conv = STPConv2d(16, 32, 3, (4, 4, 9), (2, 4, 4), ranks=4, t=2, padding=1)
    >>> conv(torch.randn(2, 16, 8, 8)).shape
    torch.Size([2, 32, 8, 8])
    >>> conv.compression_ratio > 1
    True
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        in_shape,
        out_shape,
        ranks,
        t=2,
        *,
        format=None,
        side="left",
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        forward_path="auto",
        device=None,
        dtype=None,
        method=None,
    ):
        super().__init__()
        self.format = resolve_format(format, method)
        self.forward_path = check_choice(forward_path, "forward_path", PATHS)
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = check_int_pair(kernel_size, "kernel_size", 1)
        self.stride = check_int_pair(stride, "stride", 1)
        self.dilation = check_int_pair(dilation, "dilation", 1)
        self.padding_mode = check_choice(padding_mode, "padding_mode", PADDING_MODES)
        self.groups = check_positive_int(groups, "groups")
        for name, size in (("in_channels", self.in_channels), ("out_channels", self.out_channels)):
            if size % self.groups:
                raise ValueError(
                    f"groups={self.groups} must divide {name}={size} (as in torch.nn.Conv2d)"
                )
        self.padding, self._pads = _check_padding(padding, self.kernel_size, self.stride,
                                                  self.dilation)  # fmt: skip
        self.last_path = None
        n_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
        self.linear = layer_class(self.format)(
            n_in, self.out_channels, in_shape, out_shape, ranks, t, side, bias,
            device=device, dtype=dtype,
        )  # fmt: skip

    @property
    def method(self):
        """Deprecated name of `format`."""
        warnings.warn("STPConv2d.method is deprecated; use STPConv2d.format", DeprecationWarning, 2)
        return self.format

    @property
    def weight(self):
        """The dense kernel ``out_channels × in_channels × kh × kw`` (differentiable)."""
        return self.linear.weight.reshape(
            self.out_channels, self.in_channels // self.groups, *self.kernel_size
        )

    @property
    def bias(self):
        """The bias (held by `linear`) or None."""
        return self.linear.bias

    @property
    def n_params(self):
        """Number of parameters (cores and bias)."""
        return self.linear.n_params

    @property
    def compression_ratio(self):
        """Parameters of the equivalent `torch.nn.Conv2d` divided by `n_params`."""
        return self.linear.compression_ratio

    def _out_hw(self, h, w):
        top, bottom, left, right = self._pads
        out = []
        for size, pad, k, s, d in zip(
            (h, w), (top + bottom, left + right), self.kernel_size, self.stride, self.dilation
        ):
            out.append((size + pad - d * (k - 1) - 1) // s + 1)
        return tuple(out)

    def flops(self, batch, height, width):
        """Model costs of the two paths for a ``batch × in_channels × height × width`` input.

        Returns
        -------
        dict
            ``{"cores": …, "dense": …}`` in the units of `STTLinear.flops`.
        """
        oh, ow = self._out_hw(height, width)
        rows = batch * oh * ow
        # With groups, the cores path maps every group's patches through the whole
        # kernel matrix and keeps the diagonal blocks: groups times the rows.
        lin = self.linear.flops(rows * self.groups)
        im2col = copy_cost(rows * self.linear.in_features)
        return {"cores": lin["cores"] + im2col, "dense": lin["dense"]}

    def path_for(self, batch, height, width):
        """``"cores"`` or ``"dense"``: the path ``forward`` takes for this input size."""
        if self.forward_path != "auto":
            return self.forward_path
        f = self.flops(batch, height, width)
        return "cores" if f["cores"] < f["dense"] else "dense"

    def forward(self, x):
        """Convolve ``x`` of shape ``(B, in_channels, H, W)`` (floating point)."""
        check_float_input(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"input must have shape (B, {self.in_channels}, H, W); got {tuple(x.shape)}"
            )
        b, _, h, w = x.shape
        if torch.jit.is_tracing():  # sizes come as tensors; the path is fixed per trace
            b, h, w = int(b), int(h), int(w)
        path = self.path_for(b, h, w)
        self.last_path = path
        padding = self.padding
        if self.padding_mode != "zeros" or isinstance(padding, str):
            top, bottom, left, right = self._pads
            mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
            x = nn.functional.pad(x, (left, right, top, bottom), mode=mode)
            padding = (0, 0)
        if path == "dense":
            return nn.functional.conv2d(
                x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups
            )
        oh, ow = self._out_hw(h, w)
        g, n = self.groups, self.linear.in_features
        cols = nn.functional.unfold(x, self.kernel_size, self.dilation, padding, self.stride)
        rows = cols.reshape(b, g, n, oh * ow).permute(0, 3, 1, 2).reshape(b * oh * ow * g, n)
        y = self.linear(rows, path="cores")
        if g > 1:  # group k's patches against group k's output channels only
            y = y.reshape(b * oh * ow, g, g, self.out_channels // g)
            y = torch.diagonal(y, dim1=1, dim2=2).transpose(1, 2)
        return y.reshape(b, oh, ow, self.out_channels).permute(0, 3, 1, 2)

    def extra_repr(self):
        """Sizes and options, shown by ``repr``."""
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"groups={self.groups}, padding_mode={self.padding_mode!r}, format={self.format!r}"
        )

    @classmethod
    def from_conv(
        cls,
        conv,
        in_shape,
        out_shape,
        ranks,
        t=2,
        *,
        format=None,
        side="left",
        method=None,
        **fit_kwargs,
    ):
        """Compress a trained `torch.nn.Conv2d` through the linear layer's ``from_linear``.

        Parameters
        ----------
        conv : torch.nn.Conv2d
            Any `torch.nn.Conv2d`: groups, padding modes and string padding are kept.
        in_shape, out_shape, ranks, t, format, side
            As in `STPConv2d`.
        method : str, optional
            Deprecated name of ``format`` (a `DeprecationWarning`; not both). While it
            is accepted, `sttu_decompose`'s own ``method`` cannot be passed here.
        **fit_kwargs
            Passed to the decomposition.

        Returns
        -------
        STPConv2d
            On the device and dtype of ``conv``; ``linear.init_info`` holds the fit.

        Raises
        ------
        TypeError
            If ``conv`` is not a `torch.nn.Conv2d`.
        ValueError
            As `STPConv2d` for the sizes, ranks and shapes.

        Examples
        --------
        >>> import torch
        >>> from semitensor.nn import STPConv2d
        >>> _ = torch.manual_seed(0)
        >>> conv = torch.nn.Conv2d(4, 4, 3, padding=1)
        >>> layer = STPConv2d.from_conv(conv, (4, 9), (2, 2), ranks=[4, 2, 9, 2], t=1,
        ...                             format="sttu")
        >>> x = torch.randn(1, 4, 5, 5)
        >>> bool(torch.allclose(layer(x), conv(x), atol=1e-5))
        True
        """
        format = resolve_format(format, method)
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"conv must be a torch.nn.Conv2d; got {type(conv).__name__}")
        w = conv.weight.detach()
        factory = {"device": w.device, "dtype": w.dtype}
        layer = cls(
            conv.in_channels, conv.out_channels, conv.kernel_size, in_shape, out_shape, ranks,
            t, format=format, side=side, stride=conv.stride, padding=conv.padding,
            dilation=conv.dilation, groups=conv.groups, bias=conv.bias is not None,
            padding_mode=conv.padding_mode, **factory,
        )  # fmt: skip
        flat = nn.Linear(layer.linear.in_features, conv.out_channels, conv.bias is not None)
        flat = flat.to(**factory)
        with torch.no_grad():
            flat.weight.copy_(w.reshape(conv.out_channels, -1))
            if conv.bias is not None:
                flat.bias.copy_(conv.bias.detach())
        layer.linear = layer_class(format).from_linear(
            flat, in_shape, out_shape, ranks, t, side=side, **fit_kwargs
        )
        return layer
