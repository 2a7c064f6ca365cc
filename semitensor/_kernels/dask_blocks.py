"""Chunk-wise kernels for dask arrays: mode products, unfoldings, per-block sums.

Imported only when a dask array reaches the library (`is_dask` never imports dask),
so ``import semitensor`` stays light. Small operands (matrices, cores) are numpy;
every pass over a dask tensor is a `map_blocks`/`blockwise` of numpy work on one
chunk, followed by a tree sum of small per-chunk results where a chunked mode is
contracted. Nothing of the tensor's size is gathered in one place.

A block holds rows ``[a, b)`` of mode ``n``, where ``I_n = K·s``. On the left side
(``i = k·s + σ``) it meets the columns ``k0 = ⌊a/s⌋ … ⌈b/s⌉`` of the matrix and
feeds every output row; on the right side (``i = σ·K + k``) it meets the whole
matrix and feeds the output rows of the digits ``σ0 = ⌊a/K⌋ … ⌈b/K⌉``. Padding the
block with zeros to that digit range makes it an ordinary `stp_mode_dot` operand,
so ``U ⊗ I_s`` is never formed.
"""

from __future__ import annotations

import functools
import math
import sys

import array_api_compat
import numpy as np

__all__ = [
    "is_dask",
    "check_known_chunks",
    "rows_product",
    "stp_mode_dot",
    "unfold",
    "block_sum",
    "block_total",
    "axis_total",
    "lazy_blocks",
]


def is_dask(x):
    """True if ``x`` is a dask array (dask is not imported when it is not loaded)."""
    return array_api_compat.is_dask_array(x)


def check_known_chunks(x, name="tensor"):
    """Refuse a dask array whose chunk sizes are unknown (NaN), saying how to fix it."""
    if any(math.isnan(c) for cs in x.chunks for c in cs):
        raise ValueError(
            f"{name} is a dask array with unknown chunk sizes {x.chunks}; call "
            f"{name}.compute_chunk_sizes() (or build it with known chunks) first"
        )


def _dense_product(block, m, mode, s, side):
    """``block ×_mode (m ⊗ I_s)`` (left) or ``(I_s ⊗ m)`` (right), numpy, no Kronecker."""
    shape = block.shape
    pre, post = math.prod(shape[:mode]), math.prod(shape[mode + 1 :])
    j, k = m.shape
    if side == "left":
        x3 = block.reshape(pre, k, s * post)
    else:
        x3 = block.reshape(pre * s, k, post)
    out = np.matmul(m, x3)
    return out.reshape(shape[:mode] + (j * s,) + shape[mode + 1 :])


def _pad_rows(block, mode, before, after):
    if before == 0 and after == 0:
        return block
    width = [(0, 0)] * block.ndim
    width[mode] = (before, after)
    return np.pad(block, width)


def rows_product(block, m, mode, size, side, start):
    """The share of rows ``[start, start + block.shape[mode])`` in ``X ⋉_mode m``.

    ``m`` is ``(J, K)`` with ``K | size``. Returns ``(part, lo)``: ``part`` holds the
    output rows ``[lo, lo + part.shape[mode])`` of mode ``mode`` (the module
    docstring explains the digit ranges); the full product is the sum of the parts
    of all row ranges.
    """
    j, k = m.shape
    s = size // k
    a, b = start, start + block.shape[mode]
    if side == "left":
        k0, k1 = a // s, -(-b // s)
        x = _pad_rows(block, mode, a - k0 * s, k1 * s - b)
        return _dense_product(x, m[:, k0:k1], mode, s, "left"), 0
    s0, s1 = a // k, -(-b // k)
    x = _pad_rows(block, mode, a - s0 * k, s1 * k - b)
    return _dense_product(x, m, mode, s1 - s0, "right"), s0 * j


def _place(part, lo, mode, out_size):
    """``part`` zero-padded along ``mode`` to ``out_size`` rows starting at ``lo``."""
    return _pad_rows(part, mode, lo, out_size - lo - part.shape[mode])


