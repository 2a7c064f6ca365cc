"""Layers whose weights live in the STP formats STT, STR and STTu (needs torch).

`STTLinear`, `STRLinear` and `STTuLinear` replace `torch.nn.Linear`; `STPConv2d`
replaces `torch.nn.Conv2d` (its kernel matrix is held by one of them);
``from_linear`` / ``from_conv`` start from a trained layer through the library's
decompositions, and `compress_linear_layers` does that for a whole model.

Imported lazily: ``import semitensor`` does not import torch; ``semitensor.nn`` (or
``import semitensor.nn``) does.

Layout of the weight
--------------------
A layer maps ``in_features = ∏ in_shape`` to ``out_features = ∏ out_shape``. Its
weight ``W`` (``out_features × in_features``, as in `torch.nn.Linear`) is held as an
order-``2d`` tensor over the *interleaved* modes

``(I_1, O_1, I_2, O_2, …, I_d, O_d)``,  ``Wt[i_1, o_1, …, i_d, o_d] = W[o, i]``,

with ``i`` and ``o`` the C-order (row-major) flat indices of ``(i_1, …, i_d)`` and
``(o_1, …, o_d)`` (`matrix_to_tensor`, `tensor_to_matrix`). ``in_shape`` and
``out_shape`` therefore have the same length ``d`` (pad the shorter with 1s).

Why interleaved and not ``in_shape + out_shape``: in a train or ring over
``in_shape + out_shape`` the single bond between the last input mode and the first
output mode bounds the matrix rank of ``W`` (``rank W ≤ R_d``), so the layer is a
plain low-rank bottleneck. Interleaving pairs each input digit with its output
digit (the TT-matrix layout of Novikov et al. [1]_), so no single bond caps the
rank of ``W`` and the forward pass through the cores keeps the intermediate small.
Each core still carries one index, so the cores are exactly those of SPEC §4 and
the layers interoperate with the library's formats and decompositions
(`STTLinear.to_format`, `STTLinear.from_linear`). Tucker is indifferent to the
order of the modes (permuting them permutes the core), so STTu uses the same layout.

Forward pass
------------
``forward`` either contracts the input with the cores directly (cost grows with the
batch) or rebuilds ``W`` once and calls ``torch.nn.functional.linear`` (a fixed
rebuild cost plus ``2·B·in·out``). With ``forward_path="auto"`` (default) the cheaper
one by the flop model of `flops` is used for each call; ``"cores"`` and ``"dense"``
force one. The path of the last call is in ``last_path``.

References
----------
.. [1] A. Novikov, D. Podoprikhin, A. Osokin, D. Vetrov, "Tensorizing Neural
   Networks", NeurIPS 2015.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import torch
from torch import nn

from ._validation import check_side
from .formats.sttu import STTuTensor
from .tenalg import cheapest_mode_order, stp_mode_dot

__all__ = [
    "STTLinear",
    "STRLinear",
    "STTuLinear",
    "STPConv2d",
    "CompressionReport",
    "compress_linear_layers",
    "factorize",
    "matrix_to_tensor",
    "tensor_to_matrix",
]

_PATHS = ("auto", "cores", "dense")


# --- layout ------------------------------------------------------------------------


def factorize(n, d):
    """Split ``n`` into ``d`` factors as equal as possible (ascending).

    Parameters
    ----------
    n : int
        Positive integer to factor.
    d : int
        Number of factors (``>= 1``); 1s are used when ``n`` has fewer prime factors.

    Returns
    -------
    tuple of int
        ``d`` factors whose product is ``n``, sorted ascending.

    Examples
    --------
    >>> from semitensor.nn import factorize
    >>> factorize(784, 4)
    (4, 4, 7, 7)
    >>> factorize(10, 3)
    (1, 2, 5)
    """
    n = _positive_int(n, "n")
    d = _positive_int(d, "d")
    primes, rest, p = [], n, 2
    while p * p <= rest:
        while rest % p == 0:
            primes.append(p)
            rest //= p
        p += 1
    if rest > 1:
        primes.append(rest)
    bins = [1] * d
    for p in sorted(primes, reverse=True):  # largest prime into the smallest bin
        bins[bins.index(min(bins))] *= p
    return tuple(sorted(bins))


def matrix_to_tensor(weight, in_shape, out_shape):
    """Reshape a ``(out, in)`` weight into the interleaved tensor ``(I_1, O_1, …, I_d, O_d)``.

    Parameters
    ----------
    weight : torch.Tensor, shape (prod(out_shape), prod(in_shape))
    in_shape, out_shape : sequence of int, same length ``d``

    Returns
    -------
    torch.Tensor
        ``Wt[i_1, o_1, …, i_d, o_d] = weight[o, i]`` (C-order flat indices).

    Examples
    --------
    >>> import torch
    >>> from semitensor.nn import matrix_to_tensor, tensor_to_matrix
    >>> w = torch.arange(24.0).reshape(6, 4)
    >>> wt = matrix_to_tensor(w, (2, 2), (3, 2))
    >>> wt.shape
    torch.Size([2, 3, 2, 2])
    >>> float(wt[1, 2, 0, 1]) == float(w[2 * 2 + 1, 1 * 2 + 0])
    True
    >>> bool((tensor_to_matrix(wt, (2, 2), (3, 2)) == w).all())
    True
    """
    d = len(in_shape)
    full = weight.reshape(tuple(out_shape) + tuple(in_shape))
    perm = [p for k in range(d) for p in (d + k, k)]
    return full.permute(perm)


def tensor_to_matrix(tensor, in_shape, out_shape):
    """Inverse of `matrix_to_tensor`: the ``(out, in)`` weight of an interleaved tensor.

    Parameters
    ----------
    tensor : torch.Tensor, shape (I_1, O_1, …, I_d, O_d)
    in_shape, out_shape : sequence of int, same length ``d``

    Returns
    -------
    torch.Tensor, shape (prod(out_shape), prod(in_shape))

    Examples
    --------
    >>> import torch
    >>> from semitensor.nn import tensor_to_matrix
    >>> tensor_to_matrix(torch.zeros(2, 3, 2, 2), (2, 2), (3, 2)).shape
    torch.Size([6, 4])
    """
    d = len(in_shape)
    perm = [2 * k + 1 for k in range(d)] + [2 * k for k in range(d)]
    return tensor.permute(perm).reshape(math.prod(out_shape), math.prod(in_shape))


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer; got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value}")
    return int(value)


def _check_layout(in_features, out_features, in_shape, out_shape):
    in_features = _positive_int(in_features, "in_features")
    out_features = _positive_int(out_features, "out_features")
    shapes = []
    for name, shape, total in (
        ("in_shape", in_shape, in_features),
        ("out_shape", out_shape, out_features),
    ):
        if not isinstance(shape, (list, tuple)) or not shape:
            raise TypeError(f"{name} must be a non-empty list or tuple of ints; got {shape!r}")
        shape = tuple(_positive_int(s, f"{name}[{k}]") for k, s in enumerate(shape))
        if math.prod(shape) != total:
            feat = "in_features" if name == "in_shape" else "out_features"
            raise ValueError(
                f"{name} {shape} must multiply to {feat}={total}; its product is {math.prod(shape)}"
            )
        shapes.append(shape)
    if len(shapes[0]) != len(shapes[1]):
        raise ValueError(
            f"in_shape {shapes[0]} and out_shape {shapes[1]} must have the same length (the "
            "modes are interleaved in pairs); pad the shorter one with 1s"
        )
    return in_features, out_features, shapes[0], shapes[1]


def _check_t(t):
    return _positive_int(t, "t")


def _check_ranks_list(ranks, n, name_n):
    """``ranks`` as a list of ``n`` positive ints (an int is repeated)."""
    if isinstance(ranks, numbers.Integral) and not isinstance(ranks, bool):
        return [_positive_int(ranks, "ranks")] * n, ["ranks"] * n
    if isinstance(ranks, (list, tuple)):
        if len(ranks) != n:
            raise ValueError(f"ranks must be an int or a list of {n} ({name_n}); got {len(ranks)}")
        return [_positive_int(r, f"ranks[{k}]") for k, r in enumerate(ranks)], [
            f"ranks[{k}]" for k in range(n)
        ]
    raise TypeError(f"ranks must be an int or a list of ints; got {type(ranks).__name__}")


def _ring_step(state, core, size, is_input):
    """One ring core applied to a batch of partial contractions.

    ``state`` is ``(L, Od, Irem, r)``: ``L`` rows (batch × ring index), ``Od`` output
    indices already produced, ``Irem`` input indices still to contract (the next one
    slowest), ``r`` the running bond. ``core`` is ``(r, size, q)``; an input step
    contracts the next input index, an output step appends an output index.
    """
    lead, od, irem, r = state.shape
    q = core.shape[2]
    if is_input:
        rest = irem // size
        s = state.reshape(lead, od, size, rest, r)
        return torch.einsum("lxiyr,riq->lxyq", s, core)
    out = torch.einsum("lxyr,roq->lxoyq", state, core)
    return out.reshape(lead, od * size, irem, q)


def _ring_forward(x2, ring, modes):
    """``y[b, o] = Σ_i x[b, i] · tr(H_1(i_1) H_2(o_1) ⋯ H_N(o_d))`` through the ring cores.

    The ring index ``ρ_0`` joins the batch after the first core and is traced out at
    the end; every step is one permutation copy and one GEMM (`_ring_step`).
    """
    b, n_in = x2.shape
    h1 = ring[0]
    rho0, size, rho1 = h1.shape
    rest = n_in // size
    state = torch.einsum("biy,aiq->bayq", x2.reshape(b, size, rest), h1)
    state = state.reshape(b * rho0, 1, rest, rho1)
    for k in range(1, len(ring)):
        state = _ring_step(state, ring[k], modes[k], k % 2 == 0)
    state = state.reshape(b, rho0, -1, rho0)
    return torch.diagonal(state, dim1=1, dim2=3).sum(-1)


# Cost of writing one entry, in flops, in the path model: the chain steps are thin
# GEMMs plus a permutation copy, bound by memory rather than arithmetic (the same
# weight as the chain model of semitensor.product).
_WRITE_COST = 4.0
# Flops per second of one large dense GEMM relative to the thin contraction steps
# (median over STT/STR/STTu 1024x1024 layers, batch 32 to 4096, torch on CPU).
_GEMM_SPEEDUP = 16.0


def _ring_forward_cost(batch, ranks, modes, n_in):
    """Model cost (flops + weighted writes) of `_ring_forward`; ``ranks[k]`` enters core k."""
    n = len(modes)
    rho0 = ranks[0]
    rest = n_in // modes[0]
    total = (
        2 * batch * n_in * rho0 * ranks[1 % n] + _WRITE_COST * batch * rest * rho0 * ranks[1 % n]
    )
    lead, od, irem, r = batch * rho0, 1, rest, ranks[1 % n]
    for k in range(1, n):
        q, size = ranks[(k + 1) % n], modes[k]
        state = lead * od * irem * r
        if k % 2 == 0:  # input step: copy the state, GEMM down to (L, Od, Irem/size, q)
            irem //= size
            written = lead * od * irem * q
            total += 2 * written * size * r + _WRITE_COST * (state + written)
        else:  # output step: GEMM up to (L, Od·size, Irem, q), then a permutation copy
            od *= size
            written = lead * od * irem * q
            total += 2 * written * r + 2 * _WRITE_COST * written
        r = q
    return total


def _chain_rebuild_cost(ranks, modes):
    """Model cost of contracting a ring/train left to right into the full tensor."""
    n = len(modes)
    total, rows = 0.0, ranks[0] * modes[0]
    for k in range(1, n):
        written = rows * modes[k] * ranks[(k + 1) % n]
        total += 2 * written * ranks[k] + _WRITE_COST * written
        rows *= modes[k]
    return total


# --- the layers --------------------------------------------------------------------


class _STPLinear(nn.Module):
    """Shared machinery of the STP-factorised linear layers (see the module docstring)."""

    def __init__(self, in_features, out_features, in_shape, out_shape, side, bias, forward_path):
        super().__init__()
        in_features, out_features, in_shape, out_shape = _check_layout(
            in_features, out_features, in_shape, out_shape
        )
        if forward_path not in _PATHS:
            raise ValueError(
                f"forward_path must be 'auto', 'cores' or 'dense'; got {forward_path!r}"
            )
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False; got {bias!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.in_shape = in_shape
        self.out_shape = out_shape
        self.side = check_side(side)
        self.forward_path = forward_path
        self.last_path = None
        self.init_info = None

    @property
    def modes(self):
        """Sizes of the interleaved modes ``(I_1, O_1, …, I_d, O_d)``."""
        return tuple(s for pair in zip(self.in_shape, self.out_shape) for s in pair)

    def _init_bias(self, bias, factory):
        if bias:
            self.bias = nn.Parameter(torch.empty(self.out_features, **factory))
            bound = 1.0 / math.sqrt(self.in_features)
            with torch.no_grad():
                self.bias.uniform_(-bound, bound)
        else:
            self.register_parameter("bias", None)

    def _rescale(self, params):
        """Scale ``params`` so that ``std(W) = 1/sqrt(3·in)``, as `torch.nn.Linear`'s init."""
        with torch.no_grad():
            std = float(self.weight.double().std())
            if std > 0:
                factor = (1.0 / math.sqrt(3.0 * self.in_features) / std) ** (1.0 / len(params))
                for p in params:
                    p.mul_(factor)

    # subclasses: _weight_tensor(), _forward_cores(x2d), _rebuild_flops(), _cores_flops(b)

    @property
    def weight(self):
        """The dense weight ``W`` (``out_features × in_features``), rebuilt from the cores.

        Differentiable; costs one reconstruction per access.
        """
        return tensor_to_matrix(self._weight_tensor(), self.in_shape, self.out_shape)

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
            weight rebuild plus the dense product, in flops plus ``4`` per entry
            written. The contraction steps are thin GEMMs and permutation copies,
            bound by memory traffic; one large GEMM runs about 16 times more flops
            per second (measured with torch on CPU, 1024×1024 layers), so the
            dense product's ``2·batch·in·out`` flops count ``1/16`` each. The bias
            is the same for both and not counted.
        """
        gemm = 2 * batch * self.in_features * self.out_features / _GEMM_SPEEDUP
        dense = self._rebuild_flops() + gemm + _WRITE_COST * batch * self.out_features
        return {"cores": self._cores_flops(batch), "dense": dense}

    def path_for(self, batch):
        """The path ``forward`` takes for ``batch`` rows: ``"cores"`` or ``"dense"``."""
        if self.forward_path != "auto":
            return self.forward_path
        f = self.flops(batch)
        return "cores" if f["cores"] < f["dense"] else "dense"

    def forward(self, x):
        """Apply the layer to ``x`` of shape ``(..., in_features)``.

        Returns
        -------
        torch.Tensor, shape (..., out_features)
        """
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"input has {x.shape[-1]} features in its last dimension; this layer "
                f"expects in_features={self.in_features}"
            )
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)
        path = self.path_for(x2.shape[0])
        self.last_path = path
        if path == "dense":
            y = nn.functional.linear(x2, self.weight, self.bias)
        else:
            y = self._forward_cores(x2)
            if self.bias is not None:
                y = y + self.bias
        return y.reshape(*lead, self.out_features)

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"in_shape={self.in_shape}, out_shape={self.out_shape}, ranks={self.ranks}, "
            f"t={self.t}, side={self.side!r}, bias={self.bias is not None}, "
            f"compression_ratio={self.compression_ratio:.3g}"
        )

    @classmethod
    def _from_linear_checks(cls, linear):
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be a torch.nn.Linear; got {type(linear).__name__}")
        w = linear.weight.detach()
        factory = {"device": w.device, "dtype": w.dtype}
        return w, factory

    def _finish_from_linear(self, linear, info):
        if linear.bias is not None:
            with torch.no_grad():
                self.bias.copy_(linear.bias.detach())
        self.init_info = info
        return self


class STTLinear(_STPLinear):
    """Linear layer whose weight is a semi-tensor train (STT, SPEC §4).

    The interleaved weight tensor ``(I_1, O_1, …, I_d, O_d)`` (module docstring) is
    an STT with ``N = 2d`` cores: ``cores[0]``: ``(1, I_1, R_1)``, ``cores[k]``:
    ``(R_k/t, m_k, R_{k+1}/t)``, ``cores[N−1]``: ``(R_{N−1}, O_d, 1)``.

    Parameters
    ----------
    in_features, out_features : int
    in_shape, out_shape : sequence of int
        Factorisations of ``in_features`` and ``out_features``, same length ``d``
        (e.g. ``784 → (4, 7, 4, 7)``).
    ranks : int or sequence of 2d−1 int
        The bond sizes ``R_1, …, R_{N−1}``; multiples of ``t`` when ``N > 2``.
    t : int, default 2
        STP factor of every interior core (``t = 1``: a plain tensor train).
    side : {"left", "right"}, default "left"
    bias : bool, default True
    forward_path : {"auto", "cores", "dense"}, default "auto"
        See the module docstring.
    device, dtype : optional
        As for `torch.nn.Linear`.

    Attributes
    ----------
    cores : torch.nn.ParameterList
    bias : torch.nn.Parameter or None
    n_params, compression_ratio : int, float
    init_info : FitInfo or None
        What the decomposition did, for layers made by `from_linear`.

    Raises
    ------
    TypeError, ValueError
        For invalid sizes, ranks, ``t``, ``side`` or ``forward_path``.

    Notes
    -----
    Random initialisation: standard normal cores rescaled so the rebuilt weight has
    the standard deviation of `torch.nn.Linear`'s default, ``1/sqrt(3·in)``.

    Examples
    --------
    >>> import torch
    >>> from semitensor.nn import STTLinear
    >>> _ = torch.manual_seed(0)
    >>> layer = STTLinear(64, 36, (8, 8), (6, 6), ranks=4, t=2)
    >>> layer(torch.randn(5, 64)).shape
    torch.Size([5, 36])
    >>> layer.n_params < 64 * 36
    True
    """

    def __init__(
        self,
        in_features,
        out_features,
        in_shape,
        out_shape,
        ranks,
        t=2,
        side="left",
        bias=True,
        forward_path="auto",
        device=None,
        dtype=None,
    ):
        super().__init__(in_features, out_features, in_shape, out_shape, side, bias, forward_path)
        self.t = _check_t(t)
        modes = self.modes
        n = len(modes)
        bonds, names = _check_ranks_list(ranks, n - 1, "one per bond of the 2d-core train")
        if n > 2:
            for name, r in zip(names, bonds):
                if r % self.t:
                    raise ValueError(f"{name} must be a positive multiple of t={self.t}; got {r}")
        self.ranks = tuple(bonds)
        factory = {"device": device, "dtype": dtype}
        self.cores = nn.ParameterList(
            [nn.Parameter(torch.randn(s, **factory)) for s in self._core_shapes()]
        )
        self._init_bias(bias, factory)
        self._rescale(list(self.cores))

    def _core_shapes(self):
        m, r, t = self.modes, self.ranks, self.t
        n = len(m)
        shapes = [(1, m[0], r[0])]
        for k in range(1, n - 1):
            shapes.append((r[k - 1] // t, m[k], r[k] // t))
        shapes.append((r[-1], m[-1], 1))
        return shapes

    def to_format(self):
        """The weight tensor as a library `~semitensor.formats.stt.STTTensor` (shares the cores)."""
        from .formats.stt import STTTensor

        return STTTensor(list(self.cores), self.t, self.side)

    def _weight_tensor(self):
        return self.to_format().to_tensor()

    def _ring(self):
        """The exact tensor-ring equivalent, ranks ``(t, R_1/t, …, R_{N−1}/t, t)`` (SPEC §4).

        ``H_1[a, i, r] = G_1[0, i, r·t + a]`` and ``H_N[r, i, a] = G_N[r·t + a, i, 0]``
        (left; the right side uses ``a·R/t + r``), interior cores unchanged: the index
        ``a`` of ``⊗ I_t`` rides along the train unchanged, so it closes a ring.
        """
        cores = list(self.cores)
        if len(cores) == 2:
            return cores
        t = self.t
        g1, gn = cores[0][0], cores[-1][..., 0]
        (i1, r1), (rn, i_n) = g1.shape, gn.shape
        if self.side == "left":
            h1 = g1.reshape(i1, r1 // t, t).permute(2, 0, 1)
            hn = gn.reshape(rn // t, t, i_n).permute(0, 2, 1)
        else:
            h1 = g1.reshape(i1, t, r1 // t).permute(1, 0, 2)
            hn = gn.reshape(t, rn // t, i_n).permute(1, 2, 0)
        return [h1, *cores[1:-1], hn]

    def _ring_ranks(self):
        if len(self.modes) == 2:
            return [1, self.ranks[0]]
        return [self.t] + [r // self.t for r in self.ranks]

    def _forward_cores(self, x2):
        return _ring_forward(x2, self._ring(), self.modes)

    def _cores_flops(self, batch):
        return _ring_forward_cost(batch, self._ring_ranks(), self.modes, self.in_features)

    def _rebuild_flops(self):
        # to_tensor contracts the train (ring index 1, effective bonds R_k).
        return _chain_rebuild_cost([1, *self.ranks], self.modes)

    @classmethod
    def from_linear(cls, linear, in_shape, out_shape, ranks, t=2, *, side="left", **fit_kwargs):
        """Compress a trained `torch.nn.Linear` by `~semitensor.decomposition.stt.stt_decompose`.

        Parameters
        ----------
        linear : torch.nn.Linear
        in_shape, out_shape, ranks, t, side
            As in `STTLinear`.
        **fit_kwargs
            Passed to `stt_decompose` (e.g. ``n_iter_max``, ``tol``,
            ``random_state``).

        Returns
        -------
        STTLinear
            On the device and dtype of ``linear``; the bias is copied; ``init_info``
            holds the fit's record (``init_info.rel_error`` is the relative error of
            the weight).

        Examples
        --------
        >>> import torch
        >>> from semitensor.nn import STTLinear
        >>> _ = torch.manual_seed(0)
        >>> dense = torch.nn.Linear(16, 16)
        >>> layer = STTLinear.from_linear(dense, (4, 4), (4, 4), ranks=[4, 16, 4], t=1)
        >>> bool(torch.allclose(layer.weight, dense.weight, atol=1e-5))
        True
        """
        from .decomposition.stt import stt_decompose

        w, factory = cls._from_linear_checks(linear)
        layer = cls(
            linear.in_features,
            linear.out_features,
            in_shape,
            out_shape,
            ranks,
            t,
            side,
            bias=linear.bias is not None,
            **factory,
        )
        wt = matrix_to_tensor(w.to(torch.float64), layer.in_shape, layer.out_shape)
        dec = stt_decompose(wt.contiguous(), list(layer.ranks), layer.t, side=side, **fit_kwargs)
        with torch.no_grad():
            for p, g in zip(layer.cores, dec.cores):
                p.copy_(g.to(**factory))
        return layer._finish_from_linear(linear, dec.info)


class STRLinear(_STPLinear):
    """Linear layer whose weight is a semi-tensor ring (STR, SPEC §4).

    The interleaved weight tensor (module docstring) is an STR with ``N = 2d``
    cores: ``cores[0]``: ``(R_0, I_1, R_1)``, ``cores[k]`` (``k >= 1``):
    ``(R_k/t, m_k, R_{k+1}/t)`` with ``R_N = R_0``;
    ``Wt[i] = tr(G_1(i_1) ⋉ … ⋉ G_N(i_N))``.

    Parameters
    ----------
    in_features, out_features, in_shape, out_shape, side, bias, forward_path, device, dtype
        As in `STTLinear`.
    ranks : int or sequence of 2d int
        ``R_0, R_1, …, R_{N−1}``, each a positive multiple of ``t``.
    t : int, default 2
        STP factor of every core after the first (``t = 1``: a plain tensor ring).

    Notes
    -----
    With a uniform ``t`` the STR is exactly the tensor ring of ranks ``R_k/t`` whose
    first core is the partial trace ``H_1(i) = Σ_a G_1[a::t, i, a::t]`` (left;
    SPEC §4). Both forward paths contract that ring, so they cost what a ring of
    ranks ``R/t`` costs; the entries of ``cores[0]`` off the partial-trace diagonal
    never reach the output (their gradient is zero) — the STR's first core stores
    ``t²`` times more numbers than it can use, and `n_params` counts them all.

    Examples
    --------
    >>> import torch
    >>> from semitensor.nn import STRLinear
    >>> _ = torch.manual_seed(0)
    >>> layer = STRLinear(64, 36, (8, 8), (6, 6), ranks=4, t=2)
    >>> layer(torch.randn(5, 64)).shape
    torch.Size([5, 36])
    """

    def __init__(
        self,
        in_features,
        out_features,
        in_shape,
        out_shape,
        ranks,
        t=2,
        side="left",
        bias=True,
        forward_path="auto",
        device=None,
        dtype=None,
    ):
        super().__init__(in_features, out_features, in_shape, out_shape, side, bias, forward_path)
        self.t = _check_t(t)
        n = len(self.modes)
        bonds, names = _check_ranks_list(ranks, n, "R_0 and one per bond")
        for name, r in zip(names, bonds):
            if r % self.t:
                raise ValueError(f"{name} must be a positive multiple of t={self.t}; got {r}")
        self.ranks = tuple(bonds)
        factory = {"device": device, "dtype": dtype}
        self.cores = nn.ParameterList(
            [nn.Parameter(torch.randn(s, **factory)) for s in self._core_shapes()]
        )
        self._init_bias(bias, factory)
        self._rescale(list(self.cores))

    def _core_shapes(self):
        m, r, t = self.modes, self.ranks, self.t
        n = len(m)
        shapes = [(r[0], m[0], r[1 % n])]
        for k in range(1, n):
            shapes.append((r[k] // t, m[k], r[(k + 1) % n] // t))
        return shapes

    def _ring_ranks(self):
        return [r // self.t for r in self.ranks]

    def _first_trace(self):
        """Partial trace ``H_1`` of ``cores[0]``: shape ``(R_0/t, I_1, R_1/t)``."""
        g, t = self.cores[0], self.t
        r0, size, r1 = g.shape
        if self.side == "left":  # index r·t + a
            g = g.reshape(r0 // t, t, size, r1 // t, t)
            return torch.diagonal(g, dim1=1, dim2=4).sum(-1)
        g = g.reshape(t, r0 // t, size, t, r1 // t)  # index a·(R/t) + r
        return torch.diagonal(g, dim1=0, dim2=3).sum(-1)

    def to_format(self):
        """The weight tensor as a library ``STRTensor`` (shares the cores)."""
        from .formats.str import STRTensor

        return STRTensor(list(self.cores), self.t, self.side)

    def _weight_tensor(self):
        # The equivalent ring of ranks R/t (SPEC §4), contracted left to right.
        h1 = self._first_trace()
        rho0 = h1.shape[0]
        p = h1.reshape(rho0 * h1.shape[1], h1.shape[2])
        for g in list(self.cores)[1:]:
            r, size, q = g.shape
            p = (p @ g.reshape(r, size * q)).reshape(-1, q)
        p = p.reshape(rho0, -1, rho0)
        full = torch.diagonal(p, dim1=0, dim2=2).sum(-1)
        return full.reshape(self.modes)

    def _forward_cores(self, x2):
        return _ring_forward(x2, [self._first_trace(), *list(self.cores)[1:]], self.modes)

    def _cores_flops(self, batch):
        return _ring_forward_cost(batch, self._ring_ranks(), self.modes, self.in_features)

    def _rebuild_flops(self):
        return _chain_rebuild_cost(self._ring_ranks(), self.modes)

    @classmethod
    def from_linear(cls, linear, in_shape, out_shape, ranks, t=2, *, side="left", **fit_kwargs):
        """Compress a trained `torch.nn.Linear` by `~semitensor.decomposition.str.str_decompose`.

        The fit is the ALS of the equivalent tensor ring of ranks ``R/t``, embedded in
        STR shapes (``H_1/t`` on the diagonal of the first core; see `str_decompose`).

        Parameters
        ----------
        linear : torch.nn.Linear
        in_shape, out_shape, ranks, t, side
            As in `STRLinear`.
        **fit_kwargs
            Passed to `str_decompose` (e.g. ``n_iter_max``, ``tol``,
            ``random_state``).

        Returns
        -------
        STRLinear
            On the device and dtype of ``linear``, bias copied, ``init_info`` set.

        Examples
        --------
        >>> import torch
        >>> from semitensor.nn import STRLinear
        >>> _ = torch.manual_seed(0)
        >>> dense = torch.nn.Linear(16, 16)
        >>> layer = STRLinear.from_linear(dense, (4, 4), (4, 4), ranks=4, t=2, random_state=0)
        >>> w, w0 = layer.weight.detach(), dense.weight.detach()
        >>> err = float(torch.linalg.norm(w - w0) / torch.linalg.norm(w0))
        >>> abs(err - layer.init_info.rel_error) < 1e-5
        True
        """
        from .decomposition.str import str_decompose

        w, factory = cls._from_linear_checks(linear)
        layer = cls(
            linear.in_features,
            linear.out_features,
            in_shape,
            out_shape,
            ranks,
            t,
            side,
            bias=linear.bias is not None,
            **factory,
        )
        wt = matrix_to_tensor(w.to(torch.float64), layer.in_shape, layer.out_shape).contiguous()
        dec = str_decompose(wt, list(layer.ranks), layer.t, side=side, **fit_kwargs)
        with torch.no_grad():
            for p, g in zip(layer.cores, dec.cores):
                p.copy_(g.to(**factory))
        return layer._finish_from_linear(linear, dec.info)


class STTuLinear(_STPLinear):
    """Linear layer whose weight is a semi-tensor Tucker tensor (STTu, SPEC §4).

    The interleaved weight tensor (module docstring) is
    ``G ×_1 (U_1⊗I_{t_1}) ×_2 … ×_{2d} (U_{2d}⊗I_{t_{2d}})`` with core ``G`` of shape
    ``ranks`` and factors ``U_n`` of shape ``(m_n/t_n, R_n/t_n)``.

    Parameters
    ----------
    in_features, out_features, in_shape, out_shape, side, bias, forward_path, device, dtype
        As in `STTLinear`.
    ranks : int or sequence of 2d int
        Core sizes ``R_n`` over the interleaved modes; multiples of ``t_n``, at most
        the mode size ``m_n``.
    t : int or sequence of 2d int, default 2
        STP factor per interleaved mode; must divide the mode size and the rank.

    Notes
    -----
    The path through the cores projects the input on the input factors
    (`~semitensor.tenalg.stp_mode_dot` with ``U_nᵀ``), multiplies by the core viewed
    as a ``∏R_in × ∏R_out`` matrix and expands with the output factors.

    Examples
    --------
    >>> import torch
    >>> from semitensor.nn import STTuLinear
    >>> _ = torch.manual_seed(0)
    >>> layer = STTuLinear(64, 36, (8, 8), (6, 6), ranks=4, t=2)
    >>> layer(torch.randn(5, 64)).shape
    torch.Size([5, 36])
    """

    def __init__(
        self,
        in_features,
        out_features,
        in_shape,
        out_shape,
        ranks,
        t=2,
        side="left",
        bias=True,
        forward_path="auto",
        device=None,
        dtype=None,
    ):
        super().__init__(in_features, out_features, in_shape, out_shape, side, bias, forward_path)
        modes = self.modes
        n = len(modes)
        if isinstance(t, numbers.Integral) and not isinstance(t, bool):
            ts = [_check_t(t)] * n
            tnames = ["t"] * n
        elif isinstance(t, (list, tuple)) and len(t) == n:
            ts = [_positive_int(v, f"t[{k}]") for k, v in enumerate(t)]
            tnames = [f"t[{k}]" for k in range(n)]
        else:
            raise TypeError(f"t must be an int or a list of {n} ints (one per mode); got {t!r}")
        rs, names = _check_ranks_list(ranks, n, "one per interleaved mode")
        for k, (size, tk, r) in enumerate(zip(modes, ts, rs)):
            if size % tk:
                raise ValueError(
                    f"{tnames[k]}={tk} must divide the size of interleaved mode {k} ({size}); "
                    f"modes {modes}"
                )
            if r % tk or r > size:
                raise ValueError(
                    f"{names[k]} must be a positive multiple of t={tk} no larger than the size "
                    f"of interleaved mode {k} ({size}); got {r}"
                )
        self.t = tuple(ts)
        self.ranks = tuple(rs)
        factory = {"device": device, "dtype": dtype}
        self.core = nn.Parameter(torch.randn(self.ranks, **factory))
        self.factors = nn.ParameterList(
            [
                nn.Parameter(torch.randn(size // tk, r // tk, **factory))
                for size, tk, r in zip(modes, ts, rs)
            ]
        )
        self._init_bias(bias, factory)
        self._rescale([self.core, *self.factors])

    def to_format(self):
        """The weight tensor as a library `~semitensor.formats.sttu.STTuTensor`."""
        return STTuTensor(self.core, list(self.factors), self.t, self.side)

    def _weight_tensor(self):
        return self.to_format().to_tensor()

    def _forward_cores(self, x2):
        b, d = x2.shape[0], len(self.in_shape)
        ins, outs = list(range(0, 2 * d, 2)), list(range(1, 2 * d, 2))
        y = x2.reshape(b, *self.in_shape)
        for j in self._in_order():
            u = self.factors[ins[j]]
            y = stp_mode_dot(y, u.transpose(0, 1), j + 1, side=self.side)
        r_in = math.prod(self.ranks[k] for k in ins)
        r_out = math.prod(self.ranks[k] for k in outs)
        core = self.core.permute(ins + outs).reshape(r_in, r_out)
        y = (y.reshape(b, r_in) @ core).reshape(b, *(self.ranks[k] for k in outs))
        for j in self._out_order():
            y = stp_mode_dot(y, self.factors[outs[j]], j + 1, side=self.side)
        return y.reshape(b, self.out_features)

    def _in_order(self):
        ins = range(0, len(self.modes), 2)
        return cheapest_mode_order(
            [self.modes[k] for k in ins],
            [self.ranks[k] for k in ins],
            [self.ranks[k] // self.t[k] for k in ins],
        )

    def _out_order(self):
        outs = range(1, len(self.modes), 2)
        return cheapest_mode_order(
            [self.ranks[k] for k in outs],
            [self.modes[k] for k in outs],
            [self.modes[k] // self.t[k] for k in outs],
        )

    @staticmethod
    def _seq_flops(size, sizes_in, sizes_out, rows, order):
        total = 0
        for j in order:
            total += 2 * rows[j] * size
            size = size // sizes_in[j] * sizes_out[j]
            total += _WRITE_COST * size
        return total

    def _cores_flops(self, batch):
        ins, outs = list(range(0, len(self.modes), 2)), list(range(1, len(self.modes), 2))
        m, r, t = self.modes, self.ranks, self.t
        total = self._seq_flops(
            batch * self.in_features,
            [m[k] for k in ins],
            [r[k] for k in ins],
            [r[k] // t[k] for k in ins],
            self._in_order(),
        )
        r_in, r_out = math.prod(r[k] for k in ins), math.prod(r[k] for k in outs)
        total += 2 * batch * r_in * r_out + _WRITE_COST * batch * r_out
        total += self._seq_flops(
            batch * r_out,
            [r[k] for k in outs],
            [m[k] for k in outs],
            [m[k] // t[k] for k in outs],
            self._out_order(),
        )
        return total

    def _rebuild_flops(self):
        m, r = self.modes, self.ranks
        rows = [size // tk for size, tk in zip(m, self.t)]
        order = cheapest_mode_order(r, m, rows)
        return self._seq_flops(math.prod(r), r, m, rows, order)

    @classmethod
    def from_linear(cls, linear, in_shape, out_shape, ranks, t=2, *, side="left", **fit_kwargs):
        """Compress a trained `torch.nn.Linear` by `~semitensor.decomposition.sttu.sttu_decompose`.

        Parameters
        ----------
        linear : torch.nn.Linear
        in_shape, out_shape, ranks, t, side
            As in `STTuLinear`.
        **fit_kwargs
            Passed to `sttu_decompose` (e.g. ``method``, ``n_iter_max``, ``tol``).

        Returns
        -------
        STTuLinear
            On the device and dtype of ``linear``, bias copied, ``init_info`` set.

        Examples
        --------
        >>> import torch
        >>> from semitensor.nn import STTuLinear
        >>> _ = torch.manual_seed(0)
        >>> dense = torch.nn.Linear(16, 16)
        >>> layer = STTuLinear.from_linear(dense, (4, 4), (4, 4), ranks=4, t=2)
        >>> bool(torch.allclose(layer.weight, dense.weight, atol=1e-5))
        True
        """
        from .decomposition.sttu import sttu_decompose

        w, factory = cls._from_linear_checks(linear)
        layer = cls(
            linear.in_features,
            linear.out_features,
            in_shape,
            out_shape,
            ranks,
            t,
            side,
            bias=linear.bias is not None,
            **factory,
        )
        wt = matrix_to_tensor(w.to(torch.float64), layer.in_shape, layer.out_shape).contiguous()
        dec = sttu_decompose(wt, list(layer.ranks), list(layer.t), side=side, **fit_kwargs)
        with torch.no_grad():
            layer.core.copy_(dec.core.to(**factory))
            for p, u in zip(layer.factors, dec.factors):
                p.copy_(u.to(**factory))
        return layer._finish_from_linear(linear, dec.info)


# --- convolutions -----------------------------------------------------------------

_LAYERS = {"stt": STTLinear, "str": STRLinear, "sttu": STTuLinear}


def _pair(value, name):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise TypeError(f"{name} must be an int or a pair of ints; got {value!r}")
    return tuple(int(v) for v in value)


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
    in_shape, out_shape, ranks, t, side
        As in the linear layer of ``method``.
    method : {"stt", "str", "sttu"}, default "stt"
    stride, padding, dilation : int or pair of int, default 1, 0, 1
        As in `torch.nn.Conv2d` (zero padding, ``groups=1``).
    bias : bool, default True
    forward_path : {"auto", "cores", "dense"}, default "auto"
        ``"cores"``: im2col, then the linear layer's contraction through the cores for
        every patch; ``"dense"``: rebuild the kernel and call
        `torch.nn.functional.conv2d`. ``"auto"`` compares the two by the cost model
        of `STTLinear.flops` (the im2col copy counted as writes).
    device, dtype : optional

    Attributes
    ----------
    linear : STTLinear, STRLinear or STTuLinear
        Holds the cores and the bias.
    n_params, compression_ratio : int, float
        As for the linear layers, against a `torch.nn.Conv2d` of the same sizes.

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
        method="stt",
        side="left",
        stride=1,
        padding=0,
        dilation=1,
        bias=True,
        forward_path="auto",
        device=None,
        dtype=None,
    ):
        super().__init__()
        if method not in _LAYERS:
            raise ValueError(f"method must be one of {sorted(_LAYERS)}; got {method!r}")
        if forward_path not in _PATHS:
            raise ValueError(
                f"forward_path must be 'auto', 'cores' or 'dense'; got {forward_path!r}"
            )
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.method = method
        self.forward_path = forward_path
        self.last_path = None
        n_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        self.linear = _LAYERS[method](
            n_in,
            self.out_channels,
            in_shape,
            out_shape,
            ranks,
            t,
            side,
            bias,
            device=device,
            dtype=dtype,
        )

    @property
    def weight(self):
        """The dense kernel ``out_channels × in_channels × kh × kw`` (differentiable)."""
        return self.linear.weight.reshape(self.out_channels, self.in_channels, *self.kernel_size)

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
        out = []
        for size, k, s, p, d in zip(
            (h, w), self.kernel_size, self.stride, self.padding, self.dilation
        ):
            out.append((size + 2 * p - d * (k - 1) - 1) // s + 1)
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
        lin = self.linear.flops(rows)
        im2col = _WRITE_COST * rows * self.linear.in_features
        return {"cores": lin["cores"] + im2col, "dense": lin["dense"]}

    def path_for(self, batch, height, width):
        """``"cores"`` or ``"dense"``: the path ``forward`` takes for this input size."""
        if self.forward_path != "auto":
            return self.forward_path
        f = self.flops(batch, height, width)
        return "cores" if f["cores"] < f["dense"] else "dense"

    def forward(self, x):
        """Convolve ``x`` of shape ``(B, in_channels, H, W)``."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"input must have shape (B, {self.in_channels}, H, W); got {tuple(x.shape)}"
            )
        b, _, h, w = x.shape
        path = self.path_for(b, h, w)
        self.last_path = path
        if path == "dense":
            return nn.functional.conv2d(
                x, self.weight, self.bias, self.stride, self.padding, self.dilation
            )
        oh, ow = self._out_hw(h, w)
        cols = nn.functional.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)
        rows = cols.transpose(1, 2).reshape(b * oh * ow, self.linear.in_features)
        y = self.linear._forward_cores(rows)
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(b, oh, ow, self.out_channels).permute(0, 3, 1, 2)

    def extra_repr(self):
        """Sizes and options, shown by ``repr``."""
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"method={self.method!r}"
        )

    @classmethod
    def from_conv(
        cls, conv, in_shape, out_shape, ranks, t=2, *, method="stt", side="left", **fit_kwargs
    ):
        """Compress a trained `torch.nn.Conv2d` through the linear layer's ``from_linear``.

        Parameters
        ----------
        conv : torch.nn.Conv2d
            ``groups=1`` and zero padding (``padding_mode="zeros"``, numeric padding).
        in_shape, out_shape, ranks, t, method, side
            As in `STPConv2d`.
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
            For grouped convolutions, non-zero padding modes or string padding.

        Examples
        --------
        >>> import torch
        >>> from semitensor.nn import STPConv2d
        >>> _ = torch.manual_seed(0)
        >>> conv = torch.nn.Conv2d(4, 4, 3, padding=1)
        >>> layer = STPConv2d.from_conv(conv, (4, 9), (2, 2), ranks=[4, 2, 9, 2], t=1,
        ...                             method="sttu")
        >>> x = torch.randn(1, 4, 5, 5)
        >>> bool(torch.allclose(layer(x), conv(x), atol=1e-5))
        True
        """
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"conv must be a torch.nn.Conv2d; got {type(conv).__name__}")
        if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(
                "from_conv supports groups=1, padding_mode='zeros' and numeric padding; got "
                f"groups={conv.groups}, padding_mode={conv.padding_mode!r}, "
                f"padding={conv.padding!r}"
            )
        w = conv.weight.detach()
        factory = {"device": w.device, "dtype": w.dtype}
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            in_shape,
            out_shape,
            ranks,
            t,
            method=method,
            side=side,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            bias=conv.bias is not None,
            **factory,
        )
        flat = nn.Linear(layer.linear.in_features, conv.out_channels, conv.bias is not None)
        flat = flat.to(**factory)
        with torch.no_grad():
            flat.weight.copy_(w.reshape(conv.out_channels, -1))
            if conv.bias is not None:
                flat.bias.copy_(conv.bias.detach())
        layer.linear = _LAYERS[method].from_linear(
            flat, in_shape, out_shape, ranks, t, side=side, **fit_kwargs
        )
        return layer


