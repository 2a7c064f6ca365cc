"""A batch contracted with the cores of a layer, and the cost model that picks the path.

`ring_forward` applies a tensor ring over the interleaved modes ``(I_1, O_1, …)`` to a
batch of rows without forming the weight: STT and STR layers map their cores to that
ring (`semitensor.formats.chain`) and call it. The ``*_cost`` functions are the model
behind ``forward_path="auto"``: every GEMM at a rate that falls with its smallest size
(`GEMM_KNEE`), plus `WRITE_COST` per entry written. Both constants are calibrated by
``benchmarks/bench_nn_layers.py --calibrate``.
"""

from __future__ import annotations

import math

import torch

from ._gemm_chain import chain_costs, inputs_first

__all__ = [
    "CHAIN_MIN_ROWS",
    "WRITE_COST",
    "GEMM_KNEE",
    "ring_forward",
    "gemm_cost",
    "copy_cost",
    "dense_cost",
    "ring_forward_cost",
    "ring_forward_costs",
    "mode_sequence_cost",
    "ring_to_tensor",
    "ring_to_matrix",
    "ring_rebuild_cost",
    "ring_moments",
]

# Cost of writing one entry, in flops at the peak GEMM rate: the contraction steps are
# thin GEMMs and permutation copies, bound by memory rather than arithmetic. This pair
# lost least against the faster path in `bench_nn_layers.py --calibrate` (1024x1024,
# the six formats at compression 8 and 64, batches 16 to 1024, one CPU thread): at
# worst 1.23x, 1.007x on average (benchmarks/results/nn_layers.md).
WRITE_COST = 16.0
# A GEMM whose smallest size is m runs at m / (m + GEMM_KNEE) of the peak rate: a
# 1024-wide dense product near it, a step with an inner size of 16 far below.
GEMM_KNEE = 64.0
# From this many rows on the inputs-first order runs as the GEMM chain of
# `semitensor.nn._gemm_chain` (forward+backward, one thread, 256² and 1024² layers at
# 8× and 64×: the chain 0.2–0.9× the autograd path at 256 rows, 0.5–1.2× at 32–64,
# up to 13× slower at one row).
CHAIN_MIN_ROWS = 64


def _reversed_inputs(x2, ins):
    """``x`` as ``(B, i_d, …, i_2, i_1)``: each input step then contracts the fastest index."""
    b, d = x2.shape[0], len(ins)
    x = x2.reshape(b, *ins)
    return x.permute(0, *range(d, 0, -1)) if d > 1 else x


def _left_to_right(x2, ring, modes):
    """The cores in ring order; state ``(B, O_done, ρ_0, I_left, r)`` (see `ring_forward`)."""
    b = x2.shape[0]
    ins = modes[0::2]
    rho0, i1, rho1 = ring[0].shape
    rest = math.prod(ins[1:])
    x = _reversed_inputs(x2, ins).reshape(b * rest, i1)
    s = x @ ring[0].permute(1, 0, 2).reshape(i1, rho0 * rho1)
    s = s.reshape(b, rest, rho0, rho1).transpose(1, 2)  # (B, ρ0, I_left, r)
    od, irem = 1, rest
    for k in range(1, len(ring) - 1):
        core, size = ring[k], modes[k]
        r, q = core.shape[0], core.shape[2]
        if k % 2:  # output: GEMM up to (.., ρ0·I_left, o, q), o moved before ρ0
            s = s.reshape(b * od * rho0 * irem, r) @ core.reshape(r, size * q)
            s = s.reshape(b * od, rho0 * irem, size, q).transpose(1, 2)
            od *= size
        else:  # input: the fastest input index and r, one GEMM
            irem //= size
            s = s.reshape(b * od * rho0 * irem, size * r)
            s = s @ core.permute(1, 0, 2).reshape(size * r, q)
    last = ring[-1]
    r, o = last.shape[0], last.shape[1]
    y = s.reshape(b * od, rho0 * r) @ last.permute(2, 0, 1).reshape(rho0 * r, o)
    return y.reshape(b, od * o)


