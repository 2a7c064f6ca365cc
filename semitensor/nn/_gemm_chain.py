"""The inputs-first order of a four-core ring as a chain of explicit GEMMs.

`inputs_first` computes ``y[b, o_1, o_2] = Σ x[b, i_1, i_2] H_1[p, i_1, q] H_2[q, o_1, r]
H_3[r, i_2, s] H_4[s, o_2, p]`` (what ``_contract._inputs_first`` computes through
autograd) by a `torch.autograd.Function` whose forward and hand-written backward are a
few `torch.mm` / `torch.bmm` calls on contiguous or plainly transposed operands. The
batch is the innermost (contiguous) index of every intermediate, so that each GEMM
writes rows of at least ``B`` entries: a GEMM whose output rows are an odd number of
bond entries long runs several times below the rate of the same product written
transposed (MKL, one thread: ``(30976 × 32)·(32 × 121)`` at 20 GFLOP/s, its transpose
at 55). For the ring ``(H_1, H_2, H_3, H_4)`` the chain is

- ``A = g_3 xᵀ``: ``(r, s, b, i_1)`` (``I_2`` contracted),
- ``C = g_1 Aᵀ``: ``(p, q, r, s, b)`` (``I_1``),
- ``D = g_2 C``: ``(o_1, p, s, b)`` (``(q, r)``, one GEMM per ``p``),
- ``y = D g_4``: ``(b, o_1, o_2)`` (``(p, s)``, one GEMM per ``o_1``),

and the intermediates are saved: the backward reuses them (it recomputes nothing), and
its weight gradients contract over the long contiguous ``(…, b)`` blocks. The only
copies of batch-sized tensors are ``D`` and ``y`` (one each). Rotating the ring by two
cores (inputs and outputs swapped) or reversing it (cores transposed, ``I_1`` first)
gives the same product through another chain: `chain_costs` models the four and
`inputs_first` takes the cheapest. Any device and floating dtype.
"""

from __future__ import annotations

import torch

__all__ = ["inputs_first", "chain_costs"]

_NOMINAL_BATCH = 256


def _gemm(rows, inner, cols, knee, write):
    """`_contract.gemm_cost` (passed in to avoid the import cycle)."""
    slow = 1 + knee / max(min(rows, inner, cols), 1)
    return 2 * rows * inner * cols * slow + write * rows * cols


def _variant(ring_ranks, modes, rotate, reflect):
    """Bonds ``(p, q, r, s)`` and modes ``(i1, o1, i2, o2)`` the chain sees."""
    p, q, r, s = ring_ranks
    i1, o1, i2, o2 = modes
    if reflect:  # (H3ᵀ, H2ᵀ, H1ᵀ, H4ᵀ) over (i2, o1, i1, o2)
        p, q, r, s = s, r, q, p
        i1, i2 = i2, i1
    if rotate:  # (H3, H4, H1, H2) over (i2, o2, i1, o1)
        p, q, r, s = r, s, p, q
        i1, o1, i2, o2 = i2, o2, i1, o1
    return (p, q, r, s), (i1, o1, i2, o2)


def chain_costs(batch, ranks, modes, knee, write):
    """Model costs ``{(rotate, reflect): cost}`` of the four chains (see the module).

    Each GEMM at the rate of `_contract.gemm_cost` (``knee``, ``write``), plus ``write``
    per entry of the copies: ``D``, ``y``, and ``x`` when the chain takes it transposed.
    """
    b = batch
    out = {}
    for rotate in (False, True):
        for reflect in (False, True):
            (p, q, r, s), (i1, o1, i2, o2) = _variant(ranks, modes, rotate, reflect)
            cost = (
                _gemm(r * s, i2, b * i1, knee, write)
                + _gemm(p * q, i1, r * s * b, knee, write)
                + p * _gemm(o1, q * r, s * b, knee, write)
                + o1 * _gemm(b, p * s, o2, knee, write)
                + write * b * (o1 * p * s + o1 * o2)
            )
            if rotate != reflect:  # x is read with its two input indices swapped
                cost += write * b * i1 * i2
            out[(rotate, reflect)] = cost
    return out


