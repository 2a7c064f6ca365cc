"""The ``bnet`` text form of Boolean networks (BoolNet, pyboolnet): a small parser.

One line per node, ``name, expression``; ``!`` is not, ``&`` and, ``|`` or (in that
order of precedence), parentheses group, ``0``/``1`` (and ``false``/``true``) are
constants; ``#`` starts a comment and a ``targets, factors`` header line is skipped.
Expressions compile to functions on numpy Boolean arrays, so a node's truth table is
evaluated over all its local input combinations at once.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["parse_bnet", "compile_expression"]

_TOKEN = re.compile(r"\s*(?:([A-Za-z0-9_.]+)|(.))")
_CONSTANTS = {"0": False, "1": True, "false": False, "true": True}


def _tokens(text, where):
    out = []
    for match in _TOKEN.finditer(text):
        name, op = match.groups()
        if name is not None:
            out.append(("name", name))
        elif op is not None and not op.isspace():
            if op not in "!&|()":
                raise ValueError(f"{where}: unexpected character {op!r} in {text!r}")
            out.append(("op", op))
    return out


class _Parser:
    """Recursive descent over ``or := and ('|' and)*``, ``and := not ('&' not)*``."""

    def __init__(self, tokens, text, where):
        self.tokens, self.pos, self.text, self.where = tokens, 0, text, where
        self.names = []

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def _fail(self, msg):
        raise ValueError(f"{self.where}: {msg} in {self.text!r}")

    def parse(self):
        if not self.tokens:
            self._fail("empty expression")
        node = self._or()
        if self.pos != len(self.tokens):
            self._fail(f"unexpected {self._peek()[1]!r}")
        return node

    def _or(self):
        terms = [self._and()]
        while self._peek() == ("op", "|"):
            self.pos += 1
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else ("or", terms)

    def _and(self):
        terms = [self._not()]
        while self._peek() == ("op", "&"):
            self.pos += 1
            terms.append(self._not())
        return terms[0] if len(terms) == 1 else ("and", terms)

    def _not(self):
        if self._peek() == ("op", "!"):
            self.pos += 1
            return ("not", self._not())
        return self._atom()

    def _atom(self):
        kind, value = self._peek()
        if kind is None:
            self._fail("expression ends early")
        self.pos += 1
        if (kind, value) == ("op", "("):
            node = self._or()
            if self._peek() != ("op", ")"):
                self._fail("missing ')'")
            self.pos += 1
            return node
        if kind == "name":
            if value.lower() in _CONSTANTS:
                return ("const", _CONSTANTS[value.lower()])
            if value not in self.names:
                self.names.append(value)
            return ("var", value)
        self._fail(f"unexpected {value!r}")


def _evaluate(node, env, size):
    kind, arg = node
    if kind == "var":
        return env[arg]
    if kind == "const":
        return np.full(size, arg)
    if kind == "not":
        return ~_evaluate(arg, env, size)
    parts = [_evaluate(t, env, size) for t in arg]
    out = parts[0].copy()
    for p in parts[1:]:
        if kind == "and":
            out &= p
        else:
            out |= p
    return out


def compile_expression(text, where="expression"):
    """Return ``(inputs, fn)``: the names in order of appearance and a vectorised rule.

    ``fn(*arrays)`` takes one Boolean numpy array per input and returns their image.
    """
    parser = _Parser(_tokens(text, where), text, where)
    tree = parser.parse()
    inputs = tuple(parser.names)

    def fn(*arrays):
        size = arrays[0].shape if arrays else (1,)
        return _evaluate(tree, dict(zip(inputs, arrays)), size)

    return inputs, fn


def parse_bnet(text):
    """Return ``[(name, expression text, line number), ...]`` from ``bnet`` text."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str in bnet format; got {type(text).__name__}")
    rules, seen = [], {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "," not in line:
            raise ValueError(f"bnet line {lineno}: expected 'name, expression'; got {raw!r}")
        name, expr = (part.strip() for part in line.split(",", 1))
        if name.lower() == "targets" and expr.lower() == "factors":
            continue
        if not re.fullmatch(r"[A-Za-z0-9_.]+", name):
            raise ValueError(f"bnet line {lineno}: invalid node name {name!r}")
        if name in seen:
            raise ValueError(
                f"bnet line {lineno}: node {name!r} already has a rule (line {seen[name]})"
            )
        seen[name] = lineno
        rules.append((name, expr, lineno))
    if not rules:
        raise ValueError("text holds no rule; a bnet line reads 'name, expression'")
    return rules
