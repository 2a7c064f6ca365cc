"""numba kernel: one pass over a functional graph ``x ↦ f[x]`` labels every state.

Imported by `semitensor.logic.dynamics` on first use only, so that importing
semitensor (or semitensor.logic) never imports numba.
"""

from __future__ import annotations

import numba

__all__ = ["walk"]


@numba.njit(cache=True)
def walk(f, label, depth, path):  # pragma: no cover - compiled
    # label[x]: -1 unseen, -2 on the current path, else the id of x's cycle.
    # depth[x]: the path position while x is on the current path, then x's transient
    # time (0 on a cycle). Each state is pushed and popped once: O(N) in all.
    n_cycles = 0
    for s in range(f.shape[0]):
        if label[s] != -1:
            continue
        top = 0
        x = s
        while label[x] == -1:
            label[x] = -2
            depth[x] = top
            path[top] = x
            top += 1
            x = f[x]
        if label[x] == -2:
            c = n_cycles
            n_cycles += 1
            start = depth[x]
            for t in range(start, top):
                y = path[t]
                label[y] = c
                depth[y] = 0
            top = start
            d = 0
        else:
            c = label[x]
            d = depth[x]
        for t in range(top - 1, -1, -1):
            y = path[t]
            d += 1
            label[y] = c
            depth[y] = d
    return n_cycles