def _inputs_first(x2, ring, modes):
    """Four cores: both inputs contracted first, into ``(B, ρ_0, ρ_1, ρ_2, ρ_3)``."""
    i1, o1, i2, o2 = modes
    h1, h2, h3, h4 = ring
    b = x2.shape[0]
    r0, r1, r2, r3 = h1.shape[0], h1.shape[2], h3.shape[0], h3.shape[2]
    x = x2.reshape(b, i1, i2).transpose(1, 2).reshape(b * i2, i1)
    s = x @ h1.permute(1, 0, 2).reshape(i1, r0 * r1)  # (B, I2, ρ0ρ1)
    s = s.reshape(b, i2, r0 * r1).transpose(1, 2).reshape(b * r0 * r1, i2)
    s = s @ h3.permute(1, 0, 2).reshape(i2, r2 * r3)  # (B, ρ0, ρ1, ρ2, ρ3)
    s = s.reshape(b * r0, r1 * r2, r3).transpose(1, 2).reshape(b * r0 * r3, r1 * r2)
    s = s @ h2.permute(0, 2, 1).reshape(r1 * r2, o1)  # (B, ρ0, ρ3, O1)
    s = s.reshape(b, r0 * r3, o1).transpose(1, 2).reshape(b * o1, r0 * r3)
    y = s @ h4.permute(2, 0, 1).reshape(r0 * r3, o2)  # (B, O1, O2)
    return y.reshape(b, o1 * o2)


def _ring_ranks(ring):
    return [core.shape[0] for core in ring]


def _batch(x2):
    """Rows of ``x2`` as a Python int (``torch.jit.trace`` hands sizes over as tensors)."""
    return int(x2.shape[0]) if torch.jit.is_tracing() else x2.shape[0]


def ring_forward(x2, ring, modes, order=None):
    """``y[b, o] = Σ_i x[b, i] · tr(H_1(i_1) H_2(o_1) ⋯ H_N(o_d))`` through the ring cores.

    ``x2`` is ``(B, ∏ I)``, ``ring`` the cores ``H_k`` (``(ρ_{k−1}, m_k, ρ_k)``, ``ρ_N =
    ρ_0``) over the interleaved ``modes``. Two orders, the cheaper by
    `ring_forward_costs` at ``B`` rows:

    - ``"ring"``: the cores in order. The state is ``(B, O_done, ρ_0, I_left, r)`` with
      the inputs left in reverse order, so an input step is one GEMM over the adjacent
      ``(i_k, r)`` with no copy, and an output step one GEMM and one copy that moves
      the new output index in front of ``ρ_0`` (the inner block ``r`` stays
      contiguous); the last core closes the ring in one GEMM over ``(ρ_0, r)``. The
      state holds about ``B·√(∏ I·∏ O)·ρ_0·r`` entries.
    - ``"inputs"`` (four cores only): both inputs first, into ``(B, ρ_0, ρ_1, ρ_2, ρ_3)``,
      then the two outputs: cheaper while the ranks are small against the mode sizes.
      From `CHAIN_MIN_ROWS` rows on it runs as the GEMM chain of
      `semitensor.nn._gemm_chain` (its own backward, the batch innermost, no
      broadcast copies: 1.1–2× faster forward+backward at 256 rows); below, where
      that chain's thin GEMMs lose, through autograd (``_inputs_first``).

    ``order`` forces one of them (tests); ``"chain"`` and ``"autograd"`` force the
    implementation of ``"inputs"``.
    """
    batch = _batch(x2)
    if order is None:
        costs = ring_forward_costs(batch, _ring_ranks(ring), modes)
        order = min(costs, key=costs.get)
    if order == "inputs":
        order = "chain" if batch >= CHAIN_MIN_ROWS else "autograd"
    if order == "chain":
        return inputs_first(x2, ring, modes, GEMM_KNEE, WRITE_COST)
    if order == "autograd":
        return _inputs_first(x2, ring, modes)
    return _left_to_right(x2, ring, modes)


def gemm_cost(rows, inner, cols):
    """Model cost of a ``(rows × inner)·(inner × cols)`` GEMM that writes its result."""
    slow = 1 + GEMM_KNEE / max(min(rows, inner, cols), 1)
    return 2 * rows * inner * cols * slow + WRITE_COST * rows * cols


def copy_cost(entries):
    """Model cost of a permutation copy (or any pass that writes ``entries``)."""
    return WRITE_COST * entries


def dense_cost(batch, n_in, n_out, rebuild):
    """Model cost of the dense path: ``rebuild``, then one ``batch × in × out`` GEMM."""
    return rebuild + gemm_cost(batch, n_in, n_out)