class _InputsFirst(torch.autograd.Function):
    """The chain of the module docstring; ``swap``: return ``y`` as ``(b, o_2, o_1)``."""

    @staticmethod
    def forward(ctx, x2, h1, h2, h3, h4, swap):
        p, i1, q = h1.shape
        o1, r = h2.shape[1], h2.shape[2]
        i2, s = h3.shape[1], h3.shape[2]
        o2, b = h4.shape[1], x2.shape[0]
        g1 = h1.permute(0, 2, 1).reshape(p * q, i1)  # g1[(p q), i1]
        g2 = h2.permute(1, 0, 2).reshape(o1, q * r)  # g2[o1, (q r)]
        g3 = h3.permute(0, 2, 1).reshape(r * s, i2)  # g3[(r s), i2]
        g4 = h4.permute(1, 2, 0).reshape(o2, p * s)  # g4[o2, (p s)]
        xm = x2.reshape(b * i1, i2)
        a = torch.mm(g3, xm.t())  # (rs, b·i1)
        c = torch.mm(g1, a.view(r * s * b, i1).t())  # (pq, rs·b)
        d = torch.bmm(g2.expand(p, o1, q * r), c.view(p, q * r, s * b))  # (p, o1, sb)
        d = d.transpose(0, 1).reshape(o1, p * s, b)
        y = torch.bmm(d.transpose(1, 2), g4.t().expand(o1, p * s, o2))  # (o1, b, o2)
        y = (y.permute(1, 2, 0) if swap else y.transpose(0, 1)).reshape(b, o1 * o2)
        ctx.save_for_backward(xm, a, c, d, g1, g2, g3, g4)
        ctx.sizes = (b, p, q, r, s, i1, i2, o1, o2, swap)
        return y

    @staticmethod
    def backward(ctx, gy):
        # Complex: the gradient of a product goes through the conjugates (a no-op
        # view for real tensors).
        xm, a, c, d, g1, g2, g3, g4 = (t.conj() for t in ctx.saved_tensors)
        b, p, q, r, s, i1, i2, o1, o2, swap = ctx.sizes
        need_x, n1, n2, n3, n4 = ctx.needs_input_grad[:5]
        if swap:
            gyo = gy.reshape(b, o2, o1).permute(2, 0, 1)  # (o1, b, o2)
        else:
            gyo = gy.reshape(b, o1, o2).transpose(0, 1)
        gh1 = gh2 = gh3 = gh4 = gx = None
        # y[:, o1] = D[o1]ᵀ g4ᵀ
        gd = torch.bmm(g4.t().expand(o1, p * s, o2), gyo.transpose(1, 2))  # (o1, ps, b)
        if n4:  # gg4[o2, ps] = Σ_{o1, b} gy[b, o1, o2] D[o1, ps, b]
            if o2 <= b:  # the per-o1 products are no larger than D
                gg4 = torch.bmm(gyo.transpose(1, 2), d.transpose(1, 2)).sum(0)
            else:  # one GEMM over (o1, b), through a copy of D
                dt = d.permute(0, 2, 1).reshape(o1 * b, p * s)
                gg4 = torch.mm(gyo.reshape(o1 * b, o2).t(), dt)
            gh4 = gg4.view(o2, p, s).permute(2, 0, 1)
        # D[:, p] = g2 C[p]
        gdp = gd.view(o1, p, s * b).transpose(0, 1)  # (p, o1, sb)
        if n2:  # gg2[o1, qr] = Σ_{p, sb} gD[o1, p, sb] C[p, qr, sb]
            cp = c.view(p, q * r, s * b)
            if o1 <= s * b:  # the per-p products are no larger than C
                gg2 = torch.bmm(gdp, cp.transpose(1, 2)).sum(0)
            else:  # one GEMM over (p, sb), through a copy of C
                ct = cp.transpose(1, 2).reshape(p * s * b, q * r)
                gg2 = torch.mm(gd.view(o1, p * s * b), ct)
            gh2 = gg2.view(o1, q, r).permute(1, 0, 2)
        gc = torch.bmm(g2.t().expand(p, q * r, o1), gdp).view(p * q, r * s * b)
        # C = g1 Aᵀ, A viewed (rs·b, i1)
        if n1:
            gh1 = torch.mm(gc, a.view(r * s * b, i1)).view(p, q, i1).permute(0, 2, 1)
        if need_x or n3:
            ga = torch.mm(gc.t(), g1).view(r * s, b * i1)
            # A = g3 xmᵀ
            if n3:
                gh3 = torch.mm(ga, xm).view(r, s, i2).permute(0, 2, 1)
            if need_x:
                gx = torch.mm(ga.t(), g3).view(b, i1 * i2)
        return gx, gh1, gh2, gh3, gh4, None


def inputs_first(x2, ring, modes, knee=64.0, write=16.0, variant=None):
    """``x2 (B, I_1·I_2)`` through the four ring cores, both inputs first: ``(B, O_1·O_2)``.

    The cheapest of the four chains by `chain_costs` at a nominal batch of
    `_NOMINAL_BATCH` rows (the choice depends on the ranks and modes only, so that a
    trace or a compiled graph holds for every batch), as one `torch.autograd.Function`
    call; ``variant`` ``(rotate, reflect)`` forces one (tests).
    """
    if variant is None:
        ranks = [core.shape[0] for core in ring]
        costs = chain_costs(_NOMINAL_BATCH, ranks, modes, knee, write)
        variant = min(costs, key=costs.get)
    rotate, reflect = variant
    i1, o1, i2, o2 = modes
    b = x2.shape[0]
    h1, h2, h3, h4 = ring
    if reflect:
        h1, h2, h3 = (h.permute(2, 1, 0) for h in (h3, h2, h1))
        h4 = h4.permute(2, 1, 0)
    if rotate:
        h1, h2, h3, h4 = h3, h4, h1, h2
    if rotate != reflect:
        x2 = x2.reshape(b, i1, i2).transpose(1, 2).reshape(b, i1 * i2)
    return _InputsFirst.apply(x2, h1, h2, h3, h4, rotate)