# --- whole models ------------------------------------------------------------------


@dataclass
class CompressionReport:
    """What `compress_linear_layers` did.

    Attributes
    ----------
    layers : list of dict
        One entry per `torch.nn.Linear` looked at: ``name``, ``in_features``,
        ``out_features``, ``params_before``, ``params_after`` (equal when skipped),
        ``rel_error`` (of the weight; ``None`` when skipped) and ``skipped`` (the
        reason, or ``None``).
    params_before, params_after : int
        Parameters of the whole model before and after.
    """

    layers: list = field(default_factory=list)
    params_before: int = 0
    params_after: int = 0

    @property
    def compression_ratio(self):
        """``params_before / params_after`` for the whole model."""
        return self.params_before / self.params_after if self.params_after else float("nan")

    def __str__(self):
        lines = [f"{'layer':<20} {'in':>6} {'out':>6} {'before':>9} {'after':>9}  note"]
        for e in self.layers:
            note = e["skipped"] or f"rel_error {e['rel_error']:.3g}"
            lines.append(
                f"{e['name']:<20} {e['in_features']:>6} {e['out_features']:>6} "
                f"{e['params_before']:>9} {e['params_after']:>9}  {note}"
            )
        lines.append(
            f"total: {self.params_before} -> {self.params_after} parameters "
            f"({self.compression_ratio:.3g}x)"
        )
        return "\n".join(lines)


