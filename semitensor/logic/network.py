"""`BooleanNetwork`: nodes with local rules, optional controls, and their ``L``.

Each node has a rule on its own inputs, stored as a truth table of ``2^r`` entries in
Cheng's order (first input slowest, true first). The algebraic state-space form
``x(t+1) = L ⋉ u(t) ⋉ x(t)`` puts the ``m`` controls first, so ``L`` is
``2^n × 2^(m+n)``; `transition_matrix` builds it from the tables by
`semitensor.logic._build`, never calling a rule on all ``n`` nodes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from . import _bnet, _build, analysis
from ._matrix import LogicalMatrix, index_dtype
from ._rules import parse_rule

__all__ = ["BooleanNetwork"]


class BooleanNetwork:
    """A Boolean (control) network ``x(t+1) = f(u(t), x(t))`` with local rules.

    Parameters
    ----------
    rules : mapping
        Node name → rule, in node order ``x_1, …, x_n``. A rule is one of
        ``(inputs, fn)`` (``fn`` is called with the inputs' values as bools, in that
        order, and returns a bool or 0/1), ``(inputs, table)`` (``2^r`` bools or 0/1,
        first input slowest, all-true first), a callable whose parameter names are its
        inputs, or a ``bnet`` expression string such as ``"x3 & !x2"``.
    controls : sequence of str, default ()
        Names of the control inputs ``u_1, …, u_m``; rules may read them.

    Attributes
    ----------
    nodes, controls : tuple of str
    rules : dict
        Node name → ``(input names, truth table)``, the stored form.

    Raises
    ------
    TypeError
        A rule of an unknown form, or a callable that cannot take its inputs.
    ValueError
        A rule that reads an unknown name or the same input twice, returns a
        non-Boolean value, a truth table of the wrong length, duplicate or clashing
        names, or no node.

    See Also
    --------
    from_bnet : the same from ``bnet`` text.

    Notes
    -----
    Each callable is called ``2^r`` times for its ``r`` inputs, never ``2^n`` times.
    State index of ``(x_1, …, x_n)``: ``Σ_j (1 − x_j)·2^(n−j)``, the all-true state is 0
    (`semitensor.logic.state_index`).

    Examples
    --------
    >>> from semitensor.logic import BooleanNetwork
    >>> net = BooleanNetwork.from_rules({
    ...     "x1": (("x2", "x3"), lambda x2, x3: x2 and x3),
    ...     "x2": (("x1",), lambda x1: not x1),
    ...     "x3": (("x1", "x2"), lambda x1, x2: x1 or x2),
    ... })
    >>> net.transition_matrix().delta()
    'δ_8[3 7 7 7 1 5 6 6]'
    >>> net.attractors()
    [(0, 2, 6, 5, 4)]
    """

    def __init__(self, rules, controls=()):
        if not isinstance(rules, Mapping) or len(rules) == 0:
            raise TypeError(
                "rules must be a non-empty mapping of node names to rules; "
                f"got {type(rules).__name__}"
            )
        if isinstance(controls, str) or not hasattr(controls, "__iter__"):
            raise TypeError(f"controls must be a sequence of names (str); got {controls!r}")
        nodes, controls = tuple(rules), tuple(controls)
        if not all(isinstance(c, str) for c in controls):
            raise TypeError(f"controls must be a sequence of names (str); got {controls!r}")
        if not all(isinstance(x, str) for x in nodes):
            raise TypeError(f"node names must be str; got {nodes!r}")
        clash = sorted(set(nodes) & set(controls)) or sorted(
            {c for c in controls if controls.count(c) > 1}
        )
        if clash:
            raise ValueError(f"controls must be distinct names that are not nodes; got {clash}")
        variables = {name: i for i, name in enumerate(controls + nodes)}
        stored, positions = {}, []
        for node in nodes:
            inputs, table = parse_rule(node, rules[node])
            unknown = [x for x in inputs if x not in variables]
            if unknown:
                raise ValueError(
                    f"the rule of node {node!r} refers to unknown node {unknown[0]!r}; "
                    f"known nodes and controls: {', '.join(variables)}"
                )
            if len(set(inputs)) != len(inputs):
                raise ValueError(f"the rule of node {node!r} lists an input twice: {inputs}")
            table.flags.writeable = False
            stored[node] = (inputs, table)
            positions.append(tuple(variables[x] for x in inputs))
        self._nodes, self._controls = nodes, controls
        self._rules, self._positions = stored, tuple(positions)

    @classmethod
    def from_rules(cls, rules, controls=()):
        """Build a network from a mapping of node names to rules (see the class docstring).

        Parameters
        ----------
        rules : mapping
            Node name → rule, in node order (the forms are listed in `BooleanNetwork`).
        controls : sequence of str, default ()
            Control input names, first in ``L ⋉ u ⋉ x``.

        Returns
        -------
        BooleanNetwork

        Raises
        ------
        TypeError, ValueError
            As `BooleanNetwork`.

        Examples
        --------
        >>> from semitensor.logic import BooleanNetwork
        >>> rules = {"a": (("b",), lambda b: b), "b": (("a",), lambda a: not a)}
        >>> net = BooleanNetwork.from_rules(rules)
        >>> net.nodes, net.attractors()
        (('a', 'b'), [(0, 1, 3, 2)])
        """
        return cls(rules, controls)

    @classmethod
    def from_bnet(cls, text, controls=()):
        """Build a network from ``bnet`` text: lines ``name, expression``.

        Parameters
        ----------
        text : str
            One rule per line, ``!`` not, ``&`` and, ``|`` or, parentheses, ``0``/``1``;
            ``#`` comments and a ``targets, factors`` header are skipped.
        controls : sequence of str, default ()
            Names that expressions may read but that have no rule line.

        Returns
        -------
        BooleanNetwork

        Raises
        ------
        TypeError
            If ``text`` is not a str.
        ValueError
            A malformed line or expression (the message gives the line), a node with
            two rules, or a name that is neither a node nor a control.

        Examples
        --------
        >>> from semitensor.logic import BooleanNetwork
        >>> net = BooleanNetwork.from_bnet('''
        ... x1, x2 & x3
        ... x2, !x1
        ... x3, x1 | x2
        ... ''')
        >>> net.nodes, net.rules["x3"][0]
        (('x1', 'x2', 'x3'), ('x1', 'x2'))
        """
        return cls({name: expr for name, expr, _ in _bnet.parse_bnet(text)}, controls)

    @property
    def nodes(self):
        """Node names ``x_1, …, x_n`` in state order."""
        return self._nodes

    @property
    def controls(self):
        """Control input names ``u_1, …, u_m`` (first in ``L ⋉ u ⋉ x``)."""
        return self._controls

    @property
    def rules(self):
        """Node name → ``(input names, read-only truth table)``."""
        return dict(self._rules)

    def __repr__(self):
        return f"BooleanNetwork(nodes={list(self._nodes)}, controls={list(self._controls)})"

    def transition_matrix(self, max_bytes=None):
        """The transition matrix ``L`` (``2^n × 2^(m+n)``, controls first) in δ-form.

        Parameters
        ----------
        max_bytes : int, optional
            Refuse to build an ``L`` needing more memory; default half the physical
            memory.

        Returns
        -------
        LogicalMatrix
            Column ``u·2^n + x`` holds the index of the successor of state ``x`` under
            control ``u`` (`semitensor.logic.state_index` order).

        Raises
        ------
        ValueError
            If ``L`` would need more than ``max_bytes`` (the message gives the size),
            before anything is allocated.

        Notes
        -----
        ``O(n·2^(m+n))`` time, one integer (4 bytes for ``n < 31``) per column.

        Examples
        --------
        >>> from semitensor.logic import BooleanNetwork
        >>> net = BooleanNetwork.from_bnet("x, u & !x", controls=["u"])
        >>> net.transition_matrix().delta()     # u=1: x ↦ ¬x; u=0: x ↦ 0
        'δ_2[2 1 2 2]'
        """
        n, n_vars = len(self._nodes), len(self._nodes) + len(self._controls)
        dtype = index_dtype(1 << n) if n <= _build._MAX_VARIABLES else np.dtype(np.int64)
        _build.check_size(n_vars, dtype.itemsize, "the transition matrix L", max_bytes)
        tables = [self._rules[x][1] for x in self._nodes]
        out = _build.transition_indices(n_vars, self._positions, tables, dtype)
        return LogicalMatrix._trusted(out, 1 << n)

    def _closed(self, what):
        if self._controls:
            raise ValueError(
                f"{what} needs a network without controls; this one has controls "
                f"{list(self._controls)} (close the loop first: semitensor.logic.closed_loop)"
            )
        return self.transition_matrix()

    def fixed_points(self):
        r"""Sorted indices of the fixed points (`semitensor.logic.fixed_points` of ``L``).

        Returns
        -------
        list of int

        Raises
        ------
        ValueError
            If the network has controls.

        Examples
        --------
        >>> from semitensor.logic import BooleanNetwork, state_values
        >>> net = BooleanNetwork.from_bnet("a, a | b\nb, a & b")
        >>> [state_values(i, 2) for i in net.fixed_points()]
        [(True, True), (True, False), (False, False)]
        """
        return analysis.fixed_points(self._closed("fixed_points"))

    def attractors(self):
        """Every cycle as a tuple of state indices from its smallest, the list sorted.

        Returns
        -------
        list of tuple of int

        Raises
        ------
        ValueError
            If the network has controls.

        Examples
        --------
        >>> from semitensor.logic import BooleanNetwork
        >>> BooleanNetwork.from_bnet("a, !a").attractors()
        [(0, 1)]
        """
        return list(analysis.dynamics(self._closed("attractors")).attractors)

    def dynamics(self):
        r"""Attractors, basins and transient times (`semitensor.logic.dynamics` of ``L``).

        Returns
        -------
        Dynamics

        Raises
        ------
        ValueError
            If the network has controls.

        Examples
        --------
        >>> from semitensor.logic import BooleanNetwork
        >>> d = BooleanNetwork.from_bnet("a, a & b\nb, !b").dynamics()
        >>> d.attractors, d.transient.tolist()
        (((2, 3),), [2, 1, 0, 0])
        """
        return analysis.dynamics(self._closed("dynamics"))
