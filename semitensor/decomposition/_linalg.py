"""Linear algebra of the ring fits, written once per array library where it must be.

Everything else in the fits goes through the array-api-compat namespace of the
tensor; the SPD solve and the C-order copy differ between numpy (SciPy's Cholesky)
and torch (``torch.linalg`` on the tensor's device). Eigenvector and QR column signs
differ between LAPACK builds and devices; `fix_signs` makes them agree, so the cores,
not only the tensor, are the same on every backend.
"""

from __future__ import annotations

import contextlib
import functools
import math

import array_api_compat
import numpy as np
import scipy.linalg

__all__ = ["contig", "solve_spd", "vdot", "on", "fix_signs", "leading_basis", "small_blas"]

# Relative size of the noise used to pad SVD bases that an unfolding cannot fill.
_PAD = 1e-3
# Below this many entries a ring fit's BLAS calls are many and small, and OpenBLAS's
# threads cost more than they give (measured, 30 sweeps on 2 threads: Indian Pines
# STT 0.98 s unguarded against 0.11 s guarded, COVID-19 STR 0.032 s against 0.017 s;
# Kinetic STT gains from threads, 0.029 s against 0.040 s, the one loss seen); above
# it the contraction of the data is one large GEMM per sweep.
_SMALL_BLAS_ENTRIES = 1 << 24


def contig(x):
    """``x`` in C order (no copy when it already is): the GEMMs that follow stream it."""
    if isinstance(x, np.ndarray):
        return np.ascontiguousarray(x)
    if array_api_compat.is_torch_array(x):
        return x.contiguous()
    return x


def solve_spd(m, b):
    """Solve ``M Y = B`` for symmetric PSD ``M``: Cholesky, else least squares.

    The normal equations were 4.5-9x faster than a least-squares solve on the design
    matrix at equal accuracy; when ``M`` is singular to working precision (Cholesky
    fails, or its pivots span more than 1e14 in ``M``'s scale) a minimum-norm
    least-squares solve on ``M`` is used instead. Dispatches on the library of ``M``:
    SciPy for numpy, ``torch.linalg`` for torch (on ``M``'s device), the array-API
    ``linalg`` otherwise.
    """
    if isinstance(m, np.ndarray):
        return _solve_spd_numpy(m, b)
    if array_api_compat.is_torch_array(m):
        return _solve_spd_torch(m, b)
    xp = array_api_compat.array_namespace(m, b)
    y = xp.linalg.solve(m, b)
    if bool(xp.all(xp.isfinite(y))):
        return y
    return xp.linalg.pinv(m, rtol=1e-13) @ b


def _solve_spd_numpy(m, b):
    # LAPACK's potrf/potrs directly (what cho_factor/cho_solve call, same rounding):
    # SciPy's wrappers cost about 120 µs a solve, a fifth of a one-core sweep on the
    # 29k-entry COVID-19 tensor (1.7 ms a sweep at ring ranks 4).
    potrf, potrs = scipy.linalg.get_lapack_funcs(("potrf", "potrs"), (m, b))
    c, info = potrf(m, lower=False, clean=False)
    if info == 0:
        d = np.abs(np.diag(c))
        if d.min() ** 2 > 1e-14 * d.max() ** 2:
            y, info = potrs(c, b, lower=False)
            if info == 0 and np.all(np.isfinite(y)):
                return y
    return scipy.linalg.lstsq(m, b, cond=1e-13, check_finite=False)[0]


def _solve_spd_torch(m, b):
    import torch  # present: ``m`` is a torch tensor

    up, info = torch.linalg.cholesky_ex(m, upper=True)
    d = torch.abs(torch.diagonal(up))
    # The upper factor, as scipy's cho_factor, keeps the two backends' rounding close.
    # One host read for the whole test (a NaN pivot fails it too).
    if bool((info == 0) & (torch.min(d) ** 2 > 1e-14 * torch.max(d) ** 2)):
        y = torch.cholesky_solve(b, up, upper=True)
        if bool(torch.all(torch.isfinite(y))):
            return y
    if m.device.type == "cpu":
        return torch.linalg.lstsq(m, b, rcond=1e-13, driver="gelsd").solution
    # CUDA's lstsq ('gels') assumes full rank; the pseudo-inverse does not.
    return torch.linalg.pinv(m, rtol=1e-13, hermitian=True) @ b


def vdot(xp, a, b):
    """``Σ a·b`` over all entries, as a Python float (one scalar read)."""
    return float(xp.vecdot(xp.reshape(a, (-1,)), xp.reshape(b, (-1,))))


def on(x):
    """``dtype=`` and ``device=`` keywords that put a new array next to ``x``."""
    return {"dtype": x.dtype, "device": array_api_compat.device(x)}


def fix_signs(xp, u):
    """Flip columns so that each one's largest-magnitude entry is positive.

    LAPACK builds (OpenBLAS, MKL, cuSOLVER) return eigenvectors and QR columns with
    different signs; fixing them makes the cores, not only the tensor, the same on
    every backend. The flips are exact and change the ring only by a gauge.
    """
    top = xp.argmax(xp.abs(u), axis=0, keepdims=True)
    return xp.where(xp.take_along_axis(u, top, axis=0) < 0, -u, u)


def leading_basis(xp, a, k, rng):
    """Orthonormal basis of (at least an approximation of) the top-``k`` column space.

    Uses the eigendecomposition of the smaller Gram matrix (``A Aᵀ`` or ``AᵀA``),
    2-4x cheaper than an SVD; its accuracy is only lost for singular values below
    ``√ε·σ_max``, which do not matter for a start. Columns beyond the rank the
    unfolding can give are filled with small random noise (zeros leave ALS stuck).
    """
    m, n = a.shape
    q = min(k, m, n)
    if m <= n:
        _, v = xp.linalg.eigh(a @ a.T)
        u = contig(xp.flip(v, axis=1)[:, :q])
    else:
        _, v = xp.linalg.eigh(a.T @ a)
        u, _ = xp.linalg.qr(a @ xp.flip(v, axis=1)[:, :q])
    u = fix_signs(xp, u)
    if q < k:
        noise = rng.standard_normal((m, k - q)) * _PAD / math.sqrt(m)
        u = xp.concat([u, xp.asarray(noise, **on(a))], axis=1)
    return u


@contextlib.contextmanager
def small_blas(x):
    """Run the enclosed numpy work on one BLAS thread when ``x`` is small (see above).

    The limit holds only inside the block and is restored after it (threadpoolctl);
    it never raises a thread count, and leaves torch, whose CPU GEMMs are threaded by
    torch itself, and larger tensors alone.
    """
    if not isinstance(x, np.ndarray) or x.size >= _SMALL_BLAS_ENTRIES:
        yield
        return
    with _controller().limit(limits=1, user_api="blas"):
        yield


@functools.lru_cache(maxsize=1)
def _controller():
    """The process's threadpoolctl controller, made once.

    `threadpool_limits` scans the loaded libraries on every call (0.4 ms, a tenth of
    an eps search on the COVID-19 tensor); numpy's BLAS is loaded once.
    """
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