def compress_linear_layers(
    model, method="stt", ranks=8, t=2, *, d=2, min_params=4096, shapes=None, side="left", **fit
):
    """Replace, in place, every large `torch.nn.Linear` of ``model`` by an STP layer.

    Parameters
    ----------
    model : torch.nn.Module
        Modified in place: each compressed `torch.nn.Linear` is replaced by the
        result of ``from_linear``.
    method : {"stt", "str", "sttu"}, default "stt"
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
    **fit
        Passed to the decomposition (``n_iter_max``, ``tol``, ``random_state``...).

    Returns
    -------
    CompressionReport
        Per layer and whole-model parameter counts; layers that cannot take the
        requested ranks/``t`` or would not shrink are skipped with the reason.

    Raises
    ------
    ValueError
        If ``method`` is unknown.

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
    if method not in _LAYERS:
        raise ValueError(f"method must be one of {sorted(_LAYERS)}; got {method!r}")
    cls = _LAYERS[method]
    report = CompressionReport(params_before=sum(p.numel() for p in model.parameters()))
    targets = [(n, m) for n, m in model.named_modules() if type(m) is nn.Linear]
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
        if linear.in_features * linear.out_features < min_params:
            entry["skipped"] = f"weight has fewer than min_params={min_params} entries"
            continue
        if shapes is not None:
            in_shape, out_shape = shapes(name, linear)
        else:
            in_shape = factorize(linear.in_features, d)
            out_shape = factorize(linear.out_features, d)
        try:  # a cheap probe first: sizes, ranks and t are checked before any fit
            probe = cls(
                linear.in_features,
                linear.out_features,
                in_shape,
                out_shape,
                ranks,
                t,
                side,
                bias=linear.bias is not None,
            )
        except (TypeError, ValueError) as exc:
            entry["skipped"] = f"cannot factorise: {exc}"
            continue
        if probe.n_params >= before:
            entry["skipped"] = f"{method} layer would not be smaller ({probe.n_params} parameters)"
            continue
        layer = cls.from_linear(linear, in_shape, out_shape, ranks, t, side=side, **fit)
        entry["params_after"] = layer.n_params
        entry["rel_error"] = float(layer.init_info.rel_error) if layer.init_info else None
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, layer)
    report.params_after = sum(p.numel() for p in model.parameters())
    return report
