"""Two-operand STP kernels written against the array API (numpy, torch, ...).

Every kernel takes ``A`` of shape ``(..., m, n)`` and ``B`` of shape ``(..., p, q)``
(batch dimensions broadcast as in ``matmul``) and returns the STP without forming any
``X ⊗ I_k`` or ``I_k ⊗ X``. Notation as in SPEC §1: ``g = gcd(n, p)``, ``a = p/g``,
``b = n/g``, ``t = g·a·b``.

Index bookkeeping (derivations, so the reshapes below can be checked):

* Left, ``p | n`` (``a = 1``): ``out[i, j·b+γ] = Σ_k A[i, k·b+γ] B[k, j]``: view ``A``
  as ``(m, p, b)`` and contract its middle axis with ``B``.
* Left, ``n | p`` (``b = 1``): ``out[i·a+α, j] = Σ_k A[i, k] B[k·a+α, j]``: view ``B``
  as ``(n, a·q)``; a single GEMM, no copy at all.
* Left, general: write ``s = k'·a + α = l'·b + β`` (``0 <= s < ab``). Then
  ``out[i·a+α, j·b+β] = Σ_c A[i, c·b+k'] B[c·a+l', j]`` with ``k' = s//a``,
  ``l' = s//b``. As ``s`` runs over ``[0, ab)`` the pair ``(k', l')`` takes only
  ``a+b−1`` values, so ``a+b−1`` distinct ``m×q`` blocks (g-term GEMMs) are computed
  once and gathered into place.
* Right, ``(I_a⊗A)(I_b⊗B)``: block ``(α, β)`` of the output is
  ``A[:, cols] @ B[rows, :]`` over the overlap of ``[αn, αn+n)`` and ``[βp, βp+p)``;
  ``a+b−1`` overlaps are non-empty, the other blocks are zero. Total inner length
  ``t``, so ``2·m·q·t`` flops.
"""

from __future__ import annotations

import math

import numpy as np

from .plans import batch_shape, left_blocks, left_positions, right_blocks

__all__ = ["stp_left", "stp_right"]

# Per-matrix work (q·p·b multiply-adds) above which, for p | n, a stack of m GEMMs
# Bᵀ(q×p) @ A_i(p×b) that writes the output in its final layout beats one GEMM on a
# transposed copy of A followed by a transposed copy of the output. Measured with
# benchmarks/bench_stp.py: the copies, and the page faults of their fresh temporaries,
# cost more than the thin GEMMs (256×512·128×256: 1.4 ms against 4.0 ms).
_LEFT_BATCHED_MIN_WORK = 4096
# Likewise for the right STP with n | p on torch: a stack of a GEMMs m×n×q beats one
# GEMM on a transposed copy of B once both m and q are this large. On numpy the stack
# of GEMMs won at every size measured (20000×2 ⋊ 102×3: 8.3 ms against 51 ms; 5×40 ⋊
# 1200×200: 38 µs against 145 µs, one thread, 2026-12-02).
_RIGHT_BATCHED_MIN_MQ = 48
# General left case: cost, in flops, of placing one output entry block by block (a
# strided copy), against which lifting B (2·n flops per output entry, written by the
# GEMM itself) is weighed; stacks also pay per-matrix GEMM overhead for every block.
# Measured with benchmarks/bench_stp.py on numpy and torch (docs/benchmarks.md).
_PLACE_COST = 24
_PLACE_COST_STACKED = 96
# Up to this many output positions (a·b), place blocks by strided slice copies;
# beyond it, one gather (a single kernel launch on GPUs).
_PLACE_BY_SLICES_MAX = 64


def _batch(x):
    return tuple(x.shape[:-2])


def _bshape(a, b):
    return batch_shape(_batch(a), _batch(b))