def ring_forward_costs(batch, ranks, modes):
    """Model costs ``{"ring": …, "inputs": …}`` of the orders of `ring_forward`.

    ``ranks[k]`` (``k < N``) is the bond entering core ``k``; ``"inputs"`` only for
    four cores. Each GEMM costs its flops plus `WRITE_COST` per entry written, each
    permutation copy `WRITE_COST` per entry.
    """
    n, ins = len(modes), modes[0::2]
    n_in = math.prod(ins)
    rho0, rho1 = ranks[0], ranks[1 % n]
    rest = n_in // modes[0]
    copy = WRITE_COST * batch * n_in if len(ins) > 1 else 0.0
    total = copy + gemm_cost(batch * rest, modes[0], rho0 * rho1)
    if rho0 > 1 and rest > 1:
        total += WRITE_COST * batch * rest * rho0 * rho1
    od, irem = 1, rest
    for k in range(1, n - 1):
        r, q, size = ranks[k], ranks[k + 1], modes[k]
        if k % 2:
            total += gemm_cost(batch * od * rho0 * irem, r, size * q)
            if rho0 * irem > 1:  # the copy that moves o in front of ρ0
                total += WRITE_COST * batch * od * rho0 * irem * size * q
            od *= size
        else:
            irem //= size
            total += gemm_cost(batch * od * rho0 * irem, size * r, q)
    total += gemm_cost(batch * od, rho0 * ranks[n - 1], modes[n - 1])
    out = {"ring": total}
    if n == 4 and batch >= CHAIN_MIN_ROWS:
        out["inputs"] = min(chain_costs(batch, ranks, modes, GEMM_KNEE, WRITE_COST).values())
    elif n == 4:
        i1, o1, i2, o2 = modes
        r0, r1, r2, r3 = ranks
        out["inputs"] = (
            copy
            + gemm_cost(batch * i2, i1, r0 * r1)
            + WRITE_COST * batch * r0 * r1 * i2
            + gemm_cost(batch * r0 * r1, i2, r2 * r3)
            + WRITE_COST * batch * r0 * r1 * r2 * r3
            + gemm_cost(batch * r0 * r3, r1 * r2, o1)
            + WRITE_COST * batch * o1 * r0 * r3
            + gemm_cost(batch * o1, r0 * r3, o2)
        )
    return out


def ring_forward_cost(batch, ranks, modes):
    """Model cost of `ring_forward` (its cheaper order)."""
    return min(ring_forward_costs(batch, ranks, modes).values())


