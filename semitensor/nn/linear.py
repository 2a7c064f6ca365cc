"""`STTLinear` and `STRLinear`: `torch.nn.Linear` with an STT or STR weight.

Each layer holds the cores of one library format over the interleaved modes
(`semitensor.nn._layout`) and derives everything else from that format:
``to_format()`` shares the cores, ``weight`` is ``to_format().to_tensor()`` (for STR,
of its compact ring), and the path through the cores contracts the exact tensor ring
of `semitensor.formats.chain` (`stt_to_ring`, `partial_trace`). `STTuLinear` lives in
`semitensor.nn.tucker`; `layer_class` maps the three format names to the classes.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_choice, check_positive_int, check_rank_list
from ..formats import chain
from ..formats.str import STRTensor
from ..formats.stt import STTTensor
from ._base import STPLinearBase, layer_factory
from ._contract import (
    ring_forward,
    ring_moments,
    ring_rebuild_cost,
    ring_to_matrix,
    ring_to_tensor,
)
from ._contract import ring_forward_cost as _ring_cost
from .tucker import STTuLinear

__all__ = ["STTLinear", "STRLinear", "layer_class"]


class STTLinear(STPLinearBase):
    """Linear layer whose weight is a semi-tensor train (STT, SPEC §4).

    The interleaved weight tensor ``(I_1, O_1, …, I_d, O_d)`` (`matrix_to_tensor`) is
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
        ``"cores"`` contracts the input with the cores, ``"dense"`` rebuilds the
        weight and calls `torch.nn.functional.linear`; ``"auto"`` picks the cheaper
        by `flops` for every call. The path taken is in ``last_path``.
    device, dtype : optional
        As for `torch.nn.Linear` (the meta device included; see `reset_parameters`).

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
        For invalid sizes, ranks, ``t``, ``side``, ``bias`` or ``forward_path``.

    Notes
    -----
    With ``N > 2`` the STT is exactly the tensor ring of ranks
    ``(t, R_1/t, …, R_{N−1}/t, t)`` (SPEC §4, `semitensor.formats.chain.stt_to_ring`);
    the path through the cores contracts that ring.

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
        self.t = check_positive_int(t, "t")
        n = len(self.modes)
        # Two cores have no interior core, so no t divides their bond.
        multiple = (self.t,) * (n - 1) if n > 2 else None
        bonds = check_rank_list(ranks, n - 1, "one per bond of the 2d-core train", multiple)
        self.ranks = tuple(bonds)
        factory = layer_factory(device, dtype)
        shapes = chain.stt_core_shapes(self.modes, self.ranks, self.t)
        self.cores = nn.ParameterList([nn.Parameter(torch.empty(s, **factory)) for s in shapes])
        self._make_parameters(factory)

    def _weight_parameters(self):
        return list(self.cores)

    def to_format(self):
        """The weight tensor as a `~semitensor.formats.stt.STTTensor` (shares the cores)."""
        return STTTensor(list(self.cores), self.t, self.side)

    def _ring_ranks(self):
        return chain.stt_ring_ranks(self.ranks, self.t)[:-1]

    def _ring(self):
        return chain.stt_to_ring(list(self.cores), self.t, self.side)

    def _weight_std(self):
        return _ring_std(self._ring(), self.in_features * self.out_features)

    def _weight_tensor(self):
        return ring_to_tensor(self._ring(), self.modes)

    def _weight_matrix(self):
        return ring_to_matrix(self._ring(), self.modes)

    def _forward_cores(self, x2):
        return ring_forward(x2, self._ring(), self.modes)

    def _cores_flops(self, batch):
        return _ring_cost(batch, self._ring_ranks(), self.modes)

    def _rebuild_flops(self):
        return ring_rebuild_cost(self._ring_ranks(), self.modes)

    def _fit(self, wt, **fit_kwargs):
        from ..decomposition.stt import stt_decompose

        return stt_decompose(wt, list(self.ranks), self.t, side=self.side, **fit_kwargs)

    @classmethod
    def from_linear(cls, linear, in_shape, out_shape, ranks, t=2, *, side="left", **fit_kwargs):
        """Compress a trained `torch.nn.Linear` by `~semitensor.decomposition.stt.stt_decompose`.

        Parameters
        ----------
        linear : torch.nn.Linear
        in_shape, out_shape, ranks, t, side
            As in `STTLinear`.
        **fit_kwargs
            Passed to `stt_decompose` (e.g. ``n_iter_max``, ``tol``, ``random_state``).

        Returns
        -------
        STTLinear
            On the device and dtype of ``linear``; the bias is copied; ``init_info``
            holds the fit's record (``init_info.rel_error`` is the relative error of
            the weight). The fit runs in float64.

        Raises
        ------
        TypeError
            If ``linear`` is not a `torch.nn.Linear`; as `STTLinear` for the sizes.

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
        return cls._from_linear(linear, in_shape, out_shape, ranks, t, side, fit_kwargs)


class STRLinear(STPLinearBase):
    """Linear layer whose weight is a semi-tensor ring (STR, SPEC §4).

    The interleaved weight tensor (`matrix_to_tensor`) is an STR with ``N = 2d``
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
    SPEC §4, `semitensor.formats.chain.partial_trace`). Both forward paths contract
    that ring (``to_format().compact()``), so they cost what a ring of ranks ``R/t``
    costs; the entries of ``cores[0]`` off the partial-trace diagonal never reach the
    output (their gradient is zero) — the STR's first core stores ``t²`` times more
    numbers than it can use, and `n_params` counts them all.

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
        self.t = check_positive_int(t, "t")
        n = len(self.modes)
        bonds = check_rank_list(ranks, n, "R_0 and one per bond", (self.t,) * n)
        self.ranks = tuple(bonds)
        factory = layer_factory(device, dtype)
        shapes = chain.str_core_shapes(self.modes, self.ranks, self.t)
        self.cores = nn.ParameterList([nn.Parameter(torch.empty(s, **factory)) for s in shapes])
        self._make_parameters(factory)

    def _weight_parameters(self):
        return list(self.cores)

    def to_format(self):
        """The weight tensor as a `~semitensor.formats.str.STRTensor` (shares the cores)."""
        return STRTensor(list(self.cores), self.t, self.side)

    def _ring(self):
        # The compact ring (ranks R/t) is the same tensor, t² cheaper to contract.
        return [chain.partial_trace(self.cores[0], self.t, self.side), *list(self.cores)[1:]]

    def _weight_tensor(self):
        return ring_to_tensor(self._ring(), self.modes)

    def _weight_matrix(self):
        return ring_to_matrix(self._ring(), self.modes)

    def _weight_std(self):
        return _ring_std(self._ring(), self.in_features * self.out_features)

    def _ring_ranks(self):
        return chain.str_ring_ranks(self.ranks, self.t)[:-1]

    def _forward_cores(self, x2):
        return ring_forward(x2, self._ring(), self.modes)

    def _cores_flops(self, batch):
        return _ring_cost(batch, self._ring_ranks(), self.modes)

    def _rebuild_flops(self):
        return ring_rebuild_cost(self._ring_ranks(), self.modes)

    def _fit(self, wt, **fit_kwargs):
        from ..decomposition.str import str_decompose

        if "full_core" in fit_kwargs:
            raise TypeError(
                "STR layers keep their full core on the first mode; full_core cannot be passed"
            )
        return str_decompose(
            wt, list(self.ranks), self.t, side=self.side, full_core=0, **fit_kwargs
        )

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
            Passed to `str_decompose` (e.g. ``n_iter_max``, ``tol``, ``random_state``).

        Returns
        -------
        STRLinear
            On the device and dtype of ``linear``, bias copied, ``init_info`` set.

        Raises
        ------
        TypeError
            If ``linear`` is not a `torch.nn.Linear`; as `STRLinear` for the sizes.

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
        return cls._from_linear(linear, in_shape, out_shape, ranks, t, side, fit_kwargs)


def _ring_std(ring, n):
    """Sample standard deviation of the ``n`` entries of a ring's tensor (no rebuild)."""
    total, squares = ring_moments(ring)
    return max(squares - total * total / n, 0.0) ** 0.5 / max(n - 1, 1) ** 0.5


_LAYERS = {"stt": STTLinear, "str": STRLinear, "sttu": STTuLinear}


def layer_class(format):
    """The layer class of a format name.

    Parameters
    ----------
    format : {"stt", "str", "sttu"}

    Returns
    -------
    type
        `STTLinear`, `STRLinear` or `STTuLinear`.

    Raises
    ------
    ValueError
        For any other name.

    Examples
    --------
    >>> from semitensor.nn.linear import layer_class
    >>> layer_class("sttu").__name__
    'STTuLinear'
    """
    return _LAYERS[check_choice(format, "format", tuple(_LAYERS))]
