"""Test oracles: the SPEC's definitions written with explicit Kronecker products.

Slow on purpose: every fast route in the library is checked against these.
"""

import math

import numpy as np

from semitensor.formats.stt import STTTensor
from semitensor.formats.sttu import STTuTensor
from semitensor.tenalg import unfold
from tests.conftest import to_backend, to_np

try:
    import torch
except ImportError:
    torch = None


def kron_stp(a, b, side="left"):
    """SPEC §1 by its definition (Kronecker products): the test oracle of the STP."""
    n, p = a.shape[1], b.shape[0]
    t = math.lcm(n, p)
    ia, ib = np.eye(t // n, dtype=a.dtype), np.eye(t // p, dtype=b.dtype)
    if side == "left":
        return np.kron(a, ia) @ np.kron(b, ib)
    return np.kron(ia, a) @ np.kron(ib, b)


def kron_factor(u, t, side="left"):
    """``U ⊗ I_t`` (left) or ``I_t ⊗ U`` (right): the slow Kronecker definition."""
    eye = np.eye(t, dtype=np.asarray(u).dtype)
    return np.kron(u, eye) if side == "left" else np.kron(eye, u)


def kron_to_tensor(core, factors, t, side="left"):
    """STTu (SPEC §4) by the definition: mode products with the Kronecker factors."""
    x = np.asarray(core)
    ts = [t] * len(factors) if isinstance(t, int) else t
    for n, (u, tn) in enumerate(zip(factors, ts)):
        full = kron_factor(np.asarray(u), tn, side)
        x = np.moveaxis(np.tensordot(full, x, axes=(1, n)), 0, n)
    return x


def slow_stt(cores, side="left"):
    """Every STT entry as G_1(i_1) ⋉ … ⋉ G_N(i_N), through np.kron."""
    shape = tuple(g.shape[1] for g in cores)
    out = np.empty(shape)
    for idx in np.ndindex(*shape):
        p = cores[0][:, idx[0], :]
        for g, i in zip(cores[1:], idx[1:]):
            p = kron_stp(p, g[:, i, :], side)
        assert p.shape == (1, 1)
        out[idx] = p[0, 0]
    return out


def slow_str(cores, ts, side="left"):
    """Every STR entry as tr(G_1(i_1) (G_2(i_2) ⊗ I_t) …), with explicit Kronecker factors."""
    shape = [g.shape[1] for g in cores]
    out = np.zeros(shape)
    for idx in np.ndindex(*shape):
        p = cores[0][:, idx[0], :]
        for k in range(1, len(cores)):
            p = p @ kron_factor(cores[k][:, idx[k], :], ts[k - 1], side)
        out[idx] = np.trace(p)
    return out


def random_stt_cores(shape, bonds, ts, rng):
    """Random STT cores of bond sizes ``bonds`` and interior factors ``ts``."""
    n = len(shape)
    cores = [rng.standard_normal((1, shape[0], bonds[0]))]
    for k in range(1, n - 1):
        cores.append(
            rng.standard_normal((bonds[k - 1] // ts[k - 1], shape[k], bonds[k] // ts[k - 1]))
        )
    cores.append(rng.standard_normal((bonds[-1], shape[-1], 1)))
    return cores


def random_stt_tensor(shape, rank, t, seed):
    """The full tensor of a random STT of uniform bond ``rank``."""
    rng = np.random.default_rng(seed)
    n = len(shape)
    cores = random_stt_cores(shape, [rank] * (n - 1), [t] * (n - 2), rng)
    return STTTensor(cores, t).to_tensor()


def rel_err(a, b):
    """``‖a − b‖/‖b‖`` for arrays of any library."""
    return float(np.linalg.norm(to_np(a) - to_np(b)) / np.linalg.norm(to_np(b)))


def random_format(rng, shape_over_t, ranks_over_t, t, side="left", backend="numpy"):
    """Random STTuTensor with factors (I_n/t_n, R_n/t_n) and core R_n = t_n·(R_n/t_n)."""
    ts = [t] * len(shape_over_t) if isinstance(t, int) else list(t)
    core = rng.standard_normal([r * tn for r, tn in zip(ranks_over_t, ts)])
    factors = [rng.standard_normal((i, r)) for i, r in zip(shape_over_t, ranks_over_t)]
    return STTuTensor(to_backend(core, backend), [to_backend(f, backend) for f in factors], t, side)


def z_matrix(x, n, t, side):
    """SPEC §4's Z_n from the unfolding: the t interleaved row subsets side by side."""
    m = unfold(np.asarray(x), n)
    j = m.shape[0] // t
    if side == "left":  # row k·t + σ -> (k, σ)
        return m.reshape(j, t * m.shape[1])
    return np.moveaxis(m.reshape(t, j, m.shape[1]), 0, 1).reshape(j, -1)
