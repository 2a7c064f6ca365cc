"""semitensor.nn._layout: the interleaved layout and factorize."""

import itertools
import math
import time

import pytest

torch = pytest.importorskip("torch")

from semitensor.nn import factorize, matrix_to_tensor, tensor_to_matrix  # noqa: E402


def test_layout_round_trip_and_index_map():
    w = torch.randn(12, 30, dtype=torch.float64)
    in_shape, out_shape = (2, 3, 5), (3, 2, 2)
    wt = matrix_to_tensor(w, in_shape, out_shape)
    assert wt.shape == (2, 3, 3, 2, 5, 2)
    for i1, o1, i2, o2, i3, o3 in [(1, 2, 0, 1, 4, 1), (0, 0, 2, 1, 3, 0)]:
        i = (i1 * 3 + i2) * 5 + i3
        o = (o1 * 2 + o2) * 2 + o3
        assert wt[i1, o1, i2, o2, i3, o3] == w[o, i]
    assert torch.equal(tensor_to_matrix(wt, in_shape, out_shape), w)


def test_factorize():
    assert factorize(784, 4) == (4, 4, 7, 7)
    assert factorize(256, 2) == (16, 16)
    assert factorize(13, 2) == (1, 13)
    for n, d in itertools.product([1, 12, 60, 97, 1024], [1, 2, 3]):
        f = factorize(n, d)
        assert len(f) == d and math.prod(f) == n


def test_factorize_large_sizes_are_fast():
    # Issue 17 item 22: trial division took minutes on a 61-bit prime.
    start = time.perf_counter()
    assert factorize(2**61 - 1, 2) == (1, 2**61 - 1)
    p, q = 4294967291, 4294967279  # the two largest 32-bit primes: rho's worst case
    assert factorize(p * q, 2) == (q, p)
    assert math.prod(factorize(2**40 * 3**5, 3)) == 2**40 * 3**5
    assert time.perf_counter() - start < 5
    with pytest.raises(ValueError, match=r"n must be below 2\*\*64"):
        factorize(2**64, 2)
    with pytest.raises(TypeError, match="n must be a positive integer"):
        factorize(12.0, 2)
    with pytest.raises(ValueError, match="d must be a positive integer; got 0"):
        factorize(12, 0)
