"""Rules of a network node in every accepted form, turned into one truth table.

A node's table has ``2^r`` entries for its ``r`` inputs, in Cheng's order (first
input slowest, all-true first). Callables are called once per entry with bools;
``bnet`` expressions are evaluated on all entries at once.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np

from . import _bnet

__all__ = ["parse_rule"]


def _truth(value):
    """``value`` as a bool if it is a Boolean result (bool, numpy bool, 0 or 1), else None."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(value)
    return None


def _local_inputs(r):
    """Values of ``r`` inputs at every local index, Cheng's order: list of bool arrays."""
    idx = np.arange(1 << r)
    return [((idx >> (r - 1 - j)) & 1) == 0 for j in range(r)]


def _table_from_callable(node, inputs, fn):
    r = len(inputs)
    try:
        inspect.signature(fn).bind(*([True] * r))
    except TypeError:
        raise TypeError(
            f"the rule of node {node!r} must accept its {r} inputs {tuple(inputs)} "
            f"positionally; its signature is {inspect.signature(fn)}"
        ) from None
    except ValueError:  # builtins without a signature: calling them is the check
        pass
    table = np.empty(1 << r, dtype=bool)
    columns = _local_inputs(r)
    for c in range(1 << r):
        args = tuple(bool(col[c]) for col in columns)
        result = fn(*args)
        value = _truth(result)
        if value is None:
            shown = ", ".join(f"{a}={v}" for a, v in zip(inputs, args))
            raise ValueError(
                f"the rule of node {node!r} must return a bool (or 0/1); with {shown} "
                f"it returned {result!r} of type {type(result).__name__}"
            )
        table[c] = value
    return table


def _table_from_values(node, inputs, values):
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size != 1 << len(inputs):
        raise ValueError(
            f"the truth table of node {node!r} must have 2^{len(inputs)} = {1 << len(inputs)} "
            f"entries (one per input combination, Cheng's order); got shape {arr.shape}"
        )
    if arr.dtype != bool:
        if arr.dtype.kind not in "iu" or not np.isin(arr, (0, 1)).all():
            raise ValueError(
                f"the truth table of node {node!r} must hold bools or 0/1; got {arr.tolist()}"
            )
        arr = arr.astype(bool)
    return arr.copy()


def _table_from_expression(node, text):
    inputs, fn = _bnet.compile_expression(text, where=f"the rule of node {node!r}")
    return inputs, np.asarray(fn(*_local_inputs(len(inputs))), dtype=bool).reshape(-1)


def parse_rule(node, spec):
    """Return ``(input names, table)`` from one of the accepted rule forms."""
    if isinstance(spec, str):
        return _table_from_expression(node, spec)
    if callable(spec):
        try:
            params = inspect.signature(spec).parameters.values()
        except ValueError:
            raise TypeError(
                f"the input names of the rule of node {node!r} cannot be read from its "
                "signature; give the rule as (input names, callable)"
            ) from None
        names = tuple(
            p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )
        return names, _table_from_callable(node, names, spec)
    if isinstance(spec, tuple) and len(spec) == 2:
        inputs, rule = spec
        if isinstance(inputs, str) or not all(isinstance(x, str) for x in inputs):
            raise TypeError(
                f"the inputs of node {node!r} must be a sequence of node names; got {inputs!r}"
            )
        inputs = tuple(inputs)
        if callable(rule):
            return inputs, _table_from_callable(node, inputs, rule)
        return inputs, _table_from_values(node, inputs, rule)
    raise TypeError(
        f"the rule of node {node!r} must be (input names, callable or truth table), a "
        f"callable or a bnet expression string; got {type(spec).__name__}"
    )