def mode_sequence_cost(size, sizes_in, sizes_out, rows, order):
    """Model cost of semi-tensor mode products applied in ``order`` to ``size`` entries.

    Mode ``j`` maps ``sizes_in[j]`` to ``sizes_out[j]`` with a factor of ``rows[j]``
    rows (the ``U`` of ``U ⊗ I_t``), as `semitensor.tenalg.cheapest_mode_order` models.
    """
    total = 0.0
    for j in order:
        inner = max(sizes_in[j] * rows[j] // sizes_out[j], 1)  # the columns of U
        total += gemm_cost(rows[j], inner, size // inner)
        size = size // sizes_in[j] * sizes_out[j]
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


def ring_to_matrix(ring, modes):
    """The weight ``W`` (``∏ O × ∏ I``) of a ring over the interleaved ``modes``.

    As `ring_to_tensor`, one GEMM of two halves, but each small half is first
    permuted so that its outputs come before its inputs: the GEMM then gives
    ``(O_L, I_L, O_R, I_R)`` (or ``(I_L, O_L, I_R, O_R)``, whichever keeps the longer
    contiguous inner block), and ``W`` (or ``Wᵀ``, returned as a transposed view) is
    one swap of the middle blocks, not the full transpose `tensor_to_matrix` copies.
    """
    cut = _split(modes)
    left, right = _half(ring[:cut], modes[:cut]), _half(ring[cut:], modes[cut:])
    rho0, rk = left.shape[0], left.shape[2]
    ml, mr = modes[:cut], modes[cut:]
    # Interleaved: mode j is an input when j is even (counting from the full ring).
    ins_l, outs_l = [j for j in range(cut) if j % 2 == 0], [j for j in range(cut) if j % 2]
    ins_r = [j for j in range(len(mr)) if (cut + j) % 2 == 0]
    outs_r = [j for j in range(len(mr)) if (cut + j) % 2]
    il, ol = math.prod([ml[j] for j in ins_l]), math.prod([ml[j] for j in outs_l])
    ir, o_r = math.prod([mr[j] for j in ins_r]), math.prod([mr[j] for j in outs_r])
    # W needs the swap (O_L, I_L, O_R, I_R) -> (O_L, O_R, I_L, I_R), inner block I_R;
    # Wᵀ needs (I_L, O_L, I_R, O_R) -> (I_L, I_R, O_L, O_R), inner block O_R.
    transposed = (ol == 1 or ir == 1 or o_r > ir) and not (il == 1 or o_r == 1)
    first_l, second_l = (ins_l, outs_l) if transposed else (outs_l, ins_l)
    first_r, second_r = (ins_r, outs_r) if transposed else (outs_r, ins_r)
    lt = left.reshape(rho0, *ml, rk)
    lm = lt.permute(*[1 + j for j in first_l + second_l], 0, cut + 1)
    lm = lm.reshape(il * ol, rho0 * rk)
    rt = right.reshape(rk, *mr, rho0)
    rm = rt.permute(len(mr) + 1, 0, *[1 + j for j in first_r + second_r])
    rm = rm.reshape(rho0 * rk, ir * o_r)
    a, c = (il, ol) if transposed else (ol, il)  # (first, second) of the left half
    bb, dd = (ir, o_r) if transposed else (o_r, ir)
    w = (lm @ rm).reshape(a, c, bb, dd).transpose(1, 2).reshape(a * bb, c * dd)
    return w.t() if transposed else w


def ring_rebuild_cost(ranks, modes):
    """Model cost of `ring_to_matrix`: the halves, their copies, one GEMM, the swap."""
    n, cut = len(modes), _split(modes)
    total = 0.0
    for lo, hi in ((0, cut), (cut, n)):
        rows = ranks[lo] * modes[lo]
        for k in range(lo + 1, hi):
            total += gemm_cost(rows, ranks[k], modes[k] * ranks[(k + 1) % n])
            rows *= modes[k]
        total += WRITE_COST * rows * ranks[hi % n]  # the half's permutation copy
    size = math.prod(modes)
    m_left = math.prod(modes[:cut])
    gemm = gemm_cost(m_left, ranks[0] * ranks[cut], size // m_left)
    return total + gemm + WRITE_COST * size  # and the swap of the middle blocks


# Pairs (a, a') of ring indices contracted together by ring_moments.
_PAIR_CHUNK = 16


def _square_sum(ring, pairs):
    """``Σ_i H_1(i)[a,·] ⊗ …`` closed on each ``(a, a')`` of ``pairs``: their part of ``Σ W²``.

    The state ``(P, ρ_k, ρ_k')`` is carried through the cores one GEMM at a time, never
    forming the ``ρ² × ρ²`` transfer matrix of a core.
    """
    h = ring[0]
    a, b = pairs
    e = torch.bmm(h[a].transpose(1, 2), h[b])  # (P, ρ_1, ρ_1')
    for h in ring[1:]:
        p, r, _ = e.shape
        m, q = h.shape[1], h.shape[2]
        t = e.transpose(1, 2).reshape(p * r, r) @ h.reshape(r, m * q)  # (P, ρ', m, q)
        t = t.reshape(p, r, m, q).permute(0, 3, 1, 2).reshape(p * q, r * m)
        e = (t @ h.reshape(r * m, q)).reshape(p, q, q)  # (P, q, q')
    return float(e[torch.arange(len(a)), a, b].sum())


def ring_moments(ring):
    """``(Σ W, Σ W²)`` over the entries of a ring's tensor, in float64, without forming it.

    ``Σ W = tr(∏_k Σ_i H_k(i))``; ``Σ W² = Σ_{a,a'} [∏_k Σ_i H_k(i) ⊗ H_k(i)]_{(a,a'),(a,a')}``
    contracted core by core for a chunk of the ``ρ_0²`` pairs ``(a, a')`` at a time, so
    that no intermediate holds more than `_PAIR_CHUNK` times the largest core's entries
    (a train, ``ρ_0 = 1``, is one pair): memory of the order of the parameters. A ring
    whose ``ρ² × ρ²`` transfer matrices hold at most `_PAIR_CHUNK` times its
    parameters multiplies those instead (the same memory bound, fewer, larger GEMMs).
    """
    hs = [core.detach().to(torch.float64) for core in ring]
    s = hs[0].sum(1)
    for h in hs[1:]:
        s = s @ h.sum(1)
    rho0 = hs[0].shape[0]
    transfer = max(h.shape[0] ** 2 * h.shape[2] ** 2 for h in hs)
    if rho0 > 1 and transfer <= _PAIR_CHUNK * sum(h.numel() for h in hs):
        # Small enough: the ρ² × ρ² transfer matrices, a few large GEMMs (faster).
        e = None
        for h in hs:
            r, _, q = h.shape
            ek = torch.einsum("aib,cid->acbd", h, h).reshape(r * r, q * q)
            e = ek if e is None else e @ ek
        return float(torch.trace(s)), float(torch.trace(e))
    chunk = _PAIR_CHUNK  # each pair's intermediate is one core's size
    idx = torch.arange(rho0 * rho0, device=hs[0].device)
    squares = 0.0
    for lo in range(0, rho0 * rho0, chunk):
        pair = idx[lo : lo + chunk]
        squares += _square_sum(hs, (pair // rho0, pair % rho0))
    return float(torch.trace(s)), squares
