"""`LogicalMatrix`: an ``m × n`` logical matrix stored as its ``n`` column indices.

A logical matrix has one 1 per column, so ``δ_m[i_1 … i_n]`` (Cheng's notation,
1-based there, 0-based here) stores it in ``n`` integers instead of ``m·n`` entries.
Every operation on it works on those indices (`semitensor.logic._product`); no dense
intermediate is ever formed.
"""

from __future__ import annotations

import numpy as np

from .._namespace import resolve_like
from .._validation import check_positive_int
from . import _product
from ._indices import as_index_array, dense_to_indices, index_dtype

__all__ = ["LogicalMatrix", "index_dtype"]


class LogicalMatrix:
    """An ``m × n`` logical matrix ``δ_m[i_1 … i_n]``, stored as its column indices.

    Column ``j`` is the unit vector ``δ_m^{i_j}``: a single 1 in row ``indices[j]``.
    Transition matrices of Boolean networks, structure matrices of logical operators
    and the swap, power-reducing and dummy operators are all logical matrices.

    Parameters
    ----------
    indices : sequence of int or integer array
        The 0-based row of the 1 in each column, ``0 <= indices[j] < m``; at least
        one column. numpy arrays and torch tensors are accepted and copied (the caller's
        array is never modified or shared).
    m : int
        Number of rows, ``m >= 1``.

    Attributes
    ----------
    indices : numpy.ndarray
        Read-only copy of the column indices (int32 when ``m < 2**31``, else int64).
    shape : tuple of int
        ``(m, n)``.

    Raises
    ------
    TypeError
        If ``indices`` is not integer-valued or ``m`` is not an integer.
    ValueError
        If ``indices`` is not 1-d, is empty, or holds a value outside ``[0, m)``.

    See Also
    --------
    semitensor.stp : ``stp(A, B)`` of two logical matrices is a `LogicalMatrix`.

    Notes
    -----
    Cheng writes ``δ_m[i_1 … i_n]`` with 1-based ``i_j``; this class stores 0-based
    indices, and `delta` prints Cheng's 1-based form. Equality compares shape and
    indices; instances are immutable and hashable.

    References
    ----------
    D. Cheng, H. Qi, Z. Li, *Analysis and Control of Boolean Networks: A Semi-tensor
    Product Approach*, Springer, 2011, Ch. 2-4.

    Examples
    --------
    >>> from semitensor.logic import LogicalMatrix
    >>> A = LogicalMatrix([0, 1, 1, 1], 2)          # Cheng's conjunction δ_2[1 2 2 2]
    >>> A.shape, A.delta()
    ((2, 4), 'δ_2[1 2 2 2]')
    >>> A.to_dense().astype(int)
    array([[1, 0, 0, 0],
           [0, 1, 1, 1]])
    >>> LogicalMatrix.from_dense(A.to_dense()) == A
    True
    """

    __slots__ = ("_indices", "_m")

    @staticmethod
    def __stp_dispatch__(arrays, side):
        """`semitensor.stp` / `rstp` hand a chain with a logical operand to this."""
        from ._product import stp_operands

        return stp_operands(arrays, side)

    def __init__(self, indices, m):
        m = check_positive_int(m, "m")
        arr = as_index_array(indices)
        if arr.size == 0:
            raise ValueError("indices must hold at least one column; got an empty sequence")
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= m:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"indices must lie in [0, {m - 1}] for a matrix with m={m} rows; got {bad}"
            )
        self._indices = arr.astype(index_dtype(m), copy=True)
        self._indices.flags.writeable = False
        self._m = m

    @classmethod
    def _trusted(cls, indices, m):
        """Wrap indices that are already known to be valid (internal, no copy)."""
        out = cls.__new__(cls)
        out._indices = np.asarray(indices).astype(index_dtype(m), copy=False)
        out._indices.flags.writeable = False
        out._m = int(m)
        return out

    # ---------------------------------------------------------------- basic facts
    @property
    def indices(self):
        """Read-only numpy array of the 0-based column indices."""
        return self._indices

    @property
    def shape(self):
        """``(m, n)``: rows and columns."""
        return (self._m, int(self._indices.size))

    @property
    def is_square(self):
        """True when ``m == n``."""
        return self._m == self._indices.size

    def __len__(self):
        return int(self._indices.size)

    def __eq__(self, other):
        if not isinstance(other, LogicalMatrix):
            return NotImplemented
        return self.shape == other.shape and bool(np.array_equal(self._indices, other._indices))

    def __hash__(self):
        return hash((self._m, self._indices.astype(np.int64).tobytes()))

    def __repr__(self):
        n = self._indices.size
        shown = ", ".join(str(int(i)) for i in self._indices[:8])
        more = f", ... ({n} columns)" if n > 8 else ""
        return f"LogicalMatrix([{shown}{more}], m={self._m})"

    def delta(self):
        """Cheng's notation ``δ_m[i_1 … i_n]`` with 1-based indices, as a string.

        Returns
        -------
        str

        Examples
        --------
        >>> from semitensor.logic import LogicalMatrix
        >>> LogicalMatrix([2, 0], 3).delta()
        'δ_3[3 1]'
        """
        return f"δ_{self._m}[" + " ".join(str(int(i) + 1) for i in self._indices) + "]"

    # ------------------------------------------------------------- conversions
    def to_dense(self, like=None, dtype=None):
        """Dense ``m × n`` array with ones at ``(indices[j], j)``.

        Parameters
        ----------
        like : array, optional
            numpy array or torch tensor whose library and device the result shares;
            ``None`` gives numpy.
        dtype : dtype or str, optional
            Dtype of the result (``"bool"``, ``"int64"``, ...). Default ``float64``.

        Returns
        -------
        array, shape (m, n)

        Raises
        ------
        TypeError
            If ``like`` is not an array or ``dtype`` is unknown to its namespace.

        Notes
        -----
        Costs ``m·n`` memory: this is the one operation that leaves the δ-form.

        Examples
        --------
        >>> from semitensor.logic import LogicalMatrix
        >>> LogicalMatrix([1, 0], 2).to_dense(dtype="bool").tolist()
        [[False, True], [True, False]]
        """
        xp, device, dtype = resolve_like(like, dtype)
        m, n = self.shape
        out = xp.zeros((m, n), dtype=dtype, device=device)
        rows = xp.asarray(self._indices.astype(np.int64), device=device)
        cols = xp.arange(n, device=device)
        out[rows, cols] = 1
        return out

    @classmethod
    def from_dense(cls, M):
        """The `LogicalMatrix` of a dense logical matrix (one 1 per column, zeros else).

        Parameters
        ----------
        M : array_like, shape (m, n)
            numpy array, torch tensor or nested list; bool or numeric entries.

        Returns
        -------
        LogicalMatrix

        Raises
        ------
        ValueError
            If ``M`` is not 2-d, has no column, or a column is not a unit vector (the
            message names the first such column).

        Examples
        --------
        >>> import numpy as np
        >>> from semitensor.logic import LogicalMatrix
        >>> LogicalMatrix.from_dense(np.eye(3)[:, [2, 0]]).indices.tolist()
        [2, 0]
        """
        return cls._trusted(*dense_to_indices(M))

    # ---------------------------------------------------------------- algebra
    def stp(self, other, side="left"):
        """Left (default) or right STP with another `LogicalMatrix`; see `semitensor.stp`.

        Parameters
        ----------
        other : LogicalMatrix
            The right factor ``B`` (``p × q``), any sizes.
        side : {"left", "right"}, default "left"

        Returns
        -------
        LogicalMatrix
            ``self ⋉ other`` (or ``⋊``), ``(m·t/n) × (q·t/p)`` with ``t = lcm(n, p)``.

        Raises
        ------
        TypeError
            If ``other`` is not a `LogicalMatrix`.
        ValueError
            If ``side`` is invalid.

        Notes
        -----
        One integer operation per output column (formulas in `semitensor.logic._product`).

        Examples
        --------
        >>> from semitensor.logic import LogicalMatrix
        >>> A, B = LogicalMatrix([0, 1, 1, 1], 2), LogicalMatrix([1, 0], 2)
        >>> A.stp(B).delta()          # conjunction ⋉ negation: (p, q) ↦ (¬p) ∧ q
        'δ_2[2 2 1 2]'
        """
        return _product.stp_pair(self, _check_operand(other, "other"), side)

    def kron(self, other):
        """Kronecker product ``self ⊗ other`` (a logical matrix).

        Parameters
        ----------
        other : LogicalMatrix

        Returns
        -------
        LogicalMatrix, shape (m·p, n·q)

        Raises
        ------
        TypeError
            If ``other`` is not a `LogicalMatrix`.

        Examples
        --------
        >>> from semitensor.logic import LogicalMatrix
        >>> LogicalMatrix([1, 0], 2).kron(LogicalMatrix([0], 3)).delta()
        'δ_6[4 1]'
        """
        return _product.kron(self, _check_operand(other, "other"))

    def khatri_rao(self, other):
        """Khatri–Rao (column-wise Kronecker) product: column ``j`` is ``a_j ⊗ b_j``.

        Parameters
        ----------
        other : LogicalMatrix
            Same number of columns ``n``.

        Returns
        -------
        LogicalMatrix, shape (m·p, n)

        Raises
        ------
        TypeError
            If ``other`` is not a `LogicalMatrix`.
        ValueError
            If the numbers of columns differ.

        Examples
        --------
        >>> from semitensor.logic import LogicalMatrix
        >>> LogicalMatrix([0, 1], 2).khatri_rao(LogicalMatrix([1, 1], 2)).delta()
        'δ_4[2 4]'
        """
        return _product.khatri_rao(self, _check_operand(other, "other"))

    def __matmul__(self, other):
        if not isinstance(other, LogicalMatrix):
            return NotImplemented
        if self.shape[1] != other.shape[0]:
            raise ValueError(
                f"matmul needs matching inner sizes; got shapes {self.shape} and {other.shape}"
                " (use stp for the semi-tensor product)"
            )
        return _product.stp_pair(self, other, "left")

    def power(self, k, side="left"):
        """STP power ``A^k = A ⋉ A ⋉ … ⋉ A`` (``k`` factors) by repeated squaring.

        Parameters
        ----------
        k : int
            ``k >= 1``; ``k = 0`` gives the identity and needs a square matrix.
        side : {"left", "right"}, default "left"

        Returns
        -------
        LogicalMatrix

        Raises
        ------
        TypeError
            If ``k`` is not an integer.
        ValueError
            If ``k < 0``, or ``k = 0`` for a non-square matrix.

        Notes
        -----
        ``O(log k)`` products. For a square ``L`` each product is a composition of
        index maps, ``O(n)``.

        Examples
        --------
        >>> from semitensor.logic import LogicalMatrix
        >>> L = LogicalMatrix([1, 2, 0], 3)   # a 3-cycle
        >>> L.power(3) == L.power(0), L.power(2).delta()
        (True, 'δ_3[3 1 2]')
        """
        return _product.power(self, k, side)

    def trace(self):
        """Trace of a square logical matrix: the number of ``j`` with ``indices[j] == j``.

        Returns
        -------
        int

        Raises
        ------
        ValueError
            If the matrix is not square.

        Examples
        --------
        >>> from semitensor.logic import LogicalMatrix
        >>> LogicalMatrix([0, 2, 1, 3], 4).trace()
        2
        """
        if not self.is_square:
            raise ValueError(f"trace needs a square matrix; got shape {self.shape}")
        return int(np.count_nonzero(self._indices == np.arange(self._m)))


def _check_operand(x, name):
    if not isinstance(x, LogicalMatrix):
        raise TypeError(f"{name} must be a LogicalMatrix; got {type(x).__name__}")
    return x
