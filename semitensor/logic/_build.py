"""The transition matrix ``L`` of a network from its local truth tables, vectorised.

State (column) index ``s`` of ``u ⋉ x`` with ``N = m + n`` variables, controls first:
variable ``v`` has the digit ``(s >> (N−1−v)) & 1`` (1 = false). Node ``i``'s next
digit is its table at the local index built from its inputs' digits; the next state
is ``Σ_i digit_i · 2^(n−1−i)``. The states are processed in blocks of ``2^B`` that
share their high bits: the low-bit part of every local index is one precomputed
array per node, the high-bit part one offset per block, so each node costs one
gather from its tiny table and one add per state, and no rule is called again.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["transition_indices", "check_size", "default_max_bytes"]

_BLOCK_BITS = 16
_MAX_VARIABLES = 62


def default_max_bytes():
    """Half the physical memory (8 GiB when it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def check_size(n_columns_log2, bytes_per_column, what, max_bytes):
    """Refuse, before allocating, an array of ``2^n_columns_log2`` columns too large."""
    if max_bytes is None:
        max_bytes = default_max_bytes()
    if n_columns_log2 > _MAX_VARIABLES:
        raise ValueError(
            f"{what} has 2^{n_columns_log2} columns; at most 2^{_MAX_VARIABLES} can be indexed"
        )
    need = (1 << n_columns_log2) * bytes_per_column
    if need > max_bytes:
        raise ValueError(
            f"{what} has 2^{n_columns_log2} = {1 << n_columns_log2} columns and needs "
            f"{need} bytes ({need / 2**30:.1f} GiB), more than max_bytes={max_bytes} "
            f"({max_bytes / 2**30:.1f} GiB); pass a larger max_bytes if the memory is there"
        )
    return need


def transition_indices(n_vars, inputs, tables, dtype):
    """Column indices of ``L`` (length ``2^n_vars``) for node ``i`` = variable ``n_vars − n + i``.

    ``inputs[i]`` are the variable positions of node ``i``'s inputs (in table order),
    ``tables[i]`` its Boolean table of length ``2^len(inputs[i])`` in Cheng's order.
    """
    n = len(tables)
    bits = min(n_vars, _BLOCK_BITS)
    low = np.arange(1 << bits, dtype=np.intp)
    base = np.zeros(1 << bits, dtype=dtype)
    per_block = []
    for i, (pos, table) in enumerate(zip(inputs, tables)):
        r = len(pos)
        weight = 1 << (n - 1 - i)
        contribution = np.where(table, 0, weight).astype(dtype)
        local = np.zeros(1 << bits, dtype=np.intp)
        high = []
        for j, v in enumerate(pos):
            shift, w = n_vars - 1 - v, 1 << (r - 1 - j)
            if shift < bits:
                local += ((low >> shift) & 1) * w
            else:
                high.append((shift - bits, w))
        if high:
            per_block.append((contribution, local, high))
        else:
            # Inputs all in the low bits: the same in every block, added once.
            base += contribution[local]
    out = np.empty(1 << n_vars, dtype=dtype)
    tmp = np.empty(1 << bits, dtype=dtype)
    for h in range(1 << (n_vars - bits)):
        block = out[h << bits : (h + 1) << bits]
        block[...] = base
        for contribution, local, high in per_block:
            offset = sum(w for s, w in high if (h >> s) & 1)
            np.take(contribution[offset:], local, out=tmp)
            block += tmp
    return out