def stp_mode_dot(x, m, mode, side):
    """``x ⋉_mode m`` for a dask ``x`` and a small numpy ``m`` (validated by the caller).

    Mode ``mode`` of the result is one chunk of ``J·s`` rows; the other chunks are
    those of ``x``. When ``x`` splits that mode, each chunk's share is computed by
    `rows_product` and the shares are tree-summed (bounded memory).
    """
    import dask.array as da

    size = x.shape[mode]
    j, k = m.shape
    out_rows = j * (size // k)
    dtype = np.result_type(x.dtype, m.dtype)
    m = np.asarray(m, dtype=dtype)
    if x.numblocks[mode] == 1:
        return x.map_blocks(
            lambda b: _dense_product(b.astype(dtype, copy=False), m, mode, size // k, side),
            chunks=x.chunks[:mode] + ((out_rows,),) + x.chunks[mode + 1 :],
            dtype=dtype,
        )
    # Row numbers chunked as the mode: each block's first entry is where it starts.
    starts = da.arange(size, chunks=x.chunks[mode])
    ind = tuple(range(x.ndim))
    stack = x.ndim  # a new leading index: one slice per chunk of the contracted mode
    out_ind = (stack,) + ind[:mode] + (x.ndim + 1,) + ind[mode + 1 :]
    in_ind = ind[:mode] + (stack,) + ind[mode + 1 :]

    def share(block, start):
        block = block.astype(dtype, copy=False)
        part, lo = rows_product(block, m, mode, size, side, int(start[0]))
        return _place(part, lo, mode, out_rows)[None, ...]

    parts = da.blockwise(
        share,
        out_ind,
        x,
        in_ind,
        starts,
        (stack,),
        new_axes={x.ndim + 1: out_rows},
        adjust_chunks={stack: 1},
        dtype=dtype,
        concatenate=True,
    )
    return parts.sum(axis=0)


def unfold(x, mode):
    """Mode-``mode`` unfolding of a dask array (TensorLy's order), lazily."""
    import dask.array as da

    rest = math.prod(x.shape[:mode]) * math.prod(x.shape[mode + 1 :])
    return da.reshape(da.moveaxis(x, mode, 0), (x.shape[mode], rest))


# The per-block functions below are module-level and bound with `functools.partial`,
# so that dask tokenizes and ships them by reference (closures are pickled by value,
# which cost tens of milliseconds per pass on a cluster).


def _block_share(block, fn, nd, out_shape, dtype, block_info=None):
    loc = block_info[0]["array-location"]
    out = np.asarray(fn(block, tuple(lo for lo, _ in loc)), dtype=dtype)
    return out.reshape((1,) * nd + out_shape)


def block_sum(x, fn, out_shape, dtype=np.float64):
    """``Σ_blocks fn(block, starts)`` as a lazy dask array of ``out_shape``.

    ``fn`` gets a numpy block and the index of its first entry along every mode, and
    returns a numpy array of ``out_shape`` (small: a Gram, a right-hand side). The
    per-block results are tree-summed, so no task holds more than a few of them.
    """
    import dask.array as da

    out_shape = tuple(out_shape)
    nd = x.ndim
    chunks = tuple((1,) * n for n in x.numblocks) + tuple((d,) for d in out_shape)
    parts = da.map_blocks(
        functools.partial(_block_share, fn=fn, nd=nd, out_shape=out_shape, dtype=dtype),
        x,
        chunks=chunks,
        new_axis=list(range(nd, nd + len(out_shape))),
        dtype=dtype,
        meta=np.empty((0,) * (nd + len(out_shape)), dtype=dtype),
    )
    return parts.sum(axis=tuple(range(nd)))


# `block_total` and `axis_total` compute a pass at once on a graph of their own: a
# task per block (or, for blocks held in a cluster's memory, a task per worker over
# the blocks it holds) and sums of at most `_FAN_IN` shares a task; no dask.array
# layers. The dask.array route cost tens of milliseconds a pass on a cluster (graph
# layers and their optimisation, a reduction tree, a task a block, a concatenation
# on a worker before the transfer to the client).

_FAN_IN = 8
_HELD = {}  # (name, chunks, graph id) -> `_who_holds`, the last few arrays


def _add(*parts):
    total = np.array(parts[0], copy=True)
    for p in parts[1:]:
        total += p
    return total


def _tree_sum(parts):
    """Delayed ``Σ parts``, ``_FAN_IN`` shares a task (a task holds at most that many)."""
    from dask import delayed

    add = delayed(_add, pure=False)
    while len(parts) > 1:
        groups = [parts[i : i + _FAN_IN] for i in range(0, len(parts), _FAN_IN)]
        parts = [g[0] if len(g) == 1 else add(*g) for g in groups]
    return parts[0]


def _offsets(chunks):
    return [tuple(int(v) for v in np.cumsum((0,) + tuple(c[:-1]))) for c in chunks]


def _held_by_worker(x):
    """``[(worker, block indices)]``: the blocks of ``x`` by the worker holding them.

    None unless every block is a future in a ``distributed`` cluster's memory (a
    persisted array). Cached per array; a stale entry (an id reused) costs only the
    placement of the tasks, never the result.
    """
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    key = (x.name, x.chunks, id(x.__dask_graph__()))
    if key not in _HELD:
        while len(_HELD) >= 8:
            _HELD.pop(next(iter(_HELD)))
        _HELD[key] = _who_holds(x, distributed.futures_of(x))
    return _HELD[key]


def _who_holds(x, futures):
    index = {(x.name,) + ix: ix for ix in np.ndindex(x.numblocks)}
    if not futures or len(futures) != len(index) or any(f.key not in index for f in futures):
        return None
    who = futures[0].client.who_has(futures)
    groups = {}
    for f in futures:
        groups.setdefault(min(who.get(f.key) or ("",)), []).append(index[f.key])
    return [(w, sorted(ixs)) for w, ixs in sorted(groups.items(), key=lambda g: min(g[1]))]


def _groups(x):
    """`_held_by_worker`, or one group a block (no worker named)."""
    held = _held_by_worker(x)
    return held if held is not None else [("", [ix]) for ix in np.ndindex(x.numblocks)]


def _group_lanes(blocks, starts, lanes, fn, dtype):
    """Per lane the sum of the group's ``fn(block, start)``: ``[(lane, sum)]``.

    The sum alone where every lane is None.
    """
    sums = {}
    for block, start, lane in zip(blocks, starts, lanes):
        part = np.asarray(fn(block, start), dtype=dtype)
        sums[lane] = part if lane not in sums else sums[lane] + part
    return sums[None] if list(sums) == [None] else list(sums.items())


def _group_tasks(x, fn, start, lane, dtype):
    """Delayed `_group_lanes` of each group, each pinned to the worker holding it."""
    import dask
    from dask import delayed

    blocks = x.to_delayed(optimize_graph=False)
    run = delayed(functools.partial(_group_lanes, fn=fn, dtype=dtype), pure=False)
    out = []
    for worker, g in _groups(x):
        where = dict(workers=[worker], allow_other_workers=True) if worker else {}
        with dask.annotate(**where):
            out.append(
                run([blocks[ix] for ix in g], [start(ix) for ix in g], [lane(ix) for ix in g])
            )
    return out


def block_total(x, fn, dtype=np.float64):
    """``Σ_blocks fn(block, starts)`` as numpy, computed now (`block_sum`'s contract)."""
    import dask

    offs = _offsets(x.chunks)
    parts = _group_tasks(
        x, fn, lambda ix: tuple(o[i] for o, i in zip(offs, ix)), lambda ix: None, dtype
    )
    if len(parts) <= _FAN_IN:  # a task a worker (or few blocks): summed here
        return _add(*dask.compute(*parts))
    (total,) = dask.compute(_tree_sum(parts))
    return total


def axis_total(y, axis, fn, lead, keep=False, dtype=np.float64):
    """``Σ`` over the chunks of ``y`` along ``axis`` of ``fn(block, start)``, computed now.

    Numpy, or (``keep``) a dask array persisted on the workers. The axes before
    ``axis`` are single chunks (bonds); ``fn`` gets a block and the index of its first
    entry along ``axis`` and returns an array of shape ``lead + block.shape[axis + 1:]``.
    The result, ``lead + y.shape[axis + 1:]``, has the chunks of ``y`` after ``axis``.
    A lane (the blocks that share the indices after ``axis``) is summed on the workers;
    the lanes go to the client as they are.
    """
    import dask
    import dask.array as da
    from dask import delayed

    lead, starts, rest = tuple(lead), _offsets(y.chunks)[axis], y.numblocks[axis + 1 :]
    held = None if keep else _held_by_worker(y)
    if held is not None:  # a task a worker, its lanes summed there, the rest here
        out = np.zeros(lead + tuple(y.shape[axis + 1 :]), dtype=dtype)
        tasks = _group_tasks(y, fn, lambda ix: starts[ix[axis]], lambda ix: ix[axis + 1 :], dtype)
        for pairs in dask.compute(*tasks):
            for lane, part in pairs:
                out[_lane_slice(y, axis, lane)] += part
        return out
    blocks = y.to_delayed(optimize_graph=False)
    run = delayed(functools.partial(_group_lanes, fn=fn, dtype=dtype), pure=False)
    outs = []
    for jx in np.ndindex(rest):
        lane = [(0,) * axis + (i,) + jx for i in range(y.numblocks[axis])]
        outs.append(_tree_sum([run([blocks[ix]], [starts[ix[axis]]], [None]) for ix in lane]))
    if keep:
        grid = np.empty(rest, dtype=object)
        for jx, o in zip(np.ndindex(rest), outs):
            shape = lead + tuple(c[i] for c, i in zip(y.chunks[axis + 1 :], jx))
            grid[jx] = da.from_delayed(o, shape, dtype=dtype)
        return da.block(grid.tolist()).persist()
    out = np.empty(lead + tuple(y.shape[axis + 1 :]), dtype=dtype)
    for jx, part in zip(np.ndindex(rest), dask.compute(*outs)):
        out[_lane_slice(y, axis, jx)] = part
    return out


def _lane_slice(y, axis, jx):
    """Where the lane ``jx`` (block indices after ``axis``) lies in the result."""
    offs = _offsets(y.chunks[axis + 1 :])
    sizes = [c[i] for c, i in zip(y.chunks[axis + 1 :], jx)]
    return (Ellipsis,) + tuple(slice(o[i], o[i] + d) for o, i, d in zip(offs, jx, sizes))


def lazy_blocks(shape, chunks, fn, dtype):
    """A lazy dask array of ``shape`` whose block at slices ``sl`` is ``fn(sl)``.

    ``chunks`` is anything `dask.array.normalize_chunks` takes (an int, a tuple, a
    dask chunks tuple, ``"auto"``).
    """
    import dask.array as da

    chunks = da.core.normalize_chunks(chunks, tuple(shape), dtype=np.dtype(dtype))

    def one(block, block_info=None):
        loc = block_info[0]["array-location"]
        return np.asarray(fn(tuple(slice(lo, hi) for lo, hi in loc)), dtype=dtype)

    # da.empty is a placeholder that only carries the chunk layout (never filled).
    return da.map_blocks(one, da.empty(shape, chunks=chunks, dtype=dtype), dtype=dtype)
