"""Shared helpers of the semitensor.nn tests (torch is imported by the test modules)."""


def rel(a, b):
    """Relative Frobenius distance of two torch tensors (detached)."""
    import torch

    a, b = a.detach(), b.detach()
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))
