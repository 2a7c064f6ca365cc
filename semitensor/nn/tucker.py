"""`STTuLinear`: `torch.nn.Linear` with a semi-tensor Tucker (STTu) weight.

The layer holds the core and factors of a `~semitensor.formats.sttu.STTuTensor` over
the interleaved modes (`semitensor.nn._layout`): ``to_format()`` shares them, ``weight``
is ``to_format().to_tensor()``, and the path through the cores is a sequence of
semi-tensor mode products (`semitensor.tenalg.stp_mode_dot`) around one GEMM.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_rank_list, check_t
from ..formats.sttu import STTuTensor
from ..tenalg import cheapest_mode_order
from ._base import STPLinearBase, layer_factory
from ._contract import gemm_cost, mode_sequence_cost

__all__ = ["STTuLinear"]


def _mode_product(y, u, mode, side):
    """``y ×_mode (U ⊗ I_s)`` (left) or ``(I_s ⊗ U)`` (right), torch only.

    `~semitensor.tenalg.stp_mode_dot` for a torch tensor without its dispatch and
    checks (the sizes were checked at construction), so that ``torch.jit.trace`` and
    ``torch.compile`` see plain tensor operations.
    """
    shape = y.shape
    j, k = u.shape
    pre, size, post = math.prod(shape[:mode]), shape[mode], math.prod(shape[mode + 1 :])
    s = size // k  # explicit sizes, no -1: an empty batch stays reshapable
    if side == "left":
        z = torch.einsum("pksq,jk->pjsq", y.reshape(pre, k, s, post), u)
    else:
        z = torch.einsum("pskq,jk->psjq", y.reshape(pre, s, k, post), u)
    return z.reshape(*shape[:mode], j * s, *shape[mode + 1 :])


class STTuLinear(STPLinearBase):
    """Linear layer whose weight is a semi-tensor Tucker tensor (STTu, SPEC §4).

    The interleaved weight tensor (`matrix_to_tensor`) is
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
    as a ``∏R_in × ∏R_out`` matrix and expands with the output factors, each
    sequence in the order of `~semitensor.tenalg.cheapest_mode_order`.

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
        ts = check_t(t, n, what="interleaved mode")
        tname = "t[{k}]" if isinstance(t, (list, tuple)) else "t"
        for k, (size, tk) in enumerate(zip(modes, ts)):
            if size % tk:
                raise ValueError(
                    f"{tname.format(k=k)}={tk} must divide the size of interleaved mode {k} "
                    f"({size}); modes {modes}"
                )
        rs = check_rank_list(ranks, n, "one per interleaved mode", ts)
        for k, (size, r) in enumerate(zip(modes, rs)):
            if r > size:
                name = f"ranks[{k}]" if isinstance(ranks, (list, tuple)) else "ranks"
                raise ValueError(
                    f"{name} must be a positive multiple of t={ts[k]} no larger than the size "
                    f"of interleaved mode {k} ({size}); got {r}"
                )
        self.t, self.ranks = ts, tuple(rs)
        factory = layer_factory(device, dtype)
        self.core = nn.Parameter(torch.empty(self.ranks, **factory))
        self.factors = nn.ParameterList(
            [
                nn.Parameter(torch.empty(size // tk, r // tk, **factory))
                for size, tk, r in zip(modes, ts, rs)
            ]
        )
        ins, outs = list(range(0, n, 2)), list(range(1, n, 2))
        # Fixed by the sizes: computed once, so forward is plain tensor code (jit, compile).
        self._r_in = math.prod(rs[k] for k in ins)
        self._r_out = math.prod(rs[k] for k in outs)
        self._orders = (self._order(ins, into_core=True), self._order(outs, into_core=False))
        self._rebuild_order = self._order(list(range(n)), into_core=False)
        self._make_parameters(factory)

    def _weight_parameters(self):
        return [self.core, *self.factors]

    def to_format(self):
        """The weight tensor as a `~semitensor.formats.sttu.STTuTensor` (shares the parameters)."""
        return STTuTensor(self.core, list(self.factors), self.t, self.side)

    def _weight_tensor(self):
        # to_format().to_tensor() in plain torch (its dispatch breaks torch.compile graphs).
        y = self.core
        for j in self._rebuild_order:
            y = _mode_product(y, self.factors[j], j, self.side)
        return y

    def _forward_cores(self, x2):
        b, d = x2.shape[0], len(self.in_shape)
        ins, outs = list(range(0, 2 * d, 2)), list(range(1, 2 * d, 2))
        y = x2.reshape(b, *self.in_shape)
        for j in self._orders[0]:
            y = _mode_product(y, self.factors[ins[j]].transpose(0, 1), j + 1, self.side)
        r_in, r_out = self._r_in, self._r_out
        core = self.core.permute(ins + outs).reshape(r_in, r_out)
        y = (y.reshape(b, r_in) @ core).reshape(b, *(self.ranks[k] for k in outs))
        for j in self._orders[1]:
            y = _mode_product(y, self.factors[outs[j]], j + 1, self.side)
        return y.reshape(b, self.out_features)

    def _sizes(self, modes, into_core):
        """``(sizes_in, sizes_out, rows)`` of the mode products over ``modes``."""
        m, r, t = self.modes, self.ranks, self.t
        if into_core:  # U_nᵀ maps the mode size down to the rank
            return [m[k] for k in modes], [r[k] for k in modes], [r[k] // t[k] for k in modes]
        return [r[k] for k in modes], [m[k] for k in modes], [m[k] // t[k] for k in modes]

    def _order(self, modes, into_core):
        return cheapest_mode_order(*self._sizes(modes, into_core))

    def _cores_flops(self, batch):
        ins, outs = list(range(0, len(self.modes), 2)), list(range(1, len(self.modes), 2))
        r_in, r_out = self._r_in, self._r_out
        total = mode_sequence_cost(
            batch * self.in_features, *self._sizes(ins, True), self._orders[0]
        )
        total += gemm_cost(batch, r_in, r_out)
        total += mode_sequence_cost(batch * r_out, *self._sizes(outs, False), self._orders[1])
        return total

    def _rebuild_flops(self):
        sizes = self._sizes(range(len(self.modes)), into_core=False)
        return mode_sequence_cost(math.prod(self.ranks), *sizes, cheapest_mode_order(*sizes))

    def _fit(self, wt, **fit_kwargs):
        from ..decomposition.sttu import sttu_decompose

        return sttu_decompose(wt, list(self.ranks), list(self.t), side=self.side, **fit_kwargs)

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

        Raises
        ------
        TypeError
            If ``linear`` is not a `torch.nn.Linear`; as `STTuLinear` for the sizes.

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
        return cls._from_linear(linear, in_shape, out_shape, ranks, t, side, fit_kwargs)
