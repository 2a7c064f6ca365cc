"""Shared fixtures: every public function is tested on numpy and on torch."""

import numpy as np
import pytest

try:
    import torch
except ImportError:  # torch is optional
    torch = None

BACKENDS = ["numpy"] + (["torch"] if torch is not None else [])


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Name of the array library under test."""
    return request.param


def to_backend(x, backend, dtype=None):
    """Convert a numpy array to ``backend`` (torch on CPU)."""
    x = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
    if backend == "numpy":
        return x
    return torch.from_numpy(x.copy())


def to_np(x):
    """Any array back to numpy."""
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)
