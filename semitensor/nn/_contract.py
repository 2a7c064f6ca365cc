"""A batch contracted with the cores of a layer, and the cost model that picks the path.

`ring_forward` applies a tensor ring over the interleaved modes ``(I_1, O_1, …)`` to a
batch of rows without forming the weight: STT and STR layers map their cores to that
ring (`semitensor.formats.chain`) and call it. The ``*_cost`` functions are the model
behind ``forward_path="auto"``: flops plus `WRITE_COST` per entry written, with the
dense GEMM's flops discounted by `GEMM_SPEEDUP`.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "WRITE_COST",
    "GEMM_SPEEDUP",
    "ring_forward",
    "ring_forward_cost",
    "chain_rebuild_cost",
    "mode_sequence_cost",
    "ring_to_tensor",
    "ring_rebuild_cost",
    "ring_moments",
]

# Cost of writing one entry, in flops, in the path model: the chain steps are thin
# GEMMs plus a permutation copy, bound by memory rather than arithmetic (the same
# weight as the chain model of semitensor.product).
WRITE_COST = 4.0
# Flops per second of one large dense GEMM relative to the thin contraction steps
# (median over STT/STR/STTu 1024x1024 layers, batch 32 to 4096, torch on CPU).
GEMM_SPEEDUP = 16.0


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
        s = state.reshape(lead, od, size, irem // size, r)
        return torch.einsum("lxiyr,riq->lxyq", s, core)
    out = torch.einsum("lxyr,roq->lxoyq", state, core)
    return out.reshape(lead, od * size, irem, q)


def ring_forward(x2, ring, modes):
    """``y[b, o] = Σ_i x[b, i] · tr(H_1(i_1) H_2(o_1) ⋯ H_N(o_d))`` through the ring cores.

    ``x2`` is ``(B, ∏ I)``, ``ring`` the cores ``H_k`` (``(ρ_{k−1}, m_k, ρ_k)``, ``ρ_N =
    ρ_0``) over ``modes``. The ring index ``ρ_0`` joins the batch after the first core
    and is traced out at the end; every step is one permutation copy and one GEMM.
    """
    b, n_in = x2.shape
    rho0, size, rho1 = ring[0].shape
    rest = n_in // size
    state = torch.einsum("biy,aiq->bayq", x2.reshape(b, size, rest), ring[0])
    state = state.reshape(b * rho0, 1, rest, rho1)
    for k in range(1, len(ring)):
        state = _ring_step(state, ring[k], modes[k], k % 2 == 0)
    _, od, irem, _ = state.shape  # irem is 1 now; explicit sizes keep B = 0 reshapable
    state = state.reshape(b, rho0, od * irem, rho0)
    return torch.diagonal(state, dim1=1, dim2=3).sum(-1)


def ring_forward_cost(batch, ranks, modes, n_in):
    """Model cost of `ring_forward`; ``ranks[k]`` (``k < N``) is the bond entering core k."""
    n = len(modes)
    rho0 = ranks[0]
    rest = n_in // modes[0]
    total = 2 * batch * n_in * rho0 * ranks[1 % n] + WRITE_COST * batch * rest * rho0 * ranks[1 % n]
    lead, od, irem, r = batch * rho0, 1, rest, ranks[1 % n]
    for k in range(1, n):
        q, size = ranks[(k + 1) % n], modes[k]
        state = lead * od * irem * r
        if k % 2 == 0:  # input step: copy the state, GEMM down to (L, Od, Irem/size, q)
            irem //= size
            written = lead * od * irem * q
            total += 2 * written * size * r + WRITE_COST * (state + written)
        else:  # output step: GEMM up to (L, Od·size, Irem, q), then a permutation copy
            od *= size
            written = lead * od * irem * q
            total += 2 * written * r + 2 * WRITE_COST * written
        r = q
    return total


def chain_rebuild_cost(ranks, modes):
    """Model cost of contracting a ring/train left to right into the full tensor."""
    n = len(modes)
    total, rows = 0.0, ranks[0] * modes[0]
    for k in range(1, n):
        written = rows * modes[k] * ranks[(k + 1) % n]
        total += 2 * written * ranks[k] + WRITE_COST * written
        rows *= modes[k]
    return total


def mode_sequence_cost(size, sizes_in, sizes_out, rows, order):
    """Model cost of semi-tensor mode products applied in ``order`` to ``size`` entries.

    Mode ``j`` maps ``sizes_in[j]`` to ``sizes_out[j]`` with a factor of ``rows[j]``
    rows (the ``U`` of ``U ⊗ I_t``), as `semitensor.tenalg.cheapest_mode_order` models.
    """
    total = 0.0
    for j in order:
        total += 2 * rows[j] * size
        size = size // sizes_in[j] * sizes_out[j]
        total += WRITE_COST * size
    return total


def _half(ring, modes):
    """Cores ``ring`` contracted left to right into ``(ρ_first, ∏ modes, ρ_last)``."""
    rho = ring[0].shape[0]
    acc = ring[0].reshape(rho * modes[0], ring[0].shape[2])
    for core, size in zip(ring[1:], modes[1:]):
        acc = acc @ core.reshape(core.shape[0], size * core.shape[2])
        acc = acc.reshape(-1, core.shape[2])
    return acc.reshape(rho, -1, acc.shape[1])


def _split(modes):
    """Where to cut the ring in two halves of the most even sizes (1 <= cut < N)."""
    total, left, best, cut = math.prod(modes), 1, None, 1
    for k in range(1, len(modes)):
        left *= modes[k - 1]
        size = left + total // left
        if best is None or size < best:
            best, cut = size, k
    return cut


def ring_to_tensor(ring, modes):
    """The full tensor of a ring, as one GEMM of its two halves.

    Each half ``(ρ_0, M_1, ρ_k)`` and ``(ρ_k, M_2, ρ_0)`` holds about ``√N·ρ²``
    entries; ``W[m, n] = Σ_{a,b} L[a, m, b] R[b, n, a]`` is then one
    ``(M_1, ρ_0ρ_k) × (ρ_0ρ_k, M_2)`` product, never the ``ρ_0 × N × ρ_0`` tensor a
    left-to-right contraction of a ring passes through.
    """
    cut = _split(modes)
    left, right = _half(ring[:cut], modes[:cut]), _half(ring[cut:], modes[cut:])
    rho0, m1, rk = left.shape
    lm = left.permute(1, 0, 2).reshape(m1, rho0 * rk)
    rm = right.permute(2, 0, 1).reshape(rho0 * rk, -1)
    return (lm @ rm).reshape(modes)


def ring_rebuild_cost(ranks, modes):
    """Model cost of `ring_to_tensor`: the two halves, then one GEMM (at GEMM speed)."""
    n, cut = len(modes), _split(modes)
    total = 0.0
    for lo, hi in ((0, cut), (cut, n)):
        rows = ranks[lo] * modes[lo]
        for k in range(lo + 1, hi):
            written = rows * modes[k] * ranks[(k + 1) % n]
            total += 2 * written * ranks[k] + WRITE_COST * written
            rows *= modes[k]
    size = math.prod(modes)
    return total + 2 * size * ranks[0] * ranks[cut] / GEMM_SPEEDUP + WRITE_COST * size


def ring_moments(ring):
    """``(Σ W, Σ W²)`` over the entries of a ring's tensor, in float64, without forming it.

    Through transfer matrices: ``Σ W = tr(∏_k Σ_i H_k(i))`` and
    ``Σ W² = tr(∏_k Σ_i H_k(i) ⊗ H_k(i))``, ``O(Σ_k m_k ρ⁴)`` work and ``ρ⁴`` memory.
    """
    s = e = None
    for core in ring:
        h = core.detach().to(torch.float64)
        r, _, q = h.shape
        sk = h.sum(1)
        ek = torch.einsum("aib,cid->acbd", h, h).reshape(r * r, q * q)
        s, e = (sk, ek) if s is None else (s @ sk, e @ ek)
    return float(torch.trace(s)), float(torch.trace(e))