def stp_left(xp, A, B):
    """Left STP ``(A ⊗ I_a)(B ⊗ I_b)`` of ``(..., m, n)`` and ``(..., p, q)`` arrays."""
    m, n = A.shape[-2:]
    p, q = B.shape[-2:]
    if n == p:
        return _mm(A, B)
    g = math.gcd(n, p)
    a, b = p // g, n // g
    batch = _bshape(A, B)
    if a == 1 and p == 1:  # outer products: out[i, j·b+γ] = A[i, γ] B[0, j]
        return xp.reshape(B[..., 0, None, :, None] * A[..., :, None, :], batch + (m, q * b))
    if a == 1:  # p | n
        A4 = xp.reshape(A, _batch(A) + (m, p, b))
        # torch expands the broadcast Bᵀ into a full batch for its batched GEMM, which
        # costs more than the copies (256×512·128×256: 6.2 ms against 0.9 ms).
        if isinstance(A, np.ndarray) and q * p * b >= _LEFT_BATCHED_MIN_WORK:
            out = xp.matrix_transpose(B)[..., None, :, :] @ A4  # (..., m, q, b)
        else:
            At = xp.reshape(
                xp.permute_dims(A4, _perm(A4.ndim, (-3, -1, -2))), _batch(A) + (m * b, p)
            )
            C = xp.reshape(At @ B, batch + (m, b, q))
            out = xp.permute_dims(C, _perm(C.ndim, (-3, -1, -2)))
        return xp.reshape(out, batch + (m, q * b))
    if b == 1:  # n | p
        Bw = xp.reshape(B, _batch(B) + (n, a * q))
        return xp.reshape(_mm(A, Bw), batch + (m * a, q))
    if (_few_launches(A) and _lift_fits(m, g, b)) or _lift_b_is_cheaper(
        g, a, b, stacked=bool(batch)
    ):
        return _left_lift_b(xp, A, B, g, a, b)
    kidx, lidx = left_blocks(a, b)
    dev = _device(A)
    dtype = xp.result_type(A, B)
    A4 = xp.reshape(A, _batch(A) + (m, g, b))
    B4 = xp.reshape(B, _batch(B) + (g, a, q))
    out = xp.empty(batch + (m, a, q, b), dtype=dtype, device=dev)
    if a * b <= _PLACE_BY_SLICES_MAX:
        # Block by block: one m×q GEMM per distinct block, copied (strided) to each
        # output position (α, β) it occupies. Keeping one block alive at a time avoids
        # an (a+b−1)·m·q temporary, whose fresh pages cost more than the GEMMs.
        alpha, beta, start = left_positions(a, b)
        # numpy: one reused block buffer (fresh pages per block cost as much as a GEMM).
        buf = np.empty(batch + (m, q), dtype=dtype) if isinstance(A, np.ndarray) else None
        for d, (kk, ll) in enumerate(zip(kidx.tolist(), lidx.tolist())):
            if buf is None:
                block = A4[..., :, :, kk] @ B4[..., :, ll, :]
            else:
                block = np.matmul(A4[..., :, :, kk], B4[..., :, ll, :], out=buf)
            for s in range(int(start[d]), int(start[d + 1])):
                out[..., :, int(alpha[s]), :, int(beta[s])] = block
        return xp.reshape(out, batch + (m * a, q * b))
    # Many positions: all blocks in one batched GEMM, then one indexed copy per output
    # row (α) or column (β) offset, whichever is fewer: min(a, b) launches, O(a+b)
    # indices, no a·b table (which for 1×9973 ⋉ 9967×1 was a 0.8 GB plan).
    # The plan's index arrays are read-only (cached); torch warns on wrapping those, so
    # the (a+b−1)-entry copies are what it gets.
    Ak = xp.take(A4, xp.asarray(kidx.copy(), device=dev), axis=-1)  # (..., m, g, D)
    Ak = xp.permute_dims(Ak, _perm(Ak.ndim, (-1, -3, -2)))  # (..., D, m, g)
    Bl = xp.take(B4, xp.asarray(lidx.copy(), device=dev), axis=-2)  # (..., g, D, q)
    Bl = xp.permute_dims(Bl, _perm(Bl.ndim, (-2, -3, -1)))  # (..., D, g, q)
    C = Ak @ Bl  # (..., D, m, q)
    if a <= b:
        Cl = xp.permute_dims(C, _perm(C.ndim, (-2, -1, -3)))  # (..., m, q, D)
        kp = np.arange(b)
        for al in range(a):
            s = al + a * kp  # output positions (α, s mod b) hold blocks k' + s//b
            pos, src = (xp.asarray(v, device=dev) for v in (s % b, kp + s // b))
            out[..., :, al, :, :][..., pos] = xp.take(Cl, src, axis=-1)
    else:
        Cm = xp.permute_dims(C, _perm(C.ndim, (-2, -3, -1)))  # (..., m, D, q)
        lp = np.arange(a)
        for be in range(b):
            s = be + b * lp  # output positions (s mod a, β) hold blocks l' + s//a
            pos, src = (xp.asarray(v, device=dev) for v in (s % a, lp + s // a))
            out[..., :, :, :, be][..., pos, :] = xp.take(Cm, src, axis=-2)
    return xp.reshape(out, batch + (m * a, q * b))


def _lift_fits(m, g, b):
    """The lift of ``B`` holds ``g·b/m`` times the output's entries: bound it."""
    return g * b <= 4 * max(m, 1)


def _lift_b_is_cheaper(g, a, b, stacked):
    """Per output row and column: lift ``2·g·a·b²`` flops against blocks + placement."""
    place = _PLACE_COST_STACKED if stacked else _PLACE_COST
    return 2 * g * a * b * b < 2 * g * (a + b - 1) + place * a * b


def _left_lift_b(xp, A, B, g, a, b):
    """``A ⋉ (B ⊗ I_b)``, an ``n | t`` product: one GEMM that writes the output in place.

    Forms the sparse lift of ``B`` (``t×qb``, ``t·q·b`` entries per matrix): worth it
    only when ``n`` is small, where the ``2·n`` flops per output entry cost less than
    placing ``a+b−1`` blocks entry by entry (see docs/benchmarks.md).
    """
    m, n = A.shape[-2:]
    p, q = B.shape[-2:]
    lifted = xp.zeros(_batch(B) + (p, b, q, b), dtype=B.dtype, device=_device(B))
    for beta in range(b):
        lifted[..., :, beta, :, beta] = B
    wide = xp.reshape(lifted, _batch(B) + (n, a * q * b))  # rows k·a+α of the t-row lift
    return xp.reshape(A @ wide, _bshape(A, B) + (m * a, q * b))


def stp_right(xp, A, B):
    """Right STP ``(I_a ⊗ A)(I_b ⊗ B)`` of ``(..., m, n)`` and ``(..., p, q)`` arrays."""
    m, n = A.shape[-2:]
    p, q = B.shape[-2:]
    if n == p:
        return _mm(A, B)
    g = math.gcd(n, p)
    a, b = p // g, n // g
    batch = _bshape(A, B)
    if a == 1:  # p | n: out[i, β·q+j] = Σ_l A[i, β·p+l] B[l, j], one GEMM on a view
        Aw = xp.reshape(A, _batch(A) + (m * b, p))
        return xp.reshape(_mm(Aw, B), batch + (m, b * q))
    if b == 1:  # n | p: out[α·m+i, j] = Σ_k A[i, k] B[α·n+k, j]
        B4 = xp.reshape(B, _batch(B) + (a, n, q))
        if n == 1 and q == 1:  # one outer product B ⊗ A of two vectors (a×m)
            out = B4[..., :, 0, :] * xp.matrix_transpose(A)  # (..., a, m)
        elif n == 1:  # outer products: elementwise, where GEMMs with K = 1 ran 5× slower
            out = A[..., None, :, :] * B4  # (..., a, m, q)
        elif isinstance(A, np.ndarray) or min(m, q) >= _RIGHT_BATCHED_MIN_MQ:
            out = A[..., None, :, :] @ B4  # (..., a, m, q)
        else:
            Bw = xp.reshape(
                xp.permute_dims(B4, _perm(B4.ndim, (-2, -3, -1))), _batch(B) + (n, a * q)
            )
            C = xp.reshape(A @ Bw, batch + (m, a, q))
            out = xp.permute_dims(C, _perm(C.ndim, (-2, -3, -1)))
        return xp.reshape(out, batch + (a * m, q))
    if _few_launches(A):
        return _right_lift_a(xp, A, B, a, b)
    dtype = xp.result_type(A, B)
    out = xp.zeros(batch + (a, m, b, q), dtype=dtype, device=_device(A))
    numpy_out = isinstance(out, np.ndarray)
    for alpha, beta, lo, hi in right_blocks(n, p):
        x = A[..., :, lo - alpha * n : hi - alpha * n]
        y = B[..., lo - beta * p : hi - beta * p, :]
        if numpy_out:  # straight into the output: no fresh temporary per block
            np.matmul(x, y, out=out[..., alpha, :, beta, :])
        else:
            out[..., alpha, :, beta, :] = x @ y
    return xp.reshape(out, batch + (a * m, b * q))


def _right_lift_a(xp, A, B, a, b):
    """``(I_a ⊗ A) ⋊ B``, a ``p | t`` product: one GEMM on a view writes the output.

    Forms the block-diagonal lift of ``A`` (``a·m × t``, ``a²·m·n`` entries) and does
    ``a×`` the minimal flops, in ``a + 2`` kernel launches instead of ``2(a+b−1)+1``:
    the route for accelerators, where launches dominate these products (see
    benchmarks/results/gpu.md).
    """
    m, n = A.shape[-2:]
    p, q = B.shape[-2:]
    lifted = xp.zeros(_batch(A) + (a, m, a, n), dtype=A.dtype, device=_device(A))
    for alpha in range(a):
        lifted[..., alpha, :, alpha, :] = A
    wide = xp.reshape(lifted, _batch(A) + (a * m * b, p))  # (I_a ⊗ A) viewed for p | t
    return xp.reshape(wide @ B, _bshape(A, B) + (a * m, b * q))


def _mm(A, B):
    """``A @ B``; with inner size 1 an outer product, computed elementwise.

    OpenBLAS ran inner-size-1 GEMMs 3-5× slower than a broadcasting multiply
    (4×3 ⋊ 1×20000, 10923×36 ⋉ 1×1 in bench_stp --sweep); numpy stacks of rows of
    up to 8 entries keep ``matmul``, whose broadcasting multiply ran a loop per row
    (725×7×1 ⋊ 725×1×5: 48 µs against 62 µs, slower than the naive route).
    """
    if A.shape[-1] == 1 and not (isinstance(A, np.ndarray) and A.ndim > 2 and B.shape[-1] <= 8):
        return A * B
    return A @ B


def _few_launches(x):
    """True for arrays on an accelerator, where kernel launches cost more than flops."""
    return not isinstance(x, np.ndarray) and getattr(_device(x), "type", "cpu") != "cpu"


def _perm(ndim, last3):
    """Permutation keeping the leading axes and reordering the last three."""
    lead = list(range(ndim - 3))
    return tuple(lead + [ndim + k for k in last3])


def _device(x):
    import array_api_compat

    return array_api_compat.device(x)
