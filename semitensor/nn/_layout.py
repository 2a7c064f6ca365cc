"""The interleaved layout of a layer's weight, and the factorisation of its sizes.

A weight ``W`` (``out × in``, as in `torch.nn.Linear`) with ``in = ∏ in_shape`` and
``out = ∏ out_shape`` is held as the order-``2d`` tensor over the interleaved modes
``(I_1, O_1, …, I_d, O_d)``: ``Wt[i_1, o_1, …, i_d, o_d] = W[o, i]`` with ``i`` and
``o`` the C-order flat indices of ``(i_1, …, i_d)`` and ``(o_1, …, o_d)``.
"""

from __future__ import annotations

import math

from .._validation import check_positive_int, check_shape

__all__ = ["factorize", "matrix_to_tensor", "tensor_to_matrix", "check_layout"]

# factorize refuses sizes from here on: Pollard's rho needs ~n**(1/4) steps, which is
# instant below 2**64 and no layer has that many features.
_FACTORIZE_LIMIT = 2**64
# Deterministic Miller–Rabin witnesses for every n < 3.3e24 (Sorenson & Webster 2015).
_WITNESSES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


def _is_prime(n):
    if n < 2:
        return False
    for p in _WITNESSES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in _WITNESSES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _divisor(n):
    """A non-trivial divisor of the odd composite ``n`` (Pollard's rho, Floyd cycles)."""
    c = 1
    while True:
        x = y = 2
        g = 1
        while g == 1:
            x = (x * x + c) % n
            y = (y * y + c) % n
            y = (y * y + c) % n
            g = math.gcd(abs(x - y), n)
        if g != n:
            return g
        c += 1  # this polynomial's cycle closed on n itself: try the next one


def _prime_factors(n):
    out = []
    for p in (2, 3, 5, 7):  # the small primes of typical layer sizes, by division
        while n % p == 0:
            out.append(p)
            n //= p
    stack = [n] if n > 1 else []
    while stack:
        m = stack.pop()
        if _is_prime(m):
            out.append(m)
        else:
            d = _divisor(m)
            stack += [d, m // d]
    return out


def factorize(n, d):
    """Split ``n`` into ``d`` factors as equal as possible (ascending).

    Parameters
    ----------
    n : int
        Positive integer below ``2**64`` to factor.
    d : int
        Number of factors (``>= 1``); 1s are used when ``n`` has fewer prime factors.

    Returns
    -------
    tuple of int
        ``d`` factors whose product is ``n``, sorted ascending.

    Raises
    ------
    TypeError
        If ``n`` or ``d`` is not an integer.
    ValueError
        If ``n`` or ``d`` is below 1, or ``n >= 2**64``.

    Notes
    -----
    The prime factors (Miller–Rabin and Pollard's rho, so a 61-bit prime takes
    microseconds) are placed largest first, each into the bin with the smallest
    product: a greedy balance, not always the most even split.

    Examples
    --------
    >>> from semitensor.nn import factorize
    >>> factorize(784, 4)
    (4, 4, 7, 7)
    >>> factorize(10, 3)
    (1, 2, 5)
    >>> factorize(2**61 - 1, 2)
    (1, 2305843009213693951)
    """
    n = check_positive_int(n, "n")
    d = check_positive_int(d, "d")
    if n >= _FACTORIZE_LIMIT:
        raise ValueError(f"n must be below 2**64 (a layer size); got {n}")
    bins = [1] * d
    for p in sorted(_prime_factors(n), reverse=True):  # largest prime into the smallest bin
        bins[bins.index(min(bins))] *= p
    return tuple(sorted(bins))


def matrix_to_tensor(weight, in_shape, out_shape):
    """Reshape a ``(out, in)`` weight into the interleaved tensor ``(I_1, O_1, …, I_d, O_d)``.

    Parameters
    ----------
    weight : torch.Tensor, shape (prod(out_shape), prod(in_shape))
    in_shape, out_shape : sequence of int, same length ``d``

    Returns
    -------
    torch.Tensor
        ``Wt[i_1, o_1, …, i_d, o_d] = weight[o, i]`` (C-order flat indices); a view.

    Examples
    --------
    >>> import torch
    >>> from semitensor.nn import matrix_to_tensor, tensor_to_matrix
    >>> w = torch.arange(24.0).reshape(6, 4)
    >>> wt = matrix_to_tensor(w, (2, 2), (3, 2))
    >>> wt.shape
    torch.Size([2, 3, 2, 2])
    >>> float(wt[1, 2, 0, 1]) == float(w[2 * 2 + 1, 1 * 2 + 0])
    True
    >>> bool((tensor_to_matrix(wt, (2, 2), (3, 2)) == w).all())
    True
    """
    d = len(in_shape)
    full = weight.reshape(tuple(out_shape) + tuple(in_shape))
    return full.permute([p for k in range(d) for p in (d + k, k)])


def tensor_to_matrix(tensor, in_shape, out_shape):
    """Inverse of `matrix_to_tensor`: the ``(out, in)`` weight of an interleaved tensor.

    Parameters
    ----------
    tensor : torch.Tensor, shape (I_1, O_1, …, I_d, O_d)
    in_shape, out_shape : sequence of int, same length ``d``

    Returns
    -------
    torch.Tensor, shape (prod(out_shape), prod(in_shape))

    Examples
    --------
    >>> import torch
    >>> from semitensor.nn import tensor_to_matrix
    >>> tensor_to_matrix(torch.zeros(2, 3, 2, 2), (2, 2), (3, 2)).shape
    torch.Size([6, 4])
    """
    d = len(in_shape)
    perm = [2 * k + 1 for k in range(d)] + [2 * k for k in range(d)]
    return tensor.permute(perm).reshape(math.prod(out_shape), math.prod(in_shape))


def check_layout(in_features, out_features, in_shape, out_shape):
    """Validated ``(in_features, out_features, in_shape, out_shape)`` of a layer."""
    in_features = check_positive_int(in_features, "in_features")
    out_features = check_positive_int(out_features, "out_features")
    in_shape = check_shape(in_shape, "in_shape", in_features, "in_features")
    out_shape = check_shape(out_shape, "out_shape", out_features, "out_features")
    if len(in_shape) != len(out_shape):
        raise ValueError(
            f"in_shape {in_shape} and out_shape {out_shape} must have the same length (the "
            "modes are interleaved in pairs); pad the shorter one with 1s"
        )
    return in_features, out_features, in_shape, out_shape
